/**
 * @module
 * The GCP test world (the emulator driven through the real SDK) as the benchmarks use it. The deliberate
 * public face of test/gcp for code outside the suites.
 */
export { startGcpWorld } from './world.ts';
