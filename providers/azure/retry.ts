/**
 * @module
 * Retrying an Azure call with p-retry: exponential backoff with jitter, errors classified first
 * ({@link classifyAzureError}), only retryable kinds retried, and a server's `Retry-After` waited out
 * (capped) before the next attempt.
 */
import pRetry from 'p-retry';
import type { Logger } from '../../src/log.ts';
import { isProviderError, type ProviderError } from '../../src/provider/contract.ts';
import { classifyAzureError } from './errors.ts';

/** Retry settings. */
export interface RetrySettings {
  /** Retries after the first attempt (default 8). */
  readonly retries?: number;
  /** First backoff (default 250 ms). */
  readonly minTimeoutMs?: number;
  /** Longest backoff (default 10,000 ms). */
  readonly maxTimeoutMs?: number;
  /** Longest `Retry-After` honoured (default 30,000 ms). */
  readonly maxRetryAfterMs?: number;
}

/** Runs `fn` (as `context`, for messages), retried while it fails with a retryable kind. */
export type Retrying = <T>(context: string, fn: () => Promise<T>, signal?: AbortSignal) => Promise<T>;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

/** Makes a {@link Retrying} with these settings. */
export function retrying(settings: RetrySettings = {}, logger?: Logger): Retrying {
  const maxRetryAfterMs = settings.maxRetryAfterMs ?? 30_000;
  return (context, fn, signal) =>
    pRetry(
      async () => {
        try {
          return await fn();
        } catch (err) {
          throw classifyAzureError(err, context);
        }
      },
      {
        retries: settings.retries ?? 8,
        minTimeout: settings.minTimeoutMs ?? 250,
        maxTimeout: settings.maxTimeoutMs ?? 10_000,
        factor: 2,
        randomize: true,
        ...(signal ? { signal } : {}),
        onFailedAttempt: async ({ error, retriesLeft, attemptNumber }) => {
          const e = error as ProviderError;
          logger?.debug({ err: e, kind: e.kind, attemptNumber, retriesLeft }, `${context}: attempt failed`);
          if (retriesLeft > 0 && e.retryable && e.retryAfterMs) {
            await sleep(Math.min(e.retryAfterMs, maxRetryAfterMs), signal);
          }
        },
        shouldRetry: ({ error }) => isProviderError(error) && error.retryable,
      },
    );
}
