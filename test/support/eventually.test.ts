/**
 * @module
 * The suites' polling helper: what it returns, when it stops, and what its timeout says.
 */
import { describe, expect, it } from 'vitest';
import { EventuallyTimeoutError, eventually } from './eventually.ts';

describe('eventually', () => {
  it('returns the first answer that is neither undefined nor false', async () => {
    const answers = [undefined, false, 0, 7];
    let calls = 0;
    expect(await eventually('an answer', async () => answers[calls++], { intervalMs: 1 })).toBe(0);
    expect(calls).toBe(3);
  });

  it('with `until`, returns the first value for which it holds', async () => {
    let n = 0;
    const value = await eventually('n to reach 3', async () => ++n, { until: (v) => v >= 3, intervalMs: 1 });
    expect(value).toBe(3);
  });

  it('treats a throwing check as not yet', async () => {
    let calls = 0;
    const value = await eventually(
      'the second call',
      async () => {
        if (++calls < 2) throw new Error('not yet');
        return 'done';
      },
      { intervalMs: 1 },
    );
    expect(value).toBe('done');
  });

  it('times out naming what was awaited and the last value seen', async () => {
    let n = 0;
    const error = await eventually('n to reach 1000', async () => ({ n: ++n }), {
      until: (v) => v.n >= 1000,
      timeoutMs: 30,
      intervalMs: 5,
    }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(EventuallyTimeoutError);
    expect((error as Error).message).toMatch(
      /^timed out after 30 ms waiting for n to reach 1000; last value: \{ n: \d+ \}$/,
    );
    expect((error as EventuallyTimeoutError).lastValue).toEqual({ n });
  });

  it('times out with the last error when the last try threw, as message and cause', async () => {
    const cause = new Error('connection refused');
    const error = (await eventually(
      'the server',
      async () => {
        throw cause;
      },
      { timeoutMs: 20, intervalMs: 5 },
    ).catch((err: unknown) => err)) as Error;
    expect(error.message).toBe(
      'timed out after 20 ms waiting for the server; last error: connection refused',
    );
    expect(error.cause).toBe(cause);
  });

  it('throws what `giveUp` returns at once, before its next try', async () => {
    const dead = new Error('the server exited');
    let calls = 0;
    const error = await eventually('a dead server', async () => ++calls > 100, {
      timeoutMs: 10_000,
      intervalMs: 1,
      giveUp: () => (calls >= 2 ? dead : undefined),
    }).catch((err: unknown) => err);
    expect(error).toBe(dead);
    expect(calls).toBe(2);
  });
});
