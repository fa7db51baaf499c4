/**
 * @module
 * Capped exponential backoff with jitter, shared by the controller's work queue, the informer restarts and the
 * agent's sync retries.
 *
 * ```
 * attempt:  1     2      3      4     ...   n
 * delay:    base  2base  4base  8base ...   min(cap, base * 2^(n-1)), then jittered
 * ```
 *
 * Jitter spreads the delay over `[delay * (1 - jitter), delay]` ("equal jitter"), so many keys failing at
 * once do not retry in lockstep, and the cap still holds.
 */

/** Parameters of a backoff. */
export interface BackoffOptions {
  /** Delay of the first retry, in ms. */
  readonly baseMs: number;
  /** Largest delay, in ms. */
  readonly maxMs: number;
  /** Fraction of the delay that is randomised, 0 (none) to 1 (full jitter). Default 0.2. */
  readonly jitter?: number;
  /** Source of randomness in [0, 1); injectable for tests. Default `Math.random`. */
  readonly random?: () => number;
}

/**
 * The delay before retry number `attempt` (1 for the first retry).
 * @throws RangeError when `attempt` is below 1.
 */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  if (attempt < 1) throw new RangeError(`attempt must be >= 1, got ${attempt}`);
  const exp = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(attempt - 1, 52));
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.2));
  const random = options.random ?? Math.random;
  return Math.round(exp * (1 - jitter * random()));
}
