/**
 * @module
 * AKS's default node pools (uniform scale sets) as gateway nodes, on the ARM emulator through the real SDKs:
 * egress IPs as /32 routes with next hop the node (docs/adr/0005). Asserts on the emulator's route tables.
 * Route table semantics from Microsoft.Network 2026-01-01 `routeTable.json` (`RoutePropertiesFormat`).
 */
import type { Agent } from 'node:https';
import type { NetworkManagementClient } from '@azure/arm-network';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Change } from '../../src/provider/contract.ts';
import type { AzureCloud } from '../emulators/azure/index.ts';
import { armFailure } from './arm-failure.ts';
import { addPoolNode, type ScaleSetWorld, startScaleSetWorld } from './scale-set-world.ts';
import { emulatorNetworkClient, FAST } from './world.ts';

let world: ScaleSetWorld;
let cloud: AzureCloud;
beforeAll(async () => {
  world = await startScaleSetWorld();
  cloud = world.emulator.cloud;
});
afterAll(async () => world?.close());
beforeEach(async () => {
  await world.reset();
  cloud.setIpForwarding(world.nodes.a.nicId, true);
  cloud.setIpForwarding(world.nodes.b.nicId, true);
});

const assign = (
  ip: string,
  node: keyof ScaleSetWorld['nodes'],
  from?: keyof ScaleSetWorld['nodes'],
): Change =>
  from
    ? { kind: 'assign', ip, node: world.nodes[node].ref, from: world.nodes[from].ref }
    : { kind: 'assign', ip, node: world.nodes[node].ref };
const hops = (tableId: string) => cloud.routes(tableId).map((r) => `${r.prefix}>${r.nextHop}`);

describe('azure provider on scale-set nodes (routes)', () => {
  it('moves 6 IPs with one route table write: every route points at the new node, none is ever missing', async () => {
    const { a, b } = world.nodes;
    const ips = await world.freeIPs(a.subnet, 6);
    await world.provider.apply({ changes: ips.map((ip) => assign(ip, 'a')) });
    cloud.clearLogs();
    const result = await world.provider.apply({ changes: ips.map((ip) => assign(ip, 'b', 'a')) });
    expect(result.outcomes.every((o) => o.ok)).toBe(true);
    expect(cloud.routeWrites.map((w) => w.nextHops)).toEqual([[a.nodeIP, b.nodeIP]]);
    expect(cloud.mutatingCalls).toBe(1);
    expect(hops(a.routeTableId)).toEqual(ips.map((ip) => `${ip}/32>${b.nodeIP}`));
    expect(cloud.routes(a.routeTableId).map((r) => r.name)).toEqual(
      ips.map((ip) => `cloudegress-conformance-${ip.replace(/\./g, '-')}`),
    );
  });

  it('a failover onto two nodes of the subnet is one route table write: their batches are coalesced', async () => {
    const { a, b } = world.nodes;
    const d = addPoolNode(world, '7', '10.2.0.7');
    const ips = await world.freeIPs(a.subnet, 10);
    await world.provider.apply({ changes: ips.map((ip) => assign(ip, 'a')) });
    cloud.clearLogs();
    const result = await world.provider.apply({
      changes: ips.map((ip, i): Change => ({ kind: 'assign', ip, node: i % 2 ? b.ref : d, from: a.ref })),
    });
    expect(result.outcomes.every((o) => o.ok)).toBe(true);
    expect(cloud.routeWrites.map((w) => w.nextHops)).toEqual([[a.nodeIP, b.nodeIP, '10.2.0.7']]);
    expect(hops(a.routeTableId)).toEqual(ips.map((ip, i) => `${ip}/32>${i % 2 ? b.nodeIP : '10.2.0.7'}`));
  });

  it('writes the same routes into the further tables the gateway names (return traffic from a peered VNet)', async () => {
    const { a } = world.nodes;
    const provider = world.newProvider(FAST, { routeTables: world.peeredTableId });
    const [ip] = await world.freeIPs(a.subnet, 1);
    expect((await provider.apply({ changes: [assign(ip!, 'a')] })).outcomes[0]?.ok).toBe(true);
    expect(hops(world.peeredTableId)).toEqual([`${ip}/32>${a.nodeIP}`]);
    await provider.apply({ changes: [assign(ip!, 'b', 'a')] });
    expect(hops(world.peeredTableId)).toEqual([`${ip}/32>${world.nodes.b.nodeIP}`]);
    expect(hops(a.routeTableId)).toEqual([`${ip}/32>${world.nodes.b.nodeIP}`]);
  });

  it('nodes of two subnets that each name the table of the other write both tables in one order (no deadlock)', async () => {
    const { a, c } = world.nodes;
    // a's tables are [rt-aks, rt-other], c's [rt-other, rt-aks]: written in each node's own order, a's batch would
    // wait in rt-aks for c's plan while c's waits in rt-other for a's.
    const provider = world.newProvider(FAST, { routeTables: `${a.routeTableId},${c.routeTableId}` });
    const [ipA] = await world.freeIPs(a.subnet, 1);
    const [ipC] = await world.freeIPs(c.subnet, 1);
    const result = await Promise.race([
      provider.apply({ changes: [assign(ipA!, 'a'), assign(ipC!, 'c')] }),
      new Promise<never>((_, fail) => setTimeout(() => fail(new Error('the apply hung')), 10_000)),
    ]);
    expect(result.outcomes.map((o) => o.ok)).toEqual([true, true]);
    expect(hops(a.routeTableId)).toEqual([`${ipA}/32>${a.nodeIP}`, `${ipC}/32>${c.nodeIP}`]);
    expect(hops(c.routeTableId)).toEqual([`${ipA}/32>${a.nodeIP}`, `${ipC}/32>${c.nodeIP}`]);
  });

  it('refuses to route to a node whose NIC does not forward (enableIPForwarding off), writing nothing', async () => {
    const { a } = world.nodes;
    cloud.setIpForwarding(a.nicId, false);
    const [ip] = await world.freeIPs(a.subnet, 1);
    const result = await world.provider.apply({ changes: [assign(ip!, 'a')] });
    expect(result.outcomes).toMatchObject([
      { ok: false, error: { kind: 'terminal', code: 'IPForwardingDisabled' } },
    ]);
    expect(cloud.mutatingCalls).toBe(0);
  });

  it("refuses an IP of the nodes' own subnet (Azure hands those to NICs) and a public address", async () => {
    const [ip] = await world.freeIPs(world.nodes.a.subnet, 1);
    const result = await world.provider.apply({
      changes: [
        assign('10.2.0.77', 'a'),
        { kind: 'assign', ip: ip!, node: world.nodes.a.ref, publicAddress: '/subscriptions/x/pip' },
      ],
    });
    expect(result.outcomes).toMatchObject([
      { ok: false, error: { kind: 'terminal', code: 'IPInNodeSubnet' } },
      { ok: false, error: { kind: 'terminal', code: 'PublicAddressUnsupported' } },
    ]);
    expect(cloud.mutatingCalls).toBe(0);
  });

  it('a subnet without a route table fails the node terminal, saying what to associate', async () => {
    cloud.addVnet({
      resourceGroup: 'rg-bare',
      name: 'v',
      location: 'westeurope',
      addressPrefixes: ['10.9.0.0/16'],
    });
    const subnetId = cloud.addSubnet({
      resourceGroup: 'rg-bare',
      vnet: 'v',
      name: 's',
      prefix: '10.9.0.0/24',
    });
    const vmId = cloud.addScaleSetInstance({
      resourceGroup: 'rg-bare',
      scaleSet: 'pool',
      instanceId: '0',
      location: 'westeurope',
      subnetId,
      primaryIP: '10.9.0.4',
    });
    await expect(
      world.provider.describeNode({ name: 'bare', providerID: `azure://${vmId}` }),
    ).rejects.toMatchObject({
      kind: 'terminal',
      code: 'NoRouteTable',
      message: expect.stringContaining('az network vnet subnet update --route-table'),
    });
  });
});

describe('route tables on the emulator (routeTable.json 2026-01-01)', () => {
  let agent: Agent;
  let network: NetworkManagementClient;
  beforeAll(() => {
    ({ agent, network } = emulatorNetworkClient(world.emulator));
  });
  afterAll(() => agent?.destroy());

  it('refuses a next hop address without VirtualAppliance, a VirtualAppliance without one, and a stale If-Match', async () => {
    const table = await network.routeTables.get('mc-aks-nodes', 'rt-aks');
    const put = (routes: object[], etag?: string) =>
      network.routeTables
        .createOrUpdate(
          'mc-aks-nodes',
          'rt-aks',
          { ...table, routes },
          { updateIntervalInMs: 1, ...(etag ? { requestOptions: { headers: { 'If-Match': etag } } } : {}) },
        )
        .pollUntilDone();
    // "Next hop values are only allowed in routes where the next hop type is VirtualAppliance."
    expect(
      await armFailure(
        put([
          { name: 'x', addressPrefix: '10.2.9.1/32', nextHopType: 'Internet', nextHopIpAddress: '10.2.0.4' },
        ]),
      ),
    ).toMatchObject({ statusCode: 400 });
    expect(
      await armFailure(put([{ name: 'x', addressPrefix: '10.2.9.1/32', nextHopType: 'VirtualAppliance' }])),
    ).toMatchObject({ statusCode: 400 });
    await put(
      [
        {
          name: 'x',
          addressPrefix: '10.2.9.1/32',
          nextHopType: 'VirtualAppliance',
          nextHopIpAddress: '10.2.0.4',
        },
      ],
      table.etag,
    );
    expect(await armFailure(put([], table.etag))).toMatchObject({
      statusCode: 412,
      code: 'PreconditionFailedEtagMismatch',
    });
    expect(hops(world.nodes.a.routeTableId)).toEqual(['10.2.9.1/32>10.2.0.4']);
  });
});
