import { describe, expect, it } from 'vitest';
import { ProviderError } from './contract.ts';
import { withRetry } from './retry.ts';

const fast = { retries: 3, baseDelayMs: 1, throttledBaseDelayMs: 2, maxDelayMs: 5, maxRetryAfterMs: 40 };

describe('withRetry', () => {
  it('retries retryable kinds until the step succeeds, classifying what was thrown', async () => {
    let calls = 0;
    const result = await withRetry(
      async () => {
        if (++calls < 3) throw new Error('HTTP 503');
        return 'done';
      },
      fast,
      undefined,
      { classify: (err) => new ProviderError('transient', String(err)) },
    );
    expect([result, calls]).toEqual(['done', 3]);
  });

  it('does not retry a terminal error', async () => {
    let calls = 0;
    const failing = withRetry(async () => {
      calls++;
      throw new ProviderError('terminal', 'outside the subnet');
    }, fast);
    await expect(failing).rejects.toMatchObject({ kind: 'terminal' });
    expect(calls).toBe(1);
  });

  it('waits out Retry-After, capped by maxRetryAfterMs', async () => {
    const times: number[] = [];
    await withRetry(async () => {
      times.push(performance.now());
      if (times.length === 1) throw new ProviderError('throttled', '429', { retryAfterMs: 60_000 });
    }, fast);
    const waited = times[1]! - times[0]!;
    expect(waited).toBeGreaterThanOrEqual(38);
    expect(waited).toBeLessThan(1_000);
  });
});
