/**
 * @module
 * Azure behaviours the ARM emulator reproduces, each with its source, and the provider's handling of each, on
 * the emulator through the real SDKs: the one-operation move (`moveIpConfigurations`) and its feature gate, a NIC
 * left detached by its deleted VM, `Retry-After: 10`, AnotherOperationInProgress as a Failed operation, a failed
 * operation that must not take an IP back from a NIC that took it meanwhile, duplicate ipConfiguration names,
 * Static without an address, and a conditional PUT to a NIC that is gone.
 */
import type { Agent } from 'node:https';
import type { NetworkInterface, NetworkManagementClient } from '@azure/arm-network';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Change, CloudProvider, NodeRef } from '../../src/provider/contract.ts';
import type { AzureCloud } from '../emulators/azure/index.ts';
import { armFailure } from './arm-failure.ts';
import { type AzureWorld, emulatorNetworkClient, FAST, startAzureWorld } from './world.ts';

let world: AzureWorld;
let cloud: AzureCloud;
let agent: Agent;
let network: NetworkManagementClient;
beforeAll(async () => {
  world = await startAzureWorld();
  cloud = world.emulator.cloud;
  ({ agent, network } = emulatorNetworkClient(world.emulator));
});
afterAll(async () => {
  agent?.destroy();
  await world?.close();
});
beforeEach(() => {
  cloud.reset();
  cloud.features.clear();
});

const RG = 'rg-egress';
const assign = (ip: string, node: NodeRef, from?: NodeRef): Change =>
  from ? { kind: 'assign', ip, node, from } : { kind: 'assign', ip, node };
const ok = (p: Promise<{ outcomes: readonly { ok: boolean }[] }>) =>
  p.then((r) => r.outcomes.map((o) => o.ok));
const mutating = () =>
  cloud.requests
    .filter((r) => r.method === 'PUT' || r.method === 'POST')
    .map((r) => `${r.method} ${r.path.split('/').at(-1)} ${r.status}`);
/** A new gateway VM with one NIC in node a's subnet, as a node. */
function gatewayVm(prefix: string, zone: string, nicDeleteOption?: 'Delete' | 'Detach') {
  const { a } = world.nodes;
  const { vmId, nicId } = cloud.addVm({
    resourceGroup: RG,
    name: `${prefix}${Math.random().toString(16).slice(2, 8)}`,
    location: 'westeurope',
    zone,
    subnetId: a.subnetId,
    primaryIP: cloud.freeIPs(a.subnetId, 1)[0]!,
    ...(nicDeleteOption ? { nicDeleteOption } : {}),
  });
  const node: NodeRef = { name: vmId.split('/').at(-1)!, providerID: `azure://${vmId}` };
  return { vmId, nicId, node };
}
const withConfigs = (nic: NetworkInterface, ...extra: NetworkInterface['ipConfigurations'] & {}) => ({
  ...nic,
  ipConfigurations: [...(nic.ipConfigurations ?? []), ...extra],
});

describe('one-operation move (moveIpConfigurations, @azure/arm-network 39, api-version 2026-01-01)', () => {
  it('with AllowMoveIpConfigurations, a move of 6 IPs is one POST and no IP is ever on no NIC; its public IP comes along', async () => {
    const { a, b } = world.nodes;
    cloud.features.add('AllowMoveIpConfigurations');
    const provider = world.newProvider(FAST, 'moves');
    const ips = cloud.freeIPs(a.subnetId, 6);
    await provider.apply({
      changes: ips.map((ip, i) =>
        i === 0 ? { kind: 'assign', ip, node: a.ref, publicAddress: world.publicIpId } : assign(ip, a.ref),
      ),
    });
    cloud.clearLogs();
    expect(await ok(provider.apply({ changes: ips.map((ip) => assign(ip, b.ref, a.ref)) }))).toEqual(
      Array(6).fill(true),
    );
    expect(mutating()).toEqual(['POST moveIpConfigurations 202']);
    // The move's one state change holds every IP on exactly one NIC: a loses them as b gains them.
    expect(
      cloud.events.map((e) => `${e.kind} ${e.nic === a.nicId ? 'a' : 'b'} ${e.secondaryIPs.length}`),
    ).toEqual([
      'move-accepted a 0',
      'move-accepted b 6',
      'operation-succeeded a 0',
      'operation-succeeded b 6',
    ]);
    expect(cloud.secondaryIPs(b.nicId)).toEqual([...ips].sort());
    const moved = cloud
      .nic(b.nicId)
      .properties.ipConfigurations.find((c) => c.properties.privateIPAddress === ips[0]);
    expect(moved?.properties.publicIPAddress?.id).toBe(world.publicIpId);
  });

  it('a failover of one node onto two is one POST for both new NICs: Azure runs one operation per NIC, and each move holds the old one', async () => {
    // The REST spec's own example (VirtualNetworkMoveIpConfigurations.json, 2025-09-01) moves nic1 -> nic2 and
    // nic3 -> nic4 in one request: each item names its source and its target, so one call can fill several NICs.
    const { a, b } = world.nodes;
    const { nicId: dNic, node: d } = gatewayVm('gw-m', '3');
    cloud.features.add('AllowMoveIpConfigurations');
    const provider = world.newProvider(FAST, 'moves-two');
    const ips = cloud.freeIPs(a.subnetId, 6);
    await provider.apply({ changes: ips.map((ip) => assign(ip, a.ref)) });
    cloud.clearLogs();
    const onto = (i: number) => (i % 2 ? d : b.ref);
    expect(await ok(provider.apply({ changes: ips.map((ip, i) => assign(ip, onto(i), a.ref)) }))).toEqual(
      Array(6).fill(true),
    );
    expect(mutating()).toEqual(['POST moveIpConfigurations 202']);
    const name = (nic: string) => (nic === a.nicId ? 'a' : nic === b.nicId ? 'b' : 'd');
    expect(cloud.events.map((e) => `${e.kind} ${name(e.nic)} ${e.secondaryIPs.length}`).sort()).toEqual([
      'move-accepted a 0',
      'move-accepted b 3',
      'move-accepted d 3',
      'operation-succeeded a 0',
      'operation-succeeded b 3',
      'operation-succeeded d 3',
    ]);
    expect(cloud.secondaryIPs(b.nicId)).toEqual(ips.filter((_, i) => i % 2 === 0).sort());
    expect(cloud.secondaryIPs(dNic)).toEqual(ips.filter((_, i) => i % 2 === 1).sort());
    expect(cloud.secondaryIPs(a.nicId)).toEqual([]);
  });

  it('without the feature: the first move is refused SubscriptionNotRegisteredForFeature and done as remove-then-add in the same apply; later moves do not ask again', async () => {
    const { a, b } = world.nodes;
    const provider = world.newProvider(FAST, 'no-moves');
    const [first, second] = cloud.freeIPs(a.subnetId, 2);
    await provider.apply({ changes: [assign(first!, a.ref), assign(second!, a.ref)] });
    cloud.clearLogs();
    expect(await ok(provider.apply({ changes: [assign(first!, b.ref, a.ref)] }))).toEqual([true]);
    expect(mutating()).toEqual(['POST moveIpConfigurations 400', 'PUT gw-a-nic 200', 'PUT gw-b-nic 200']);
    cloud.clearLogs();
    expect(await ok(provider.apply({ changes: [assign(second!, b.ref, a.ref)] }))).toEqual([true]);
    expect(mutating()).toEqual(['PUT gw-a-nic 200', 'PUT gw-b-nic 200']);
    expect(cloud.secondaryIPs(a.nicId)).toEqual([]);
    expect(cloud.secondaryIPs(b.nicId)).toEqual([first, second].sort());
  });

  it('the emulator refuses a move without the feature in the words Azure uses for Microsoft.Network features', async () => {
    const { a, b } = world.nodes;
    const [ip] = cloud.freeIPs(a.subnetId, 1);
    cloud.addIpConfiguration(a.nicId, 'x', ip!);
    const refused = await armFailure(
      network.virtualNetworks
        .moveIpConfigurations(RG, 'vnet-1', {
          moveIpConfigurationItems: [
            {
              sourceIpConfiguration: { id: `${a.nicId}/ipConfigurations/x` },
              targetIpConfiguration: { id: `${b.nicId}/ipConfigurations/x` },
            },
          ],
        })
        .pollUntilDone(),
    );
    // hashicorp/terraform-provider-azurerm#429 quotes this answer for Microsoft.Network/AllowSecureVnets.
    expect(refused).toMatchObject({ statusCode: 400, code: 'SubscriptionNotRegisteredForFeature' });
    expect(refused.message).toContain('Microsoft.Network/AllowMoveIpConfigurations');
    expect(cloud.secondaryIPs(a.nicId)).toEqual([ip]);
  });
});

describe('a VM deleted while its NIC survives (Compute deleteOption: Detach)', () => {
  /** A gateway VM whose NIC outlives it, holding an egress IP. */
  async function detachedHolder(provider: CloudProvider) {
    const { vmId, nicId, node } = gatewayVm('gw-d', '1', 'Detach');
    const [ip] = cloud.freeIPs(world.nodes.a.subnetId, 1);
    expect(await ok(provider.apply({ changes: [assign(ip!, node)] }))).toEqual([true]);
    cloud.deleteVm(vmId);
    cloud.clearLogs();
    return { node, nicId, ip: ip! };
  }

  it('the move onto a new node succeeds: the IP is taken off the detached NIC (it failed PrivateIPAddressIsAllocated, terminal, before)', async () => {
    const provider = world.newProvider(FAST, 'detached');
    const { node, nicId, ip } = await detachedHolder(provider);
    expect(cloud.nic(nicId).properties['virtualMachine']).toBeUndefined();
    const result = await provider.apply({ changes: [assign(ip, world.nodes.b.ref, node)] });
    expect(result.outcomes).toMatchObject([{ ok: true }]);
    expect(cloud.secondaryIPs(nicId)).toEqual([]);
    expect(cloud.secondaryIPs(world.nodes.b.nicId)).toEqual([ip]);
    expect(mutating()).toEqual([
      'PUT gw-b-nic 400', // PrivateIPAddressIsAllocated, naming the detached NIC's ipConfiguration
      `PUT ${nicId.split('/').at(-1)} 200`,
      'PUT gw-b-nic 200',
    ]);
  });

  it('with the one-operation move, the IP is moved off the detached NIC', async () => {
    cloud.features.add('AllowMoveIpConfigurations');
    const provider = world.newProvider(FAST, 'detached-moves');
    // Learn that the feature is there (a move between live nodes).
    const { a, b } = world.nodes;
    const [probe] = cloud.freeIPs(a.subnetId, 1);
    await provider.apply({ changes: [assign(probe!, a.ref)] });
    await provider.apply({ changes: [assign(probe!, b.ref, a.ref)] });
    const { node, nicId, ip } = await detachedHolder(provider);
    expect(await ok(provider.apply({ changes: [assign(ip, world.nodes.c.ref, node)] }))).toEqual([false]);
    cloud.clearLogs();
    expect(await ok(provider.apply({ changes: [assign(ip, a.ref, node)] }))).toEqual([true]);
    expect(mutating()).toEqual(['PUT gw-a-nic 400', 'POST moveIpConfigurations 202']);
    expect(cloud.secondaryIPs(nicId)).toEqual([]);
    expect(cloud.secondaryIPs(a.nicId)).toEqual([ip]);
  });

  it("another installation's IP on a detached NIC stays terminal", async () => {
    const { node, ip } = await detachedHolder(world.newProvider(FAST, 'someone-else'));
    const result = await world.newProvider(FAST, 'detached').apply({
      changes: [assign(ip, world.nodes.b.ref, node)],
    });
    expect(result.outcomes).toMatchObject([
      { ok: false, error: { kind: 'terminal', code: 'PrivateIPAddressIsAllocated' } },
    ]);
  });
});

describe('operations as Azure runs them', () => {
  it('NRP answers Retry-After on writes and polls, which the SDK poller follows; the provider polls at its own interval', async () => {
    const { a } = world.nodes;
    cloud.retryAfterSeconds = 2;
    cloud.operationPolls = Number.POSITIVE_INFINITY;
    cloud.operationMaxMs = 200;
    const nic = await network.networkInterfaces.get(RG, 'gw-a-nic');
    const [viaSdk, viaProvider] = cloud.freeIPs(a.subnetId, 2);
    let started = performance.now();
    await network.networkInterfaces
      .createOrUpdate(
        RG,
        'gw-a-nic',
        withConfigs(nic, {
          name: 'sdk',
          privateIPAddress: viaSdk,
          privateIPAllocationMethod: 'Static',
          subnet: { id: a.subnetId },
          applicationSecurityGroups: nic.ipConfigurations?.[0]?.applicationSecurityGroups,
        }),
        { updateIntervalInMs: 5 },
      )
      .pollUntilDone();
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_900);
    started = performance.now();
    expect(await ok(world.provider.apply({ changes: [assign(viaProvider!, a.ref)] }))).toEqual([true]);
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(cloud.secondaryIPs(a.nicId)).toEqual([viaSdk, viaProvider].sort());
  });

  it('AnotherOperationInProgress that arrives as a Failed operation (not a 409) is retried as a conflict', async () => {
    const { a } = world.nodes;
    const [ip] = cloud.freeIPs(a.subnetId, 1);
    cloud.failNextOperations(1, 'AnotherOperationInProgress');
    expect(await ok(world.provider.apply({ changes: [assign(ip!, a.ref)] }))).toEqual([true]);
    expect(cloud.events.map((e) => e.kind)).toEqual([
      'put-accepted',
      'operation-failed',
      'put-accepted',
      'operation-succeeded',
    ]);
    expect(cloud.secondaryIPs(a.nicId)).toEqual([ip]);
    // When it persists beyond the retries, the outcome says what happened (another writer on the NIC): a
    // conflict with Azure's code, not a generic failed operation.
    const [other] = cloud.freeIPs(a.subnetId, 1);
    cloud.failNextOperations(3, 'AnotherOperationInProgress');
    const brief = world.newProvider({ ...FAST, retry: { ...FAST.retry, retries: 2 } }, 'brief');
    expect((await brief.apply({ changes: [assign(other!, a.ref)] })).outcomes).toMatchObject([
      { ok: false, error: { kind: 'conflict', code: 'AnotherOperationInProgress' } },
    ]);
    expect(cloud.secondaryIPs(a.nicId)).toEqual([ip]);
  });

  it('a failed operation does not take an IP back from a NIC that took it meanwhile: the NIC is left Failed without it', async () => {
    const { a, b } = world.nodes;
    const [ip] = cloud.freeIPs(a.subnetId, 1);
    cloud.addIpConfiguration(a.nicId, 'moving', ip!);
    cloud.operationPolls = Number.POSITIVE_INFINITY;
    cloud.operationMaxMs = 300;
    cloud.failNextOperations(1);
    const onA = await network.networkInterfaces.get(RG, 'gw-a-nic');
    const removal = network.networkInterfaces.createOrUpdate(
      RG,
      'gw-a-nic',
      { ...onA, ipConfigurations: onA.ipConfigurations?.filter((c) => c.name !== 'moving') },
      { updateIntervalInMs: 20 },
    );
    await removal.submitted();
    cloud.addIpConfiguration(b.nicId, 'took-it', ip!);
    expect((await armFailure(removal.pollUntilDone())).message).toContain(
      'long-running operation has failed',
    );
    expect(cloud.secondaryIPs(a.nicId)).toEqual([]);
    expect(cloud.nic(a.nicId).properties.provisioningState).toBe('Failed');
    expect(cloud.secondaryIPs(b.nicId)).toEqual([ip]);
    // The provider waits out only an Updating NIC: its next write puts the Failed one right.
    const [next] = cloud.freeIPs(a.subnetId, 1);
    cloud.operationMaxMs = 2_000;
    cloud.operationPolls = 1;
    expect(await ok(world.provider.apply({ changes: [assign(next!, a.ref)] }))).toEqual([true]);
    expect(cloud.nic(a.nicId).properties.provisioningState).toBe('Succeeded');
    expect(cloud.secondaryIPs(a.nicId)).toEqual([next]);
    expect(cloud.secondaryIPs(b.nicId)).toEqual([ip]);
  });

  it('refuses two ipConfigurations of one name (InvalidRequestFormat, DuplicateResourceName) and Static without an address (PrivateIPAddressMissing)', async () => {
    const { a } = world.nodes;
    const nic = await network.networkInterfaces.get(RG, 'gw-a-nic');
    const asgs = nic.ipConfigurations?.[0]?.applicationSecurityGroups;
    const [x, y] = cloud.freeIPs(a.subnetId, 2);
    const config = (name: string, ip?: string) => ({
      name,
      privateIPAllocationMethod: 'Static',
      subnet: { id: a.subnetId },
      applicationSecurityGroups: asgs,
      ...(ip ? { privateIPAddress: ip } : {}),
    });
    const put = (body: NetworkInterface) =>
      network.networkInterfaces
        .createOrUpdate(RG, 'gw-a-nic', body, { updateIntervalInMs: 1 })
        .pollUntilDone();
    // Azure/migAz#181 shows NRP's answer for duplicate child names.
    const duplicate = await armFailure(put(withConfigs(nic, config('twice', x), config('twice', y))));
    expect(duplicate).toMatchObject({ statusCode: 400, code: 'InvalidRequestFormat' });
    // The cause is in error.details, which the SDK's error does not keep: read it at the emulator.
    const wire = cloud.nic(a.nicId);
    const twice = (ip: string) => ({
      name: 'twice',
      properties: { privateIPAddress: ip, privateIPAllocationMethod: 'Static', subnet: { id: a.subnetId } },
    });
    wire.properties.ipConfigurations.push(twice(x!), twice(y!));
    expect(() => cloud.putNic(a.nicId, wire, undefined)).toThrow(
      expect.objectContaining({ details: [expect.objectContaining({ code: 'DuplicateResourceName' })] }),
    );
    // hashicorp/terraform-provider-azurerm#15265 quotes this one.
    const noAddress = await armFailure(put(withConfigs(nic, config('static'))));
    expect(noAddress).toMatchObject({ statusCode: 400, code: 'PrivateIPAddressMissing' });
    expect(cloud.secondaryIPs(a.nicId)).toEqual([]);
  });

  it('a conditional PUT to a NIC deleted meanwhile is 412 (not 404) and does not create it; the provider re-reads and reports notFound', async () => {
    const { vmId, nicId } = cloud.addVm({
      resourceGroup: RG,
      name: 'gw-short-lived',
      location: 'westeurope',
      subnetId: world.nodes.a.subnetId,
      primaryIP: cloud.freeIPs(world.nodes.a.subnetId, 1)[0]!,
    });
    const node: NodeRef = { name: 'gw-short-lived', providerID: `azure://${vmId}` };
    const [ip] = cloud.freeIPs(world.nodes.a.subnetId, 1);
    cloud.beforeNextPut(() => cloud.deleteNic(nicId));
    const result = await world.provider.apply({ changes: [assign(ip!, node)] });
    expect(result.outcomes).toMatchObject([{ ok: false, error: { kind: 'notFound' } }]);
    expect(mutating()).toEqual(['PUT gw-short-lived-nic 412']);
    expect(cloud.hasNic(nicId)).toBe(false);
  });
});
