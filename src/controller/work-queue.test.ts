import { afterEach, describe, expect, it, vi } from 'vitest';
import { backoffDelay } from '../kube/backoff.ts';
import { TerminalError, WorkQueue } from './work-queue.ts';

/** A deferred promise, to hold a reconcile in flight. */
function deferred() {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A queue running one key at a time that records the keys it runs; the first run of `held` waits for `gate`. */
function oneAtATime(held = 'busy') {
  const gate = deferred();
  const seen: string[] = [];
  const queue = new WorkQueue({
    concurrency: 1,
    reconcile: async (key) => {
      seen.push(key);
      if (key === held && seen.filter((k) => k === held).length === 1) await gate.promise;
    },
  });
  return { gate, seen, queue };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('backoffDelay', () => {
  it('doubles from the base and stops at the cap', () => {
    const opts = { baseMs: 5, maxMs: 100, jitter: 0 };
    expect([1, 2, 3, 4, 5, 6, 50].map((n) => backoffDelay(n, opts))).toEqual([5, 10, 20, 40, 80, 100, 100]);
  });

  it('jitters down by at most the jitter fraction', () => {
    expect(backoffDelay(3, { baseMs: 100, maxMs: 1000, jitter: 0.5, random: () => 0.999 })).toBe(200);
    expect(backoffDelay(3, { baseMs: 100, maxMs: 1000, jitter: 0.5, random: () => 0 })).toBe(400);
  });

  it('rejects attempt 0', () => {
    expect(() => backoffDelay(0, { baseMs: 1, maxMs: 2 })).toThrow(RangeError);
  });
});

describe('WorkQueue', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('given a key added many times while queued, when it runs, then it reconciles once', async () => {
    const { gate, seen, queue } = oneAtATime();
    queue.add('busy');
    queue.add('a');
    queue.add('a');
    queue.add('b');
    queue.add('a');
    expect(queue.length).toBe(2);
    gate.resolve();
    await queue.idle();
    expect(seen).toEqual(['busy', 'a', 'b']);
  });

  it('given a key added while it runs, then it runs again afterwards, never twice at once', async () => {
    const gate = deferred();
    let inFlight = 0;
    let maxInFlight = 0;
    let runs = 0;
    const queue = new WorkQueue({
      concurrency: 4,
      reconcile: async () => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        runs++;
        if (runs === 1) await gate.promise;
        inFlight--;
      },
    });
    queue.add('a');
    await tick();
    queue.add('a');
    queue.add('a');
    expect(queue.running).toBe(1);
    gate.resolve();
    await queue.idle();
    expect(runs).toBe(2);
    expect(maxInFlight).toBe(1);
  });

  it('given a resync queued ahead, when a key is added urgent, then it runs before every normal key', async () => {
    const { gate, seen, queue } = oneAtATime();
    queue.add('busy');
    for (const key of ['a', 'b', 'failed', 'c']) queue.add(key);
    queue.add('d', 'urgent');
    queue.add('failed', 'urgent');
    queue.add('failed');
    queue.add('e');
    expect(queue.length).toBe(6);
    gate.resolve();
    await queue.idle();
    expect(seen).toEqual(['busy', 'd', 'failed', 'a', 'b', 'c', 'e']);
  });

  it('given a key running, when it is added urgent, then its next run goes before the normal keys', async () => {
    const { gate, seen, queue } = oneAtATime('gw');
    queue.add('gw');
    await tick();
    queue.add('a');
    queue.add('gw', 'urgent');
    queue.add('gw');
    gate.resolve();
    await queue.idle();
    expect(seen).toEqual(['gw', 'gw', 'a']);
  });

  it('runs different keys in parallel up to the concurrency', async () => {
    const gate = deferred();
    let inFlight = 0;
    let maxInFlight = 0;
    const queue = new WorkQueue({
      concurrency: 2,
      reconcile: async () => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await gate.promise;
        inFlight--;
      },
    });
    for (const key of ['a', 'b', 'c', 'd']) queue.add(key);
    await tick();
    expect(queue.running).toBe(2);
    expect(queue.length).toBe(2);
    gate.resolve();
    await queue.idle();
    expect(maxInFlight).toBe(2);
  });

  it('given a failing key, then it retries with growing capped backoff and never drops it', async () => {
    vi.useFakeTimers();
    const attempts: number[] = [];
    const queue = new WorkQueue({
      backoff: { baseMs: 10, maxMs: 80, jitter: 0 },
      reconcile: async () => {
        attempts.push(Date.now());
        if (attempts.length < 8) throw new Error('cloud unavailable');
      },
    });
    const start = Date.now();
    queue.add('a');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(attempts.map((t) => t - start)).toEqual([0, 10, 30, 70, 150, 230, 310, 390]);
    expect(queue.failures('a')).toBe(0);
  });

  it('gives up on a TerminalError until the key is added again', async () => {
    vi.useFakeTimers();
    let runs = 0;
    const errors: unknown[] = [];
    const queue = new WorkQueue({
      reconcile: async () => {
        runs++;
        throw new TerminalError('spec is invalid');
      },
      onResult: ({ error }) => errors.push(error),
    });
    queue.add('a');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(runs).toBe(1);
    expect(errors[0]).toBeInstanceOf(TerminalError);
    queue.add('a');
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toBe(2);
  });

  it('honours requeueAfterMs without counting a failure', async () => {
    vi.useFakeTimers();
    const times: number[] = [];
    const queue = new WorkQueue({
      reconcile: async () => {
        times.push(Date.now());
        return times.length < 3 ? { requeueAfterMs: 1000 } : undefined;
      },
    });
    const start = Date.now();
    queue.add('a');
    await vi.advanceTimersByTimeAsync(5000);
    expect(times.map((t) => t - start)).toEqual([0, 1000, 2000]);
    expect(queue.failures('a')).toBe(0);
  });

  it('given a key in backoff, when it is added, then it runs at once and the timer is cancelled', async () => {
    vi.useFakeTimers();
    let runs = 0;
    const queue = new WorkQueue({
      backoff: { baseMs: 1000, maxMs: 1000, jitter: 0 },
      reconcile: async () => {
        runs++;
        if (runs === 1) throw new Error('transient');
      },
    });
    queue.add('a');
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toBe(1);
    queue.add('a');
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toBe(2);
    await vi.advanceTimersByTimeAsync(5000);
    expect(runs).toBe(2);
  });

  it('stop() waits for reconciles in flight and takes no more work', async () => {
    const gate = deferred();
    let finished = false;
    let runs = 0;
    const queue = new WorkQueue({
      reconcile: async () => {
        runs++;
        await gate.promise;
        finished = true;
      },
    });
    queue.add('a');
    await tick();
    const stopped = queue.stop();
    queue.add('b');
    gate.resolve();
    await stopped;
    expect(finished).toBe(true);
    expect(runs).toBe(1);
  });
});
