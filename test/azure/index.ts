/**
 * @module
 * The Azure test world (the emulator driven through the real SDK) as the benchmarks use it. The deliberate
 * public face of test/azure for code outside the suites.
 */
export { FAST, startAzureWorld } from './world.ts';
