/**
 * @module
 * The Azure provider's preflight on the ARM emulator through the real SDKs: the Microsoft.Authorization
 * permissions listing of each NIC, subnet and route table a failover writes (api-version 2022-04-01: one entry
 * per role assignment that applies, `actions` minus `notActions`), free slots, and IP forwarding on scale-set
 * NICs. A role without `Microsoft.Network/virtualNetworks/subnets/join/action` is the classic trap: the NIC PUT
 * then fails `LinkedAuthorizationFailed` at the first failover.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PreflightCheck } from '../../src/provider/contract.ts';
import { type ScaleSetWorld, startScaleSetWorld } from './scale-set-world.ts';
import { type AzureWorld, startAzureWorld } from './world.ts';

const failed = (checks: readonly PreflightCheck[]) => checks.filter((c) => !c.ok).map((c) => c.check);

describe('azure preflight (standalone VMs)', () => {
  let world: AzureWorld;
  beforeAll(async () => {
    world = await startAzureWorld();
  });
  afterAll(async () => world?.close());
  beforeEach(() => world.emulator.cloud.reset());

  it('passes every check when the identity may do everything, and checks the NIC and its subnet', async () => {
    const checks = await world.provider.preflight!([world.nodes.a.ref, world.nodes.b.ref]);
    expect(failed(checks)).toEqual([]);
    const names = checks.map((c) => c.check);
    for (const action of [
      'Microsoft.Network/networkInterfaces/write',
      'Microsoft.Network/virtualNetworks/subnets/join/action',
      'Microsoft.Network/locations/operations/read',
    ]) {
      expect(names).toContain(`permission ${action}`);
    }
    expect(checks.filter((c) => c.check === 'free IP slots').map((c) => c.node)).toEqual(['gw-a', 'gw-b']);
  });

  it('names a missing subnets/join/action and a write taken away by notActions, each with its fix', async () => {
    const { cloud } = world.emulator;
    const rg = `/subscriptions/${cloud.subscriptionId}/resourceGroups/rg-egress`;
    cloud.grants.splice(
      0,
      cloud.grants.length,
      {
        scope: rg,
        actions: [
          'Microsoft.Network/networkInterfaces/*',
          'Microsoft.Network/virtualNetworks/subnets/read',
          '*/read',
        ],
        notActions: ['Microsoft.Network/networkInterfaces/write'],
      },
      {
        scope: `${rg}/providers/Microsoft.Network/networkInterfaces/gw-b-nic`,
        actions: ['*'],
        notActions: [],
      },
    );
    const checks = await world.provider.preflight!([world.nodes.a.ref, world.nodes.b.ref]);
    const bad = checks.filter((c) => !c.ok);
    expect(bad.map((c) => `${c.node ?? '-'} ${c.check}`).sort()).toEqual([
      '- permission Microsoft.Network/virtualNetworks/subnets/join/action',
      'gw-a permission Microsoft.Network/networkInterfaces/write',
      'gw-a permission Microsoft.Network/virtualNetworks/subnets/join/action',
    ]);
    expect(bad[0]?.fix).toMatch(/add Microsoft\.Network\/.* to the controller's role/);
  });
});

describe('azure preflight (scale-set nodes)', () => {
  let world: ScaleSetWorld;
  beforeAll(async () => {
    world = await startScaleSetWorld();
  });
  afterAll(async () => world?.close());

  it('checks the route tables and IP forwarding', async () => {
    const { cloud } = world.emulator;
    cloud.setIpForwarding(world.nodes.b.nicId, false);
    cloud.grants.splice(0, cloud.grants.length, { scope: '/', actions: ['*/read'], notActions: [] });
    const checks = await world.provider.preflight!([world.nodes.a.ref, world.nodes.b.ref]);
    expect(failed(checks).sort()).toEqual([
      'IP forwarding',
      'permission Microsoft.Network/routeTables/write',
    ]);
    expect(checks.find((c) => c.check === 'IP forwarding' && !c.ok)?.node).toBe(world.nodes.b.ref.name);
  });
});
