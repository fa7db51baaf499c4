/**
 * @module
 * The GCP provider: egress IPs are `/32` alias IP ranges from the secondary range `cloud-egress-<owner>`
 * on the node's network interface (`nic0` unless `settings.interface` names another), carried out by the
 * provider engine (src/provider/engine.ts) over the GCP driver (driver.ts).
 *
 * ```
 * createGcpProviderFor(api, settings, options)
 *   ComputeApi (client.ts: the SDK clients, or an emulator's) ─► NicIo (nic-io.ts: one call each,
 *   waits until DONE) ─► gcpDriver (driver.ts: one write attempt per NIC batch) ─► createEngineProvider
 * ```
 *
 * GCP has no atomic move (`atomicMove: false` in descriptor.ts): the engine releases the IP on the source NIC
 * in phase 1, waits for that write to be DONE, then adds it on the target NIC in phase 2, since GCP refuses
 * an IP another NIC holds. A source instance that no longer exists counts as released. Each NIC's writes are
 * serialised by the engine's per-interface lock and retried on `conflict` (412: re-read, decide again),
 * `throttled` and `transient` with this provider's backoff.
 */
import type { Logger } from '../../src/log.ts';
import type { CloudProvider, ProviderSettings } from '../../src/provider/contract.ts';
import { createEngineProvider } from '../../src/provider/engine.ts';
import type { RetryOptions } from '../../src/provider/retry.ts';
import type { ComputeApi } from './client.ts';
import { gcpProvider } from './descriptor.ts';
import { gcpDriver } from './driver.ts';
import { createNicIo } from './nic-io.ts';

/** Tuning of retries and operation polling (tests shorten them), and where the engine logs. */
export interface GcpProviderOptions {
  /** Retries of one NIC's read-modify-write or one read; default 6. */
  readonly retries?: number;
  /** Base retry delay in ms (full jitter, doubling; five times that after throttling); default 200. */
  readonly minRetryDelayMs?: number;
  /** Longest retry delay in ms; default 5,000. */
  readonly maxRetryDelayMs?: number;
  /** Pause after a `wait` that returned before DONE, in ms; default 250. */
  readonly pollIntervalMs?: number;
  /** Give up waiting for one operation after this many ms (`transient`); default 180,000. */
  readonly operationTimeoutMs?: number;
  /** Where retries are logged; default nowhere. */
  readonly logger?: Logger;
}

/** The GCP provider, with `close` for its clients. */
export interface GcpProvider extends CloudProvider {
  close(): Promise<void>;
}

/** The engine's backoff from {@link GcpProviderOptions}. */
function retryOptions(options: GcpProviderOptions): RetryOptions {
  const base = options.minRetryDelayMs ?? 200;
  return {
    retries: options.retries ?? 6,
    baseDelayMs: base,
    throttledBaseDelayMs: base * 5,
    maxDelayMs: options.maxRetryDelayMs ?? 5_000,
  };
}

/** Creates the provider over a {@link ComputeApi} (the real SDK clients, or an emulator's). */
export function createGcpProviderFor(
  api: ComputeApi,
  settings: ProviderSettings,
  options: GcpProviderOptions = {},
): GcpProvider {
  const io = createNicIo(api, {
    pollIntervalMs: options.pollIntervalMs ?? 250,
    operationTimeoutMs: options.operationTimeoutMs ?? 180_000,
  });
  const engine = createEngineProvider(gcpDriver(io, settings), {
    name: gcpProvider.name,
    capabilities: gcpProvider.capabilities,
    retry: retryOptions(options),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  return { ...engine, close: () => api.close() };
}
