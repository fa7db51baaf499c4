/**
 * The controller on lying clouds (verification.case.ts) on a real kube-apiserver: the in-memory cloud and the GCP
 * and Azure emulators through their providers. AWS on LocalStack runs the same cases in aws.test.ts.
 */
import { startAzureWorld } from '../azure/world.ts';
import { startInMemoryWorld } from '../conformance/inmemory-world.ts';
import { startGcpWorld } from '../gcp/world.ts';
import { useControlPlane } from '../harness/vitest.ts';
import { runVerificationCases } from './verification.case.ts';

const kube = useControlPlane();

runVerificationCases({ name: 'inmemory', kube, setup: startInMemoryWorld });
runVerificationCases({
  name: 'gcp (Compute Engine emulator)',
  kube,
  setup: async () => {
    const world = await startGcpWorld();
    return { ...world, lies: world.emulator.lies };
  },
});
runVerificationCases({
  name: 'azure (ARM emulator)',
  kube,
  setup: async () => {
    const world = await startAzureWorld();
    return { ...world, lies: world.emulator.cloud.lies };
  },
});
