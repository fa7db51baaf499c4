import { afterEach, describe, expect, it, vi } from 'vitest';
import { fullJitterDelay } from '../../src/provider/retry.ts';
import { createBuckets, EC2_RATE_LIMITS, TokenBucket } from './token-bucket.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('TokenBucket', () => {
  it('lets a burst through, then one token per refill interval', async () => {
    vi.useFakeTimers();
    let now = 0;
    const bucket = new TokenBucket({ burst: 2, refillPerSecond: 5 }, () => now);
    const done: number[] = [];
    for (let i = 0; i < 4; i++) void bucket.take().then(() => done.push(now));
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toEqual([0, 0]);
    now = 200;
    await vi.advanceTimersByTimeAsync(200);
    expect(done).toEqual([0, 0, 200]);
    now = 400;
    await vi.advanceTimersByTimeAsync(200);
    expect(done).toEqual([0, 0, 200, 400]);
  });

  it('refuses nonsense limits and defaults to the EC2 documented ones', () => {
    expect(() => new TokenBucket({ burst: 0, refillPerSecond: 5 })).toThrow(RangeError);
    expect(EC2_RATE_LIMITS.AssignPrivateIpAddresses).toEqual({ burst: 100, refillPerSecond: 5 });
    const buckets = createBuckets({ mutating: { burst: 3, refillPerSecond: 1 } });
    expect(Math.floor(buckets.mutating.available)).toBe(3);
    expect(Math.floor(buckets.UnassignPrivateIpAddresses.available)).toBe(100);
  });

  it('stops waiting when aborted', async () => {
    const bucket = new TokenBucket({ burst: 1, refillPerSecond: 0.001 });
    await bucket.take();
    const ctrl = new AbortController();
    const waiting = bucket.take(ctrl.signal);
    await new Promise((resolve) => setTimeout(resolve, 20));
    ctrl.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
  }, 10_000);
});

describe('fullJitterDelay', () => {
  it('draws from [0, min(cap, base * 2^(attempt-1)))', () => {
    expect(fullJitterDelay(1, 100, 1000, () => 0.999)).toBe(99);
    expect(fullJitterDelay(4, 100, 1000, () => 0.999)).toBe(799);
    expect(fullJitterDelay(10, 100, 1000, () => 0.5)).toBe(500);
    expect(fullJitterDelay(3, 100, 1000, () => 0)).toBe(0);
  });
});
