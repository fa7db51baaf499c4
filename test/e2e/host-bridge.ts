/**
 * @module
 * The host side of the nodes' path to the control plane: Unix sockets that forward to TCP services on the
 * host's loopback (kube-apiserver, LocalStack). Inside each node namespace, fixtures/ns-forward.ts listens on
 * the same `127.0.0.1:<port>` and connects to these sockets, so a kubeconfig or endpoint written for the host
 * works unchanged inside the box, and nothing is routed between the host and the box.
 */
import { rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { joinSockets } from './join-sockets.ts';

/** One forwarded service. */
export interface BridgedPort {
  readonly port: number;
  readonly socketPath: string;
}

/** Unix-socket listeners forwarding to `127.0.0.1:<port>`. */
export class HostBridge {
  readonly #servers: Server[] = [];
  readonly #sockets = new Set<Socket>();
  readonly ports: BridgedPort[] = [];

  /** Starts a listener in `dir` for each port. */
  static async start(dir: string, ports: readonly number[]): Promise<HostBridge> {
    const bridge = new HostBridge();
    for (const port of ports) {
      const socketPath = join(dir, `port-${port}.sock`);
      await rm(socketPath, { force: true });
      const server = createServer((client) => {
        const upstream = connect({ host: '127.0.0.1', port });
        for (const s of [client, upstream]) {
          bridge.#sockets.add(s);
          s.on('close', () => bridge.#sockets.delete(s));
        }
        joinSockets(client, upstream);
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(socketPath, resolve);
      });
      bridge.#servers.push(server);
      bridge.ports.push({ port, socketPath });
    }
    return bridge;
  }

  /** `ns-forward.ts` arguments for every port. */
  get forwardArgs(): string[] {
    return this.ports.map((p) => `${p.port}=${p.socketPath}`);
  }

  /** Closes every listener and connection. */
  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await Promise.all(this.#servers.map((s) => new Promise((r) => s.close(r))));
    this.#servers.length = 0;
  }
}
