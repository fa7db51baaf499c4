/**
 * @module
 * Retries a step with p-retry and full-jitter backoff (AWS Architecture Blog, "Exponential Backoff And
 * Jitter": sleep = random(0, min(cap, base * 2^attempt))), only for retryable {@link ProviderError} kinds.
 * Throttling backs off from a longer base than transient failures.
 */
import pRetry from 'p-retry';
import { isProviderError } from '../../src/provider/contract.ts';

/** Backoff settings. */
export interface RetryOptions {
  /** Retries after the first attempt (default 6). */
  readonly retries: number;
  /** Base delay for transient and conflict failures, ms (default 100). */
  readonly baseDelayMs: number;
  /** Base delay after `throttled`, ms (default 1000). */
  readonly throttledBaseDelayMs: number;
  /** Longest single delay, ms (default 20 000). */
  readonly maxDelayMs: number;
}

/** Defaults of {@link RetryOptions}. */
export const DEFAULT_RETRY: RetryOptions = {
  retries: 6,
  baseDelayMs: 100,
  throttledBaseDelayMs: 1000,
  maxDelayMs: 20_000,
};

/** The full-jitter delay before retry number `attempt` (1-based). */
export function fullJitterDelay(
  attempt: number,
  base: number,
  cap: number,
  random: () => number = Math.random,
): number {
  return Math.floor(random() * Math.min(cap, base * 2 ** (attempt - 1)));
}

/** Runs `step` until it succeeds, fails with a non-retryable kind, or the retries are spent. */
export function withRetry<T>(
  step: () => Promise<T>,
  options: RetryOptions,
  signal?: AbortSignal,
): Promise<T> {
  return pRetry(step, {
    retries: options.retries,
    minTimeout: 0,
    maxTimeout: 0,
    ...(signal ? { signal } : {}),
    shouldRetry: ({ error }) => isProviderError(error) && error.retryable,
    onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
      if (retriesLeft === 0 || !isProviderError(error) || !error.retryable) return;
      const base = error.kind === 'throttled' ? options.throttledBaseDelayMs : options.baseDelayMs;
      const delay = Math.max(
        error.retryAfterMs ?? 0,
        fullJitterDelay(attemptNumber, base, options.maxDelayMs),
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
    },
  });
}
