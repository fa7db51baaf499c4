/**
 * The pooled KubeConfig against the real API server, through a TCP relay that counts the connections the
 * client opens: client-node's own KubeConfig opens one per request, the pooled one reuses one.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { PooledKubeConfig } from '../../src/kube/kube-config.ts';
import { LOOPBACK } from '../harness/ports.ts';
import { useControlPlane } from '../harness/vitest.ts';

/** A loopback TCP relay to `target` that counts accepted connections. */
class CountingRelay {
  connections = 0;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  constructor(target: URL) {
    this.#server = createServer((client) => {
      this.connections++;
      const upstream = createConnection(Number(target.port), target.hostname);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
  }
  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, LOOPBACK, resolve));
    const address = this.#server.address();
    if (!address || typeof address === 'string') throw new Error('relay has no port');
    return `https://${LOOPBACK}:${address.port}`;
  }
  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** `kc`'s configuration with its cluster's server replaced. */
function via<T extends KubeConfig>(make: () => T, source: KubeConfig, server: string): T {
  const kc = make();
  const cluster = source.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster');
  kc.loadFromOptions({
    clusters: source.clusters.map((c) => (c.name === cluster.name ? { ...c, server } : c)),
    users: source.users,
    contexts: source.contexts,
    currentContext: source.currentContext,
  });
  return kc;
}

const kube = useControlPlane({ namespacePerTest: false });

describe('PooledKubeConfig', () => {
  const relays: CountingRelay[] = [];
  const relay = async () => {
    const r = new CountingRelay(new URL(kube.controlPlane.server));
    relays.push(r);
    return { relay: r, server: await r.listen() };
  };
  afterAll(async () => {
    await Promise.all(relays.map((r) => r.close()));
  });

  it('given ten API calls in a row, when made through client-node KubeConfig, then it opens a connection per call', async () => {
    const { relay: r, server } = await relay();
    const core = via(() => new KubeConfig(), kube.controlPlane.kubeConfig, server).makeApiClient(CoreV1Api);
    for (let i = 0; i < 10; i++) await core.readNamespace({ name: 'default' });
    expect(r.connections).toBe(10);
  });

  it('given ten API calls in a row and five at once, when made through PooledKubeConfig, then they reuse the pooled connections', async () => {
    const { relay: r, server } = await relay();
    const kc = via(() => new PooledKubeConfig(), kube.controlPlane.kubeConfig, server);
    const core = kc.makeApiClient(CoreV1Api);
    try {
      for (let i = 0; i < 10; i++) {
        const ns = await core.readNamespace({ name: 'default' });
        expect(ns.metadata?.name).toBe('default');
      }
      expect(r.connections).toBe(1);
      await Promise.all(Array.from({ length: 5 }, () => core.readNamespace({ name: 'default' })));
      expect(r.connections).toBeLessThanOrEqual(5);
      for (let i = 0; i < 5; i++) await core.readNamespace({ name: 'kube-system' });
      expect(r.connections).toBeLessThanOrEqual(5);
    } finally {
      await kc.close();
    }
  });

  it('given the kubeconfig changes to another server, when called again, then the calls go to the new server', async () => {
    const first = await relay();
    const second = await relay();
    const kc = via(() => new PooledKubeConfig(), kube.controlPlane.kubeConfig, first.server);
    const core = kc.makeApiClient(CoreV1Api);
    try {
      await core.readNamespace({ name: 'default' });
      const cluster = kc.getCurrentCluster()!;
      kc.clusters = kc.clusters.map((c) => (c.name === cluster.name ? { ...c, server: second.server } : c));
      const moved = kc.makeApiClient(CoreV1Api);
      await moved.readNamespace({ name: 'default' });
      await moved.readNamespace({ name: 'default' });
      expect(first.relay.connections).toBe(1);
      expect(second.relay.connections).toBe(1);
    } finally {
      await kc.close();
    }
  });
});
