/**
 * Example-based tests of the scheduler: each reason a user can see, failback, cloud allocations, and the
 * plan-to-changes table.
 */
import { describe, expect, it } from 'vitest';
import type { NodeRef } from '../provider/contract.ts';
import { gatewaySlice } from './gateway-slice.ts';
import { planChanges } from './plan-changes.ts';
import { schedule } from './schedule.ts';
import type { GatewayInput, NodeInput, PolicyInput, SchedulerInput } from './types.ts';

const node = (name: string, zone: string, subnet: string, extra: Partial<NodeInput> = {}): NodeInput => ({
  name,
  zone,
  subnets: [subnet],
  capacity: 10,
  healthy: true,
  ...extra,
});
const gateway = (extra: Partial<GatewayInput> = {}): GatewayInput => ({
  name: 'gw',
  pool: ['10.0.1.10-10.0.1.13', '10.0.2.10-10.0.2.13'],
  cloudAllocatedIPs: [],
  failback: false,
  nodes: ['a1', 'a2', 'b1'],
  ...extra,
});
const policy = (name: string, extra: Partial<PolicyInput> = {}): PolicyInput => ({
  key: `EgressPolicy/ns/${name}`,
  gateway: 'gw',
  createdAt: '2026-01-01T00:00:00Z',
  allocated: [],
  count: 1,
  ...extra,
});
const world = (extra: Partial<SchedulerInput> = {}): SchedulerInput => ({
  nodes: [node('a1', 'za', '10.0.1.0/24'), node('a2', 'za', '10.0.1.0/24'), node('b1', 'zb', '10.0.2.0/24')],
  gateways: [gateway()],
  policies: [],
  current: new Map(),
  ...extra,
});

describe('schedule', () => {
  it("places a policy's IPs in different zones", () => {
    const plan = schedule(world({ policies: [policy('p', { count: 2 })] }));
    expect(plan.unplaced).toEqual([]);
    expect(plan.placements.map((p) => [p.ip, p.node])).toEqual([
      ['10.0.1.10', 'a1'],
      ['10.0.2.10', 'b1'],
    ]);
  });

  it("refuses an explicit IP outside the gateway's pool", () => {
    const plan = schedule(world({ policies: [policy('p', { count: undefined, egressIPs: ['10.0.9.9'] })] }));
    expect(plan.placements).toEqual([]);
    expect(plan.unplaced).toEqual([
      expect.objectContaining({
        reason: 'IPOutsideGatewayPool',
        ip: '10.0.9.9',
        message: expect.stringContaining('10.0.9.9 is not in the IPs of EgressGateway "gw"'),
      }),
    ]);
  });

  it('gives a contested explicit IP that neither policy holds to the older one', () => {
    const plan = schedule(
      world({
        policies: [
          policy('young', { count: undefined, egressIPs: ['10.0.1.11'], createdAt: '2026-02-01T00:00:00Z' }),
          policy('old', { count: undefined, egressIPs: ['10.0.1.11'], createdAt: '2026-01-01T00:00:00Z' }),
        ],
      }),
    );
    expect(plan.placements.map((p) => p.policy)).toEqual(['EgressPolicy/ns/old']);
    expect(plan.unplaced).toEqual([
      expect.objectContaining({
        policy: 'EgressPolicy/ns/young',
        reason: 'IPInUse',
        message: expect.stringContaining(
          'asked for by EgressPolicy ns/old of EgressGateway "gw", which is older',
        ),
      }),
    ]);
  });

  it('leaves a held IP with its holder, even when an older policy asks for it', () => {
    const held = { allocated: ['10.0.1.11'], heldSince: new Map([['10.0.1.11', '2026-03-01T00:00:00Z']]) };
    for (const holder of [
      policy('holder', {
        count: undefined,
        egressIPs: ['10.0.1.11'],
        createdAt: '2026-02-01T00:00:00Z',
        ...held,
      }),
      policy('holder', { count: 1, createdAt: '2026-02-01T00:00:00Z', ...held }),
    ]) {
      const plan = schedule(
        world({
          policies: [
            holder,
            policy('older', {
              key: 'ClusterEgressPolicy/older',
              count: undefined,
              egressIPs: ['10.0.1.11'],
              createdAt: '2026-01-01T00:00:00Z',
            }),
          ],
          current: new Map([['10.0.1.11', 'a1']]),
        }),
      );
      expect(plan.placements).toEqual([
        { ip: '10.0.1.11', policy: 'EgressPolicy/ns/holder', gateway: 'gw', node: 'a1' },
      ]);
      expect(plan.unplaced).toEqual([
        expect.objectContaining({
          policy: 'ClusterEgressPolicy/older',
          ip: '10.0.1.11',
          reason: 'IPInUse',
          message: expect.stringContaining(
            'is held by EgressPolicy ns/holder of EgressGateway "gw" (since 2026-03-01T00:00:00Z)',
          ),
        }),
      ]);
    }
  });

  it('of two policies that both hold an IP, leaves it with the one that has held it longer', () => {
    const holds = (since: string) => ({
      count: undefined,
      egressIPs: ['10.0.1.11'],
      allocated: ['10.0.1.11'],
      heldSince: new Map([['10.0.1.11', since]]),
    });
    const plan = schedule(
      world({
        policies: [
          policy('first', { ...holds('2026-03-01T00:00:00Z'), createdAt: '2026-02-01T00:00:00Z' }),
          policy('second', { ...holds('2026-03-02T00:00:00Z'), createdAt: '2026-01-01T00:00:00Z' }),
        ],
        current: new Map([['10.0.1.11', 'a2']]),
      }),
    );
    expect(plan.placements.map((p) => [p.policy, p.node])).toEqual([['EgressPolicy/ns/first', 'a2']]);
    expect(plan.unplaced.map((u) => [u.policy, u.reason])).toEqual([['EgressPolicy/ns/second', 'IPInUse']]);
  });

  it("hands out no IP the cloud reserves in its subnet, nor a node's own address; explicit ones say why", () => {
    const input = world({
      gateways: [gateway({ pool: ['10.0.1.0/24', '10.0.1.255'], nodes: ['a1', 'a2'] })],
      subnetReserved: { first: 4, last: 1 },
      unavailableIPs: new Map([
        ['10.0.1.4', { reason: 'IPReserved' as const, message: '10.0.1.4 is the address of node a1' }],
      ]),
      policies: [
        policy('count', { count: 3 }),
        policy('edge', { count: undefined, egressIPs: ['10.0.1.2', '10.0.1.255', '10.0.1.254'] }),
        policy('node', { count: undefined, egressIPs: ['10.0.1.4'] }),
      ],
    });
    const plan = schedule(input);
    expect(plan.placements.map((p) => p.ip)).toEqual(['10.0.1.254', '10.0.1.5', '10.0.1.6', '10.0.1.7']);
    expect(plan.unplaced.map((u) => [u.ip, u.reason])).toEqual([
      ['10.0.1.2', 'IPReserved'],
      ['10.0.1.255', 'IPReserved'],
      ['10.0.1.4', 'IPReserved'],
    ]);
    expect(plan.unplaced[0]?.message).toContain('in subnet 10.0.1.0/24 (its first 4 and last 1)');
    expect(plan.unplaced[2]?.message).toBe('10.0.1.4 is the address of node a1');
  });

  it('drops a held IP that became unusable from a count policy and gives it a fresh one', () => {
    const plan = schedule(
      world({
        gateways: [gateway({ pool: ['10.0.1.10-10.0.1.13'], nodes: ['a1', 'a2'] })],
        unavailableIPs: new Map([['10.0.1.10', { reason: 'IPReserved' as const, message: 'a node' }]]),
        policies: [policy('p', { allocated: ['10.0.1.10'] })],
      }),
    );
    expect(plan.unplaced).toEqual([]);
    expect(plan.placements.map((p) => p.ip)).toEqual(['10.0.1.11']);
  });

  it('hands out only the families the dataplane programs; an explicit IPv6 IP says why', () => {
    const nodes = [node('v1', 'za', '2600:1f18::/64'), node('a1', 'za', '10.0.1.0/24')];
    const plan = schedule(
      world({
        nodes,
        families: new Set([4]),
        gateways: [gateway({ pool: ['2600:1f18::100/120', '10.0.1.10'], nodes: ['v1', 'a1'] })],
        policies: [
          policy('p', { count: 2 }),
          policy('v6', { count: undefined, egressIPs: ['2600:1f18::101'] }),
        ],
      }),
    );
    expect(plan.placements.map((p) => p.ip)).toEqual(['10.0.1.10']);
    expect(plan.unplaced.map((u) => [u.policy, u.reason])).toEqual([
      ['EgressPolicy/ns/v6', 'IPv6NotSupported'],
      ['EgressPolicy/ns/p', 'PoolExhausted'],
    ]);
    expect(plan.unplaced[0]?.message).toContain('programs IPv4 egress IPs only');
  });

  it("refuses a family the gateway's provider cannot place, saying why; the policy's other family is served", () => {
    const dualSubnets = { subnets: ['10.0.1.0/24', '2600:1f18::/64'] };
    const nodes = [node('d1', 'za', '', dualSubnets), node('d2', 'zb', '', dualSubnets)];
    const why = 'provider gcp places IPv4 egress IPs only (GCP alias IP ranges carry IPv4 only)';
    const plan = schedule(
      world({
        nodes,
        families: new Set([4]),
        refusedFamilies: new Map([[6, why]]),
        gateways: [gateway({ pool: ['10.0.1.10-10.0.1.19', '2600:1f18::100/120'], nodes: ['d1', 'd2'] })],
        policies: [
          policy('dual', { count: 1, families: [4, 6], allocated: ['2600:1f18::100'] }),
          policy('v6', { count: undefined, egressIPs: ['2600:1f18::101'] }),
        ],
      }),
    );
    // No IPv6 IP is handed out, not even the one the dual-stack policy held.
    expect(plan.placements.map((p) => [p.policy, p.ip])).toEqual([['EgressPolicy/ns/dual', '10.0.1.10']]);
    expect(plan.unplaced.map((u) => [u.policy, u.ip, u.reason])).toEqual([
      ['EgressPolicy/ns/dual', undefined, 'IPv6NotSupported'],
      ['EgressPolicy/ns/v6', '2600:1f18::101', 'IPv6NotSupported'],
    ]);
    expect(plan.unplaced[1]?.message).toBe(
      `2600:1f18::101 is an IPv6 address, and ${why}, so pods using it would lose their traffic; use an IPv4 address`,
    );
    expect(plan.unplaced[0]?.message).toBe(
      `EgressGateway "gw" hands out no IPv6 IPs: ${why}; spec.ipFamilies asks for 1 of them, so the policy's IPv6 traffic to its destinations is dropped (never sent from the node's own address): drop IPv6 from spec.ipFamilies, or use a gateway whose provider places IPv6`,
    );
  });

  it('says when the pool is exhausted', () => {
    const plan = schedule(world({ policies: [policy('big', { count: 10 })] }));
    expect(plan.placements).toHaveLength(8);
    expect(plan.unplaced).toEqual([
      expect.objectContaining({ reason: 'PoolExhausted', message: expect.stringContaining('2 of 10') }),
    ]);
  });

  it("says when an IP is in no subnet of the gateway's nodes", () => {
    const plan = schedule(world({ gateways: [gateway({ pool: ['192.168.7.7'] })], policies: [policy('p')] }));
    expect(plan.unplaced).toEqual([
      expect.objectContaining({
        reason: 'NoSubnet',
        ip: '192.168.7.7',
        message: expect.stringContaining('10.0.1.0/24'),
      }),
    ]);
  });

  it('says when no healthy node can hold an IP', () => {
    const nodes = world().nodes.map((n) => (n.zone === 'zb' ? { ...n, healthy: false } : n));
    const plan = schedule(
      world({ nodes, gateways: [gateway({ pool: ['10.0.2.10'] })], policies: [policy('p')] }),
    );
    expect(plan.unplaced).toEqual([
      expect.objectContaining({ reason: 'NoEligibleNode', message: expect.stringContaining('b1') }),
    ]);
  });

  it('says when eligible nodes are full, counting capacity across gateways and maxIPsPerNode', () => {
    const nodes = [
      node('a1', 'za', '10.0.1.0/24', { capacity: 1 }),
      node('a2', 'za', '10.0.1.0/24', { capacity: 5 }),
    ];
    const plan = schedule(
      world({
        nodes,
        gateways: [gateway({ nodes: ['a1', 'a2'], maxIPsPerNode: 1 })],
        policies: [policy('p', { count: 3 })],
      }),
    );
    expect(plan.placements.map((p) => p.node).sort()).toEqual(['a1', 'a2']);
    expect(plan.unplaced).toEqual([expect.objectContaining({ reason: 'CapacityExceeded' })]);
  });

  it('reports a policy whose gateway does not exist', () => {
    const plan = schedule(world({ policies: [policy('p', { gateway: 'nope' })] }));
    expect(plan.unplaced).toEqual([
      expect.objectContaining({ reason: 'GatewayNotFound', message: 'EgressGateway "nope" does not exist' }),
    ]);
  });

  it("keeps a policy's current IPs (sticky allocation)", () => {
    const plan = schedule(
      world({
        policies: [policy('p', { allocated: ['10.0.1.12'] })],
        current: new Map([['10.0.1.12', 'a2']]),
      }),
    );
    expect(plan.placements).toEqual([
      { ip: '10.0.1.12', policy: 'EgressPolicy/ns/p', gateway: 'gw', node: 'a2' },
    ]);
  });

  it('gives a leaving node no new IP, and moves its IPs to the nodes that stay', () => {
    const leaving = world().nodes.map((n) => (n.name === 'a1' ? { ...n, leaving: true } : n));
    const fresh = schedule(world({ nodes: leaving, policies: [policy('p', { count: 2 })] }));
    expect(fresh.placements.map((p) => p.node)).toEqual(['a2', 'b1']);
    const held = schedule(
      world({
        nodes: leaving,
        policies: [policy('p', { count: 2, allocated: ['10.0.1.10', '10.0.2.10'] })],
        current: new Map([
          ['10.0.1.10', 'a1'],
          ['10.0.2.10', 'b1'],
        ]),
      }),
    );
    expect([...held.placements].sort((x, y) => x.ip.localeCompare(y.ip))).toEqual([
      { ip: '10.0.1.10', policy: 'EgressPolicy/ns/p', gateway: 'gw', node: 'a2', previousNode: 'a1' },
      { ip: '10.0.2.10', policy: 'EgressPolicy/ns/p', gateway: 'gw', node: 'b1' },
    ]);
    expect(held.stranded).toEqual([]);
  });

  it('keeps an IP on a leaving node that no other node can take, and says why; a fresh IP never goes there', () => {
    // b1 is the only node in zone b: when it leaves, its IP has nowhere to go (AWS subnets are zonal).
    const nodes = world().nodes.map((n) => (n.name === 'b1' ? { ...n, leaving: true } : n));
    const plan = schedule(
      world({
        nodes,
        policies: [
          policy('p', { count: undefined, egressIPs: ['10.0.2.10'], allocated: ['10.0.2.10'] }),
          policy('q', { count: undefined, egressIPs: ['10.0.2.11'] }),
        ],
        current: new Map([['10.0.2.10', 'b1']]),
      }),
    );
    expect(plan.placements).toEqual([
      { ip: '10.0.2.10', policy: 'EgressPolicy/ns/p', gateway: 'gw', node: 'b1' },
    ]);
    expect(plan.stranded).toEqual([
      expect.objectContaining({
        ip: '10.0.2.10',
        node: 'b1',
        message: expect.stringContaining('is leaving'),
      }),
    ]);
    expect(plan.unplaced).toEqual([
      expect.objectContaining({
        ip: '10.0.2.11',
        reason: 'NoEligibleNode',
        message: expect.stringContaining(
          'none that takes new egress IPs: b1 leaving or refused by the cloud',
        ),
      }),
    ]);
    // With room elsewhere in the subnet, it moves.
    const a2InB = [...nodes, node('b2', 'zb', '10.0.2.0/24')];
    const moved = schedule(
      world({
        nodes: a2InB,
        gateways: [gateway({ nodes: ['a1', 'a2', 'b1', 'b2'] })],
        policies: [policy('p', { count: undefined, egressIPs: ['10.0.2.10'], allocated: ['10.0.2.10'] })],
        current: new Map([['10.0.2.10', 'b1']]),
      }),
    );
    expect(moved.placements.map((p) => [p.node, p.previousNode])).toEqual([['b2', 'b1']]);
    expect(moved.stranded).toEqual([]);
  });

  it('avoids a node the Cluster Autoscaler may take for new IPs, but moves nothing off it', () => {
    const nodes = world().nodes.map((n) => (n.name === 'a1' ? { ...n, avoid: true } : n));
    const fresh = schedule(
      world({ nodes, gateways: [gateway({ nodes: ['a1', 'a2'] })], policies: [policy('p', { count: 2 })] }),
    );
    // a2 takes the first; the second still prefers a2 over the avoided a1 (fewest of the policy comes after).
    expect(fresh.placements.map((p) => p.node)).toEqual(['a2', 'a2']);
    const held = schedule(
      world({
        nodes,
        policies: [policy('p', { allocated: ['10.0.1.10'] })],
        current: new Map([['10.0.1.10', 'a1']]),
      }),
    );
    expect(held.placements.map((p) => p.node)).toEqual(['a1']);
    // The only node with room: it takes new IPs after all.
    const full = world().nodes.map((n) =>
      n.name === 'a1' ? { ...n, avoid: true } : n.name === 'a2' ? { ...n, capacity: 0 } : n,
    );
    const only = schedule(
      world({ nodes: full, gateways: [gateway({ nodes: ['a1', 'a2'] })], policies: [policy('p')] }),
    );
    expect(only.placements.map((p) => p.node)).toEqual(['a1']);
  });

  it('rebalances onto a recovered node only with failback', () => {
    const current = new Map([
      ['10.0.1.10', 'a1'],
      ['10.0.1.11', 'a1'],
    ]);
    const policies = [policy('p', { count: 2, allocated: ['10.0.1.10', '10.0.1.11'] })];
    const gws = (failback: boolean) => [gateway({ failback, nodes: ['a1', 'a2'] })];
    const without = schedule(world({ current, policies, gateways: gws(false) }));
    expect(without.placements.map((p) => p.node)).toEqual(['a1', 'a1']);
    const withFailback = schedule(world({ current, policies, gateways: gws(true) }));
    expect(withFailback.placements.map((p) => p.node).sort()).toEqual(['a1', 'a2']);
    expect(withFailback.placements.find((p) => p.node === 'a2')?.previousNode).toBe('a1');
  });

  it('with failback, a failed node moves only its own IPs, even when where they land tips the balance', () => {
    // One subnet over three zones. The failed node's IP goes where its policy has the fewest IPs in the zone
    // (c1), which leaves c1 with 3 IPs of the gateway and a1 with 1: failback then evens the loads by moving
    // the IP that is moving anyway, never p's, which no failure touched.
    const nodes = [
      node('a1', 'za', '10.0.1.0/24'),
      node('a2', 'za', '10.0.1.0/24'),
      node('b1', 'zb', '10.0.1.0/24', { healthy: false }),
      node('c1', 'zc', '10.0.1.0/24'),
    ];
    const current = new Map([
      ['10.0.1.10', 'c1'],
      ['10.0.1.11', 'b1'],
      ['10.0.1.12', 'a1'],
      ['10.0.1.13', 'c1'],
      ['10.0.1.14', 'a2'],
    ]);
    const plan = schedule(
      world({
        nodes,
        gateways: [
          gateway({ failback: true, pool: ['10.0.1.10-10.0.1.19'], nodes: ['a1', 'a2', 'b1', 'c1'] }),
        ],
        policies: [
          policy('p', { allocated: ['10.0.1.10'] }),
          policy('q', { count: 4, allocated: ['10.0.1.11', '10.0.1.12', '10.0.1.13', '10.0.1.14'] }),
        ],
        current,
      }),
    );
    const moved = plan.placements.filter((p) => p.node !== current.get(p.ip));
    expect(moved.map((p) => [p.ip, p.previousNode])).toEqual([['10.0.1.11', 'b1']]);
    expect(moved[0]!.node).toBe('a1');
  });

  it('asks the cloud for cloudAllocated IPs, spread over zones', () => {
    const plan = schedule(world({ gateways: [gateway({ pool: [], cloudAllocated: 3 })] }));
    expect(plan.allocations).toEqual([
      { gateway: 'gw', node: 'a1', count: 1 },
      { gateway: 'gw', node: 'a2', count: 1 },
      { gateway: 'gw', node: 'b1', count: 1 },
    ]);
  });

  it('hands out cloud-allocated IPs like pool IPs', () => {
    const plan = schedule(
      world({
        gateways: [gateway({ pool: [], cloudAllocated: 1, cloudAllocatedIPs: ['10.0.2.77'] })],
        policies: [policy('p')],
      }),
    );
    expect(plan.allocations).toEqual([]);
    expect(plan.placements).toEqual([expect.objectContaining({ ip: '10.0.2.77', node: 'b1' })]);
  });

  it('takes no fresh IP the cloud said something else holds, but still tries an explicit request for it', () => {
    const heldInCloud = new Set(['10.0.1.10']);
    const fresh = schedule(world({ policies: [policy('p')], heldInCloud }));
    expect(fresh.placements.map((p) => p.ip)).toEqual(['10.0.1.11']);
    const asked = schedule(world({ policies: [policy('q', { egressIPs: ['10.0.1.10'] })], heldInCloud }));
    expect(asked.placements.map((p) => p.ip)).toEqual(['10.0.1.10']);
  });

  it('handles IPv6 pools', () => {
    const nodes = [node('v1', 'za', '2600:1f18::/64'), node('v2', 'zb', '2600:1f18::/64')];
    const plan = schedule(
      world({
        nodes,
        gateways: [gateway({ pool: ['2600:1f18::100/120'], nodes: ['v1', 'v2'] })],
        policies: [policy('p', { count: 2, families: [6] })],
      }),
    );
    expect(plan.placements.map((p) => [p.ip, p.node])).toEqual([
      ['2600:1f18::100', 'v1'],
      ['2600:1f18::101', 'v2'],
    ]);
  });

  it('gives a count policy count IPs of each of its families, IPv4 alone by default, and says which family is missing', () => {
    const dualSubnets = { subnets: ['10.0.1.0/24', '2600:1f18::/64'] };
    const nodes = [node('d1', 'za', '', dualSubnets), node('d2', 'zb', '', dualSubnets)];
    const dualPool = gateway({ pool: ['10.0.1.10-10.0.1.19', '2600:1f18::100/120'], nodes: ['d1', 'd2'] });
    const plan = schedule(
      world({
        nodes,
        gateways: [dualPool],
        policies: [
          policy('v4', { count: 1 }),
          policy('dual', { count: 1, families: [4, 6] }),
          policy('v6x2', { count: 2, families: [6] }),
        ],
      }),
    );
    const ips = (key: string) => plan.placements.filter((p) => p.policy.endsWith(`/${key}`)).map((p) => p.ip);
    const families = (key: string) =>
      ips(key)
        .map((ip) => (ip.includes(':') ? 6 : 4))
        .sort();
    expect(families('v4')).toEqual([4]);
    expect(families('dual')).toEqual([4, 6]);
    expect(families('v6x2')).toEqual([6, 6]);
    expect(new Set(plan.placements.map((p) => p.ip)).size).toBe(5);
    expect(plan.unplaced).toEqual([]);

    // Sticky per family: a dual-stack policy keeps the IP it holds of each family, against an older asker.
    const held = schedule(
      world({
        nodes,
        gateways: [dualPool],
        policies: [
          policy('dual', { count: 1, families: [4, 6], allocated: ['10.0.1.15', '2600:1f18::1a0'] }),
          policy('older', { egressIPs: ['2600:1f18::1a0'], createdAt: '2000-01-01T00:00:00Z' }),
        ],
      }),
    );
    expect(
      held.placements
        .filter((p) => p.policy.endsWith('/dual'))
        .map((p) => p.ip)
        .sort(),
    ).toEqual(['10.0.1.15', '2600:1f18::1a0']);
    expect(held.unplaced).toEqual([expect.objectContaining({ reason: 'IPInUse', ip: '2600:1f18::1a0' })]);

    const v4Only = schedule(
      world({
        nodes,
        gateways: [gateway({ pool: ['10.0.1.10-10.0.1.19'], nodes: ['d1', 'd2'] })],
        policies: [policy('dual', { count: 1, families: [4, 6] })],
      }),
    );
    expect(v4Only.placements.map((p) => p.ip)).toEqual(['10.0.1.10']);
    expect(v4Only.unplaced).toEqual([
      expect.objectContaining({
        reason: 'PoolExhausted',
        message: expect.stringContaining('has no IPv6 IPs'),
      }),
    ]);
  });
});

describe('gatewaySlice', () => {
  const twoGateways = (asking: Partial<PolicyInput>) =>
    world({
      gateways: [
        gateway({ name: 'gw1', pool: ['10.0.1.10-10.0.1.13'], nodes: ['a1'] }),
        gateway({ name: 'gw2', pool: ['10.0.1.12-10.0.1.15'], nodes: ['a2'] }),
      ],
      policies: [
        policy('holder', {
          gateway: 'gw1',
          count: undefined,
          egressIPs: ['10.0.1.12'],
          allocated: ['10.0.1.12'],
          heldSince: new Map([['10.0.1.12', '2026-03-01T00:00:00Z']]),
          createdAt: '2026-02-01T00:00:00Z',
        }),
        policy('asking', { gateway: 'gw2', createdAt: '2026-01-01T00:00:00Z', ...asking }),
      ],
      current: new Map([['10.0.1.12', 'a1']]),
    });

  it("makes the IPs another gateway's policies own unavailable, naming the holder, and leaves them out of the cloud's placement", () => {
    const slice = gatewaySlice(twoGateways({ count: undefined, egressIPs: ['10.0.1.12'] }), 'gw2');
    expect(slice.unavailableIPs?.get('10.0.1.12')).toEqual({
      reason: 'IPInUse',
      message: expect.stringContaining('10.0.1.12 is held by EgressPolicy ns/holder of EgressGateway "gw1"'),
    });
    expect([...slice.current]).toEqual([]);
    const plan = schedule(slice);
    expect(plan.placements).toEqual([]);
    expect(plan.unplaced).toEqual([
      expect.objectContaining({ policy: 'EgressPolicy/ns/asking', ip: '10.0.1.12', reason: 'IPInUse' }),
    ]);
    expect(planChanges(plan, slice.current, new Map())).toEqual([]);

    // The holder's own gateway keeps it where it is.
    const own = gatewaySlice(twoGateways({ count: undefined, egressIPs: ['10.0.1.12'] }), 'gw1');
    expect(schedule(own).placements).toEqual([
      { ip: '10.0.1.12', policy: 'EgressPolicy/ns/holder', gateway: 'gw1', node: 'a1' },
    ]);
  });

  it("gives another gateway's count policy none of the IPs the holder owns, nor fresh IPs of the shared part", () => {
    // gw1 sorts first: of the IPs both pools hold (.12, .13), it alone hands out fresh ones.
    const plan = schedule(gatewaySlice(twoGateways({ count: 4 }), 'gw2'));
    expect(plan.placements.map((p) => p.ip)).toEqual(['10.0.1.14', '10.0.1.15']);
    expect(plan.unplaced.map((u) => u.reason)).toEqual(['PoolExhausted']);
    const first = twoGateways({ gateway: 'gw1', count: 2 });
    expect(schedule(gatewaySlice(first, 'gw1')).placements.map((p) => p.ip)).toEqual([
      '10.0.1.12',
      '10.0.1.10',
      '10.0.1.11',
    ]);
  });
});

describe('planChanges', () => {
  const refs = new Map<string, NodeRef>(
    ['a1', 'a2', 'b1'].map((n) => [n, { name: n, providerID: `inmemory:///z/${n}` }]),
  );
  it('turns the difference between cloud and plan into assign, move, release and allocate', () => {
    const changes = planChanges(
      {
        placements: [
          { ip: '10.0.1.10', policy: 'p', gateway: 'gw', node: 'a1' },
          { ip: '10.0.1.11', policy: 'p', gateway: 'gw', node: 'a2', previousNode: 'a1' },
          { ip: '10.0.1.12', policy: 'p', gateway: 'gw', node: 'a1' },
        ],
        unplaced: [],
        stranded: [],
        allocations: [{ gateway: 'gw', node: 'b1', count: 2 }],
      },
      new Map([
        ['10.0.1.10', 'a1'],
        ['10.0.1.11', 'a1'],
        ['10.0.1.99', 'a2'],
      ]),
      refs,
    );
    expect(changes).toEqual([
      { kind: 'assign', ip: '10.0.1.11', node: refs.get('a2'), from: refs.get('a1') },
      { kind: 'assign', ip: '10.0.1.12', node: refs.get('a1') },
      { kind: 'release', ip: '10.0.1.99', node: refs.get('a2') },
      { kind: 'allocate', count: 2, node: refs.get('b1') },
    ]);
  });

  it('carries the paired public address on every assign, and pairs an IP in place whose pairing the cloud lacks', () => {
    const placements = [
      { ip: '10.0.1.10', policy: 'p', gateway: 'gw', node: 'a1' },
      { ip: '10.0.1.11', policy: 'p', gateway: 'gw', node: 'a2', previousNode: 'a1' },
      { ip: '10.0.1.12', policy: 'p', gateway: 'gw', node: 'a1' },
      { ip: '10.0.1.13', policy: 'p', gateway: 'gw', node: 'a1' },
    ];
    const changes = planChanges(
      { placements, unplaced: [], stranded: [], allocations: [] },
      new Map([
        ['10.0.1.10', 'a1'],
        ['10.0.1.11', 'a1'],
        ['10.0.1.13', 'a1'],
      ]),
      refs,
      new Set(),
      {
        wanted: new Map([
          ['10.0.1.10', 'eipalloc-10'],
          ['10.0.1.11', 'eipalloc-11'],
          ['10.0.1.12', 'eipalloc-12'],
          ['10.0.1.13', 'eipalloc-13'],
        ]),
        current: new Map([
          ['10.0.1.11', 'eipalloc-11'],
          ['10.0.1.13', 'eipalloc-13'],
        ]),
      },
    );
    expect(changes).toEqual([
      { kind: 'assign', ip: '10.0.1.10', node: refs.get('a1'), publicAddress: 'eipalloc-10' },
      {
        kind: 'assign',
        ip: '10.0.1.11',
        node: refs.get('a2'),
        from: refs.get('a1'),
        publicAddress: 'eipalloc-11',
      },
      { kind: 'assign', ip: '10.0.1.12', node: refs.get('a1'), publicAddress: 'eipalloc-12' },
    ]);
  });
});
