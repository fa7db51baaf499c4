/**
 * @module
 * Retrying an Azure call: the shared provider retry policy ({@link withRetry}) with errors classified by
 * {@link classifyAzureError} (naming the call), and each retried attempt logged.
 */
import type { Logger } from '../../src/log.ts';
import { withRetry } from '../../src/provider/retry.ts';
import { classifyAzureError } from './errors.ts';

/** Retry settings. */
export interface RetrySettings {
  /** Retries after the first attempt (default 8). */
  readonly retries?: number;
  /** Base backoff (default 250 ms; four times that after a 429 without Retry-After). */
  readonly minTimeoutMs?: number;
  /** Longest backoff (default 10,000 ms). */
  readonly maxTimeoutMs?: number;
  /** Longest `Retry-After` honoured (default 30,000 ms). */
  readonly maxRetryAfterMs?: number;
}

/** Runs `fn` (as `context`, for messages), retried while it fails with a retryable kind. */
export type Retrying = <T>(context: string, fn: () => Promise<T>, signal?: AbortSignal) => Promise<T>;

/** Makes a {@link Retrying} with these settings. */
export function retrying(settings: RetrySettings = {}, logger?: Logger): Retrying {
  const base = settings.minTimeoutMs ?? 250;
  const options = {
    retries: settings.retries ?? 8,
    baseDelayMs: base,
    throttledBaseDelayMs: base * 4,
    maxDelayMs: settings.maxTimeoutMs ?? 10_000,
    maxRetryAfterMs: settings.maxRetryAfterMs ?? 30_000,
  };
  return (context, fn, signal) =>
    withRetry(fn, options, signal, {
      classify: (err) => classifyAzureError(err, context),
      onRetry: (err, attemptNumber, retriesLeft) =>
        logger?.debug({ err, kind: err.kind, attemptNumber, retriesLeft }, `${context}: attempt failed`),
    });
}
