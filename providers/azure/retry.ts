/**
 * @module
 * The Azure provider's backoff: the settings of the engine's retry policy (src/provider/retry.ts), with the
 * Azure provider's defaults (8 retries, 250 ms base, four times that after a 429, at most 10 s; a
 * `Retry-After` up to 30 s is waited out). The engine retries and logs; this file only fills in numbers.
 */
import type { RetryOptions } from '../../src/provider/retry.ts';

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

/** The engine's {@link RetryOptions} for these settings, Azure's defaults filled in. */
export function azureRetryOptions(settings: RetrySettings = {}): RetryOptions {
  const base = settings.minTimeoutMs ?? 250;
  return {
    retries: settings.retries ?? 8,
    baseDelayMs: base,
    throttledBaseDelayMs: base * 4,
    maxDelayMs: settings.maxTimeoutMs ?? 10_000,
    maxRetryAfterMs: settings.maxRetryAfterMs ?? 30_000,
  };
}
