/**
 * @module
 * The one polling helper of the suites: call a check until it answers, or fail after a timeout with a
 * message that names what was awaited and the last value (or error) seen.
 *
 * ```ts
 * // The check's own answer: done when it is neither undefined nor false.
 * const policy = await eventually('2 Ready IPs', async () => {
 *   const p = await world.getPolicy('to-partner');
 *   return p?.status?.assignments?.length === 2 ? p : undefined;
 * });
 * // A value and a condition on it: the timeout message shows the last value read.
 * await eventually('n1a to leave from the egress IP', () => sourceOf('n1a'), { until: (s) => s === EGRESS_IP });
 * ```
 *
 * Waits that are not polls keep their own helpers: an event a poll could miss (the VPC router's `waitFor`,
 * test/e2e/vpc-sync.ts) and a lock that must be taken, not observed (test/control-plane/file-lock.ts).
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';

/** Options of {@link eventually}. */
export interface EventuallyOptions<T> {
  /** Give up after this long. Default 20 s. */
  readonly timeoutMs?: number;
  /** Pause between tries. Default 50 ms. */
  readonly intervalMs?: number;
  /**
   * Done when this holds for the value the check returned (the default: a value other than `undefined`
   * and `false`).
   */
  readonly until?: (value: T) => boolean;
  /**
   * Asked before each try; an error it returns is thrown at once instead of waiting on (e.g. the server
   * that was awaited has exited, with its log).
   */
  readonly giveUp?: () => Error | undefined | Promise<Error | undefined>;
}

/** What {@link eventually} throws when the check did not answer in time. */
export class EventuallyTimeoutError extends Error {
  override readonly name = 'EventuallyTimeoutError';
  /** What was awaited. */
  readonly what: string;
  /** The value the last try returned (undefined when every try threw). */
  readonly lastValue: unknown;

  constructor(what: string, timeoutMs: number, lastValue: unknown, lastError: unknown) {
    const seen =
      lastError === undefined
        ? `last value: ${describe(lastValue)}`
        : `last error: ${lastError instanceof Error ? lastError.message : describe(lastError)}`;
    super(`timed out after ${timeoutMs} ms waiting for ${what}; ${seen}`, { cause: lastError });
    this.what = what;
    this.lastValue = lastValue;
  }
}

function describe(value: unknown): string {
  const text = inspect(value, { depth: 4, breakLength: Number.POSITIVE_INFINITY });
  return text.length > 600 ? `${text.slice(0, 600)}…` : text;
}

const answered = (value: unknown): boolean => value !== undefined && value !== false;

/**
 * Calls `check` until it answers, and returns that answer. Without `until`, an answer is a value other than
 * `undefined` or `false`; with it, a value for which `until` holds. A check that throws counts as "not yet"
 * (the error is kept for the timeout message and as its `cause`); a value after an error clears it.
 *
 * @throws {EventuallyTimeoutError} after `timeoutMs`, naming `what` and the last value or error seen.
 * @throws whatever `giveUp` returns, as soon as it returns it.
 */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  options?: EventuallyOptions<T | undefined | false> & { until?: undefined },
): Promise<T>;
export async function eventually<T>(
  what: string,
  check: () => Promise<T>,
  options: EventuallyOptions<T> & { until: (value: T) => boolean },
): Promise<T>;
export async function eventually<T>(
  what: string,
  check: () => Promise<T>,
  options: EventuallyOptions<T> = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const until = options.until ?? answered;
  const deadline = Date.now() + timeoutMs;
  let lastValue: unknown;
  let lastError: unknown;
  for (;;) {
    const stop = await options.giveUp?.();
    if (stop) throw stop;
    try {
      const value = await check();
      if (until(value)) return value;
      lastValue = value;
      lastError = undefined;
    } catch (error) {
      lastError = error ?? new Error(String(error));
    }
    if (Date.now() > deadline) throw new EventuallyTimeoutError(what, timeoutMs, lastValue, lastError);
    await sleep(options.intervalMs ?? 50);
  }
}
