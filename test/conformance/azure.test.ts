/**
 * @module
 * The conformance suite against the Azure provider: the real `@azure/arm-network` and `@azure/arm-compute`
 * clients over HTTPS to the local ARM emulator (test/emulators/azure). Every case reads the emulator's NICs or
 * route tables. Three paths: standalone VMs without the one-operation move (a move is remove-then-add), with it
 * (`moveIpConfigurations`, subscription feature AllowMoveIpConfigurations), and AKS's uniform scale-set nodes
 * (egress IPs as /32 routes, docs/adr/0005). The two NIC paths run again with IPv6 egress IPs in dual-stack subnets
 * (test/azure/world.ts, family 6): there the cloud's view counts only ipConfigurations of version IPv6.
 */
import { startScaleSetWorld } from '../azure/scale-set-world.ts';
import { FAST, startAzureWorld } from '../azure/world.ts';
import { runProviderConformance } from './cloud-provider.case.ts';
import { runLyingCloudCases } from './lying-cloud.case.ts';

runProviderConformance({ name: 'azure (ARM emulator), remove-then-add', setup: startAzureWorld });

runProviderConformance({
  name: 'azure (ARM emulator), one-operation move',
  setup: async () => {
    const world = await startAzureWorld();
    world.emulator.cloud.features.add('AllowMoveIpConfigurations');
    return world;
  },
});

runProviderConformance({
  name: 'azure (ARM emulator), AKS scale-set nodes by routes',
  setup: startScaleSetWorld,
});
runLyingCloudCases({
  name: 'azure (ARM emulator)',
  setup: async () => {
    const world = await startAzureWorld();
    return { ...world, lies: world.emulator.cloud.lies };
  },
});

runProviderConformance({
  name: 'azure (ARM emulator), IPv6 egress IPs in a dual-stack subnet, remove-then-add',
  setup: () => startAzureWorld(FAST, 6),
});

runProviderConformance({
  name: 'azure (ARM emulator), IPv6 egress IPs in a dual-stack subnet, one-operation move',
  setup: async () => {
    const world = await startAzureWorld(FAST, 6);
    world.emulator.cloud.features.add('AllowMoveIpConfigurations');
    return world;
  },
});
