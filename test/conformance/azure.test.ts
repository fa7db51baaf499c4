/**
 * @module
 * The conformance suite against the Azure provider: the real `@azure/arm-network` and `@azure/arm-compute`
 * clients over HTTPS to the local ARM emulator (test/emulators/azure). Every case reads the emulator's NICs.
 */
import { startAzureWorld } from '../azure/world.ts';
import { runProviderConformance } from './cloud-provider.case.ts';

runProviderConformance({ name: 'azure (ARM emulator)', setup: startAzureWorld });
