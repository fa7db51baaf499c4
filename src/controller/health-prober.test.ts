import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HealthProber, httpProbe } from './health-prober.ts';

describe('HealthProber', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reports a node failed after 3 missed probes at 200 ms, and back only after damping', async () => {
    vi.useFakeTimers();
    let up = true;
    const changes: string[] = [];
    const prober = new HealthProber({
      intervalMs: 200,
      port: 9000,
      misses: 3,
      dampingMs: 1000,
      probe: async () => {
        if (!up) throw new Error('connect ECONNREFUSED');
      },
      onChange: (node, healthy) => changes.push(`${node}:${healthy}@${Date.now()}`),
    });
    const start = Date.now();
    prober.sync([{ node: 'n1', address: '127.0.0.2', ready: true }]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(prober.healthy('n1', true)).toBe(true);
    up = false;
    await vi.advanceTimersByTimeAsync(600);
    expect(changes).toEqual([`n1:false@${start + 1600}`]);
    up = true;
    await vi.advanceTimersByTimeAsync(800);
    expect(prober.healthy('n1', true)).toBe(false);
    await vi.advanceTimersByTimeAsync(400);
    expect(prober.healthy('n1', true)).toBe(true);
    expect(changes).toHaveLength(2);
    prober.stop();
  });

  it('fails a node at once when it goes NotReady, without waiting for probes', () => {
    const changes: boolean[] = [];
    const prober = new HealthProber({
      intervalMs: 0,
      port: 9000,
      misses: 3,
      dampingMs: 0,
      onChange: (_node, healthy) => changes.push(healthy),
    });
    prober.sync([{ node: 'n1', address: undefined, ready: true }]);
    prober.sync([{ node: 'n1', address: undefined, ready: false }]);
    expect(changes).toEqual([false]);
    prober.sync([{ node: 'n1', address: undefined, ready: true }]);
    expect(changes).toEqual([false, true]);
    prober.stop();
  });

  it('httpProbe succeeds on 200 and fails on 503 and on a closed port', async () => {
    let status = 200;
    const server = createServer((_req, res) => {
      res.statusCode = status;
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      await expect(httpProbe('127.0.0.1', port, 500)).resolves.toBeUndefined();
      status = 503;
      await expect(httpProbe('127.0.0.1', port, 500)).rejects.toThrow('HTTP 503');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    await expect(httpProbe('127.0.0.1', port, 500)).rejects.toThrow();
  });
});
