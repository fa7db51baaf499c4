/**
 * @module
 * IPv6 egress IPs through the Azure provider, on the ARM emulator's dual-stack world (test/azure/world.ts, family
 * 6) through the real SDKs: public IPs paired with IPv6 ipConfigurations, and what Azure refuses of them. Every case
 * asserts on the emulator's NICs.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Change } from '../../src/provider/contract.ts';
import type { AzureCloud } from '../emulators/azure/index.ts';
import { type AzureWorld, FAST, startAzureWorld } from './world.ts';

let world: AzureWorld;
let cloud: AzureCloud;
let publicV4: string;

beforeAll(async () => {
  world = await startAzureWorld(FAST, 6);
  cloud = world.emulator.cloud;
  publicV4 = cloud.addPublicIp({
    resourceGroup: 'rg-egress',
    name: 'egress-pip-v4',
    ipAddress: '203.0.113.30',
  });
});
afterAll(async () => world?.close());
beforeEach(() => cloud.reset());

const assign = (ip: string, node: keyof AzureWorld['nodes'], extra: Partial<Change> = {}): Change =>
  ({ kind: 'assign', ip, node: world.nodes[node].ref, ...extra }) as Change;
/** The egress ipConfiguration of `ip` on node `node`'s NIC, as the emulator holds it. */
const configOf = (node: keyof AzureWorld['nodes'], ip: string) =>
  cloud
    .nic(world.nodes[node].nicId)
    .properties.ipConfigurations.find((c) => c.properties.privateIPAddress === ip);

describe('azure provider: IPv6 egress IPs', () => {
  it('pairs an IPv6 public IP with an IPv6 egress IP, and the public IP follows a move', async () => {
    const [ip] = cloud.freeIPs(world.nodes.a.subnetId, 1, 6);
    const assigned = await world.provider.apply({
      changes: [assign(ip!, 'a', { publicAddress: world.publicIpId })],
    });
    expect(assigned.outcomes.map((o) => o.ok)).toEqual([true]);
    expect(configOf('a', ip!)?.properties).toMatchObject({
      privateIPAddressVersion: 'IPv6',
      publicIPAddress: { id: world.publicIpId },
    });
    const listed = await world.provider.listAssignments([world.nodes.a.ref]);
    expect(listed).toMatchObject([{ ip, node: 'gw-a', publicAddress: world.publicIpId }]);

    const moved = await world.provider.apply({
      changes: [assign(ip!, 'b', { from: world.nodes.a.ref })],
    });
    expect(moved.outcomes.map((o) => o.ok)).toEqual([true]);
    expect(configOf('a', ip!)).toBeUndefined();
    expect(configOf('b', ip!)?.properties).toMatchObject({
      privateIPAddressVersion: 'IPv6',
      publicIPAddress: { id: world.publicIpId },
    });
  });

  it('an IPv4 public IP on an IPv6 egress IP fails that change terminal, with Azure code, and writes the rest', async () => {
    const [paired, plain] = cloud.freeIPs(world.nodes.a.subnetId, 2, 6);
    const result = await world.provider.apply({
      changes: [assign(paired!, 'a', { publicAddress: publicV4 }), assign(plain!, 'a')],
    });
    const [first, second] = result.outcomes;
    expect(first).toMatchObject({
      ok: false,
      error: { kind: 'terminal', code: 'IPVersionForPublicIpAndNicIpConfigurationMustMatch' },
    });
    expect(second?.ok).toBe(true);
    expect(cloud.secondaryIPs(world.nodes.a.nicId, 'IPv6')).toEqual([plain]);
  });
});
