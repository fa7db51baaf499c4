/**
 * @module
 * The one retry policy of every provider: p-retry with full-jitter backoff (AWS Architecture Blog,
 * "Exponential Backoff And Jitter": sleep = random(0, min(cap, base * 2^attempt))), retrying only the
 * retryable {@link ProviderError} kinds. Throttling backs off from a longer base than transient failures and
 * conflicts, and a server's `Retry-After` (`retryAfterMs`) is waited out, capped.
 */
import pRetry from 'p-retry';
import { isProviderError, type ProviderError } from './contract.ts';

/** Backoff settings. */
export interface RetryOptions {
  /** Retries after the first attempt (default 6). */
  readonly retries: number;
  /** Base delay for transient and conflict failures, ms (default 100). */
  readonly baseDelayMs: number;
  /** Base delay after `throttled`, ms (default 1000). */
  readonly throttledBaseDelayMs: number;
  /** Longest backoff delay, ms (default 20 000). */
  readonly maxDelayMs: number;
  /** Longest server-asked `Retry-After` honoured, ms (default 30 000). */
  readonly maxRetryAfterMs?: number;
}

/** Defaults of {@link RetryOptions}. */
export const DEFAULT_RETRY: RetryOptions = {
  retries: 6,
  baseDelayMs: 100,
  throttledBaseDelayMs: 1000,
  maxDelayMs: 20_000,
  maxRetryAfterMs: 30_000,
};

/** Hooks of {@link withRetry}. */
export interface RetryHooks {
  /** Turns whatever a step threw into a classified error (a provider's `errors.ts`); default: as thrown. */
  readonly classify?: (err: unknown) => unknown;
  /** Called after each failed attempt that will be retried (for logs). */
  readonly onRetry?: (error: ProviderError, attemptNumber: number, retriesLeft: number) => void;
}

/** The full-jitter delay before retry number `attempt` (1-based). */
export function fullJitterDelay(
  attempt: number,
  base: number,
  cap: number,
  random: () => number = Math.random,
): number {
  return Math.floor(random() * Math.min(cap, base * 2 ** (attempt - 1)));
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

/** Runs `step` until it succeeds, fails with a non-retryable kind, or the retries are spent. */
export function withRetry<T>(
  step: () => Promise<T>,
  options: RetryOptions,
  signal?: AbortSignal,
  hooks: RetryHooks = {},
): Promise<T> {
  const { classify } = hooks;
  const attempt = classify
    ? async () => {
        try {
          return await step();
        } catch (err) {
          throw classify(err);
        }
      }
    : step;
  return pRetry(attempt, {
    retries: options.retries,
    minTimeout: 0,
    maxTimeout: 0,
    ...(signal ? { signal } : {}),
    shouldRetry: ({ error }) => isProviderError(error) && error.retryable,
    onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
      if (retriesLeft === 0 || !isProviderError(error) || !error.retryable) return;
      hooks.onRetry?.(error, attemptNumber, retriesLeft);
      const base = error.kind === 'throttled' ? options.throttledBaseDelayMs : options.baseDelayMs;
      const asked = Math.min(
        error.retryAfterMs ?? 0,
        options.maxRetryAfterMs ?? DEFAULT_RETRY.maxRetryAfterMs!,
      );
      await sleep(Math.max(asked, fullJitterDelay(attemptNumber, base, options.maxDelayMs)), signal);
    },
  });
}
