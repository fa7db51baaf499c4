import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HealthProber, httpProbe } from './health-prober.ts';

/** A prober at 100 ms × 3 without damping. */
const FAST = { intervalMs: 100, port: 9000, misses: 3, dampingMs: 0 } as const;

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

  it('after a stall of its own (the deadline fires late), gives a node one more detection time, and still fails a dead one', async () => {
    vi.useFakeTimers();
    const changes: number[] = [];
    let answer = true;
    const prober = new HealthProber({
      ...FAST,
      // Answers take 50 ms; a dead node's probes never end.
      probe: () => new Promise<void>((resolve) => (answer ? setTimeout(resolve, 50) : undefined)),
      onChange: (_node, healthy) => changes.push(healthy ? 1 : 0),
    });
    prober.sync([{ node: 'n1', address: '127.0.0.2', ready: true }]);
    // The process does not run for 1 s (the clock moves, no timer fires), then runs again.
    vi.setSystemTime(Date.now() + 1000);
    await vi.advanceTimersByTimeAsync(400);
    expect(changes, 'answers read after the stall keep the node healthy').toEqual([]);
    expect(prober.state('n1')?.status).toBe('healthy');
    answer = false;
    await vi.advanceTimersByTimeAsync(2000);
    expect(changes).toEqual([0]);
    // Another stall while the node is dead: forgiven once, then it fails.
    prober.sync([]);
    prober.sync([{ node: 'n2', address: '127.0.0.3', ready: true }]);
    const n2At = Date.now();
    vi.setSystemTime(n2At + 1000);
    await vi.advanceTimersByTimeAsync(FAST.intervalMs * FAST.misses + 50);
    expect(prober.state('n2')?.status).not.toBe('failed');
    await vi.advanceTimersByTimeAsync(FAST.intervalMs * FAST.misses);
    expect(prober.state('n2')?.status).toBe('failed');
    prober.stop();
  });

  it('after a stall that ends just past the deadline (its interval timer ran late), reads the waiting answers before failing the node', async () => {
    vi.useFakeTimers();
    const changes: number[] = [];
    const pending: (() => void)[] = [];
    // While the process stalls nothing runs; when it ends, every timer due meanwhile runs at once (they all
    // see the stall's end as now), and only then does Node read the answers waiting on the sockets.
    let stallEnd: number | undefined;
    // 500 ms × 4, as the chart's robust values: a new leader that stalls 2.4 s as it takes over; its
    // deadline fires only 400 ms late, less than an interval.
    const prober = new HealthProber({
      intervalMs: 500,
      port: 9000,
      misses: 4,
      dampingMs: 3000,
      probe: () => new Promise<void>((resolve) => pending.push(resolve)),
      onChange: (_node, healthy) => changes.push(healthy ? 1 : 0),
      now: () => stallEnd ?? Date.now(),
    });
    prober.sync([{ node: 'n1', address: '127.0.0.2', ready: true }]);
    stallEnd = Date.now() + 2400;
    await vi.advanceTimersByTimeAsync(2400);
    stallEnd = undefined;
    for (const answer of pending.splice(0)) answer();
    await vi.advanceTimersByTimeAsync(0);
    expect(changes, 'the answers read after the stall keep the node healthy').toEqual([]);
    expect(prober.state('n1')?.status).toBe('healthy');
    // A node that stops answering still fails, a detection time after its last answer.
    await vi.advanceTimersByTimeAsync(1999);
    expect(changes).toEqual([]);
    await vi.advanceTimersByTimeAsync(2);
    expect(changes).toEqual([0]);
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
      ...FAST,
      timeoutMs: 5000,
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

  describe('given an agent restart (its Pod deleted) on a schedulable node', () => {
    /** A prober over one node whose agent answers while `agent.up`; changes are ms since the start. */
    const restartWorld = (restartGraceMs: number | undefined) => {
      const agent = { up: true };
      const changes: string[] = [];
      const reasons: (string | undefined)[] = [];
      const start = Date.now();
      const prober = new HealthProber({
        ...FAST,
        ...(restartGraceMs !== undefined ? { restartGraceMs } : {}),
        probe: async () => {
          if (!agent.up) throw new Error('connect ECONNREFUSED');
        },
        onChange: (_node, healthy, state) => {
          changes.push(`${healthy}@${Date.now() - start}`);
          reasons.push(state.reason);
        },
      });
      const target = { node: 'n1', address: '127.0.0.2', ready: true };
      return { agent, changes, reasons, prober, target };
    };

    it('keeps the node healthy while the agent is away, up to the grace, and ends the grace on its first answer', async () => {
      vi.useFakeTimers();
      const { agent, changes, prober, target } = restartWorld(5000);
      prober.sync([target]);
      await vi.advanceTimersByTimeAsync(500);
      prober.sync([{ ...target, agentRestarting: true }]);
      // The old agent answers until it stops: that does not end the window.
      await vi.advanceTimersByTimeAsync(300);
      agent.up = false;
      await vi.advanceTimersByTimeAsync(3000);
      expect(changes).toEqual([]);
      expect(prober.state('n1')?.graceUntil).toBeDefined();
      // The old Pod is gone, the new agent answers: the window closes.
      prober.sync([target]);
      agent.up = true;
      await vi.advanceTimersByTimeAsync(200);
      expect(prober.state('n1')?.graceUntil).toBeUndefined();
      // From now on a silent agent is a failure again, detected as fast as ever.
      agent.up = false;
      await vi.advanceTimersByTimeAsync(1000);
      expect(changes).toEqual(['false@4300']);
      prober.stop();
    });

    it('fails the node when the grace ends without an answer', async () => {
      vi.useFakeTimers();
      const { agent, changes, reasons, prober, target } = restartWorld(5000);
      prober.sync([target]);
      await vi.advanceTimersByTimeAsync(500);
      agent.up = false;
      prober.sync([{ ...target, agentRestarting: true }]);
      prober.sync([target]);
      await vi.advanceTimersByTimeAsync(6000);
      expect(changes).toEqual(['false@5500']);
      expect(reasons).toEqual([
        'agent health probe unanswered for 5000 ms: connect ECONNREFUSED (the agent restart took longer than its grace)',
      ]);
      prober.stop();
    });

    it('gives no grace without --agent-restart-grace, nor to a cordoned node, and cordoning ends a grace', async () => {
      vi.useFakeTimers();
      for (const [grace, draining] of [
        [undefined, false],
        [5000, true],
      ] as const) {
        const { agent, changes, prober, target } = restartWorld(grace);
        prober.sync([target]);
        await vi.advanceTimersByTimeAsync(500);
        prober.sync([{ ...target, agentRestarting: true, draining }]);
        agent.up = false;
        await vi.advanceTimersByTimeAsync(1000);
        expect(changes).toEqual(['false@800']);
        prober.stop();
      }
      const { agent, changes, prober, target } = restartWorld(5000);
      prober.sync([target]);
      await vi.advanceTimersByTimeAsync(500);
      prober.sync([{ ...target, agentRestarting: true }]);
      agent.up = false;
      await vi.advanceTimersByTimeAsync(1500);
      expect(changes).toEqual([]);
      // Cordoned while its agent is away: it has been silent past the detection time, so it fails now.
      prober.sync([{ ...target, agentRestarting: true, draining: true }]);
      await vi.advanceTimersByTimeAsync(0);
      expect(changes).toEqual(['false@2000']);
      prober.stop();
    });
  });

  describe('given a new leader (a fresh prober) that takes over during an agent restart whose old Pod is gone', () => {
    /** A fresh prober over `nodes`; each node's agent answers as `agents[node]` says. */
    const takeover = (agents: Record<string, 'ok' | 'refused' | '503' | 'silent'>) => {
      const changes: string[] = [];
      const start = Date.now();
      const addresses = new Map(Object.keys(agents).map((n, i) => [`127.0.0.${i + 2}`, n]));
      const prober = new HealthProber({
        ...FAST,
        restartGraceMs: 5000,
        probe: async (address) => {
          const answer = agents[addresses.get(address)!];
          if (answer === 'refused')
            throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') });
          if (answer === '503') throw new Error('HTTP 503');
          if (answer === 'silent') throw new Error('The operation was aborted due to timeout');
        },
        onChange: (node, healthy) => changes.push(`${node}:${healthy}@${Date.now() - start}`),
      });
      const target = (node: string) => ({
        node,
        address: [...addresses].find(([, n]) => n === node)![0],
        ready: true,
      });
      return { changes, prober, target };
    };

    it('keeps a node whose new agent refuses connections, then answers 503, then ready: no failure', async () => {
      vi.useFakeTimers();
      const agents: Record<string, 'ok' | 'refused' | '503' | 'silent'> = { n1: 'refused' };
      const { changes, prober, target } = takeover(agents);
      prober.sync([target('n1')]);
      await vi.advanceTimersByTimeAsync(1500);
      agents['n1'] = '503';
      await vi.advanceTimersByTimeAsync(1500);
      expect(changes).toEqual([]);
      expect(prober.state('n1')?.graceUntil).toBeDefined();
      agents['n1'] = 'ok';
      await vi.advanceTimersByTimeAsync(200);
      expect(prober.state('n1')?.graceUntil).toBeUndefined();
      // The grace was the inherited restart's only: a later refusal is a failure as fast as ever.
      agents['n1'] = 'refused';
      await vi.advanceTimersByTimeAsync(1000);
      expect(changes).toEqual(['n1:false@3500']);
      prober.stop();
    });

    it('fails a silent node (a dead one) at the detection time, and one that stays not ready when the grace ends', async () => {
      vi.useFakeTimers();
      const { changes, prober, target } = takeover({ dead: 'silent', stuck: '503' });
      prober.sync([target('dead'), target('stuck')]);
      await vi.advanceTimersByTimeAsync(6000);
      expect(changes).toEqual(['dead:false@200', 'stuck:false@5000']);
      prober.stop();
    });

    it('gives no such grace to a node that joins after the first sync', async () => {
      vi.useFakeTimers();
      const { changes, prober, target } = takeover({ n1: 'ok', late: 'refused' });
      prober.sync([target('n1')]);
      await vi.advanceTimersByTimeAsync(500);
      prober.sync([target('n1'), target('late')]);
      await vi.advanceTimersByTimeAsync(1000);
      expect(changes).toEqual(['late:false@700']);
      prober.stop();
    });
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
