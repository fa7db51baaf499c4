/**
 * @module
 * The local Compute Engine emulator: start it with {@link startGcpEmulator}, seed and inspect its
 * {@link GcpState}, and point the real `@google-cloud/compute` clients at its URL.
 */
export { MAX_ALIAS_RANGES } from './alias-rules.ts';
export { GcpApiError } from './errors.ts';
export { GcpIam } from './iam.ts';
export { GCP_PUBLISHED_LATENCY, type GcpLatency } from './latency.ts';
export {
  type GcpCall,
  type GcpEmulator,
  type GcpEmulatorOptions,
  type GcpFault,
  type GcpWrite,
  startGcpEmulator,
} from './server.ts';
export * from './state.ts';
