/**
 * @module
 * The conformance suite against the GCP provider, driven through the real `@google-cloud/compute`
 * clients on the local Compute Engine emulator (test/emulators/gcp). Every case reads the emulator's state.
 */
import { startGcpWorld } from '../gcp/world.ts';
import { runProviderConformance } from './cloud-provider.case.ts';
import { runLyingCloudCases } from './lying-cloud.case.ts';

runProviderConformance({ name: 'gcp on the Compute Engine emulator', setup: () => startGcpWorld() });
runLyingCloudCases({
  name: 'gcp on the Compute Engine emulator',
  setup: async () => {
    const world = await startGcpWorld();
    return { ...world, lies: world.emulator.lies };
  },
});
