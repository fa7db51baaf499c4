/**
 * @module
 * The conformance suite against the GCP provider, driven through the real `@google-cloud/compute`
 * clients on the local Compute Engine emulator (test/emulators/gcp). Every case reads the emulator's state.
 */
import { startGcpWorld } from '../gcp/world.ts';
import { runProviderConformance } from './cloud-provider.case.ts';

runProviderConformance({ name: 'gcp on the Compute Engine emulator', setup: () => startGcpWorld() });
