/**
 * @module
 * The Azure test worlds (the emulator driven through the real SDK) as the benchmarks use them: standalone VMs
 * and AKS-shaped scale-set nodes. The deliberate public face of test/azure for code outside the suites.
 */

export type { AzureCloud } from '../emulators/azure/index.ts';
export { addPoolNode, startScaleSetWorld } from './scale-set-world.ts';
export { FAST, startAzureWorld } from './world.ts';
