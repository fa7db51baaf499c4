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

  it('gives each probe --probe-timeout (default: misses × interval), so a slow but living agent stays healthy', async () => {
    vi.useFakeTimers();
    const run = async (timeoutMs: number | undefined) => {
      const timeouts: number[] = [];
      const changes: number[] = [];
      const start = Date.now();
      const prober = new HealthProber({
        intervalMs: 100,
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        port: 9000,
        misses: 3,
        dampingMs: 0,
        // A busy agent: answers in 150 ms, like fetch with AbortSignal.timeout would see it.
        probe: (_address, _port, timeout) => {
          timeouts.push(timeout);
          return new Promise<void>((resolve, reject) => {
            if (timeout >= 150) setTimeout(resolve, 150);
            else setTimeout(() => reject(new Error('timed out')), timeout);
          });
        },
        onChange: () => changes.push(Date.now() - start),
      });
      prober.sync([{ node: 'n1', address: '127.0.0.2', ready: true }]);
      await vi.advanceTimersByTimeAsync(1000);
      const healthy = prober.healthy('n1', true);
      prober.stop();
      return { timeouts: [...new Set(timeouts)], healthy, changes };
    };
    // Default: the detection time, 3 × 100 ms; the 150 ms answers keep the node healthy at a 100 ms interval.
    const byDefault = await run(undefined);
    expect(byDefault.timeouts).toEqual([300]);
    expect(byDefault.healthy).toBe(true);
    expect(byDefault.changes).toEqual([]);
    // A timeout shorter than the agent's answers: every probe is a miss, the node fails after 3.
    const shorter = await run(100);
    expect(shorter.timeouts).toEqual([100]);
    expect(shorter.healthy).toBe(false);
    expect(shorter.changes).toHaveLength(1);
  });

  it('given an agent whose packets are dropped, fails its node misses × interval after the last answer, not after misses timeouts', async () => {
    vi.useFakeTimers();
    let dropped = false;
    const changes: { healthy: boolean; at: number; reason: string | undefined }[] = [];
    const prober = new HealthProber({
      intervalMs: 100,
      timeoutMs: 2000,
      port: 9000,
      misses: 3,
      dampingMs: 0,
      // Answers in 5 ms; once dropped, a probe hangs until its timeout (a dead node's SYN is never answered).
      probe: (_address, _port, timeout) =>
        new Promise<void>((resolve, reject) => {
          if (dropped) setTimeout(() => reject(new Error('timed out')), timeout);
          else setTimeout(resolve, 5);
        }),
      onChange: (_node, healthy, state) => changes.push({ healthy, at: Date.now(), reason: state.reason }),
    });
    prober.sync([{ node: 'n1', address: '127.0.0.2', ready: true }]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(prober.healthy('n1', true)).toBe(true);
    const lastAnswer = Date.now() + 5; // the probe sent at 1000 ms, already on its way, answers at 1005 ms
    dropped = true;
    await vi.advanceTimersByTimeAsync(1000);
    expect(changes).toEqual([
      { healthy: false, at: lastAnswer + 300, reason: 'agent health probe unanswered for 300 ms' },
    ]);
    prober.stop();
  });

  it('keeps at most 3 probes in flight towards a silent node, however many misses are allowed', async () => {
    vi.useFakeTimers();
    let inFlight = 0;
    let most = 0;
    const prober = new HealthProber({
      intervalMs: 100,
      port: 9000,
      misses: 10,
      dampingMs: 0,
      probe: (_address, _port, timeout) => {
        inFlight++;
        most = Math.max(most, inFlight);
        return new Promise<void>((_resolve, reject) =>
          setTimeout(() => {
            inFlight--;
            reject(new Error('timed out'));
          }, timeout),
        );
      },
      onChange: () => undefined,
    });
    prober.sync([{ node: 'n1', address: '127.0.0.2', ready: true }]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(most).toBe(3);
    expect(prober.healthy('n1', true)).toBe(false);
    prober.stop();
  });

  it('given a node that gets its address later and never answers, fails it the detection time after', async () => {
    vi.useFakeTimers();
    const changes: number[] = [];
    const start = Date.now();
    const prober = new HealthProber({
      intervalMs: 100,
      timeoutMs: 5000,
      port: 9000,
      misses: 3,
      dampingMs: 0,
      probe: (_address, _port, timeout) =>
        new Promise<void>((_resolve, reject) => setTimeout(() => reject(new Error('timed out')), timeout)),
      onChange: () => changes.push(Date.now() - start),
    });
    prober.sync([{ node: 'n1', address: undefined, ready: true }]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(prober.healthy('n1', true)).toBe(true);
    prober.sync([{ node: 'n1', address: '127.0.0.2', ready: true }]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(changes).toEqual([1300]);
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
