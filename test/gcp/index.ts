/**
 * @module
 * The GCP test world (the emulator driven through the real SDK) as the benchmarks use it. The deliberate
 * public face of test/gcp for code outside the suites.
 */
export { GCP_PUBLISHED_LATENCY } from '../emulators/gcp/index.ts';
export { type GcpWorld, startGcpWorld } from './world.ts';
