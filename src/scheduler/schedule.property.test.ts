/**
 * Property tests of the scheduler's invariants (fast-check, 1,000 runs each).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cidrContains } from '../net/ip.ts';
import { gatewaySlice } from './gateway-slice.ts';
import { displayKey, REFUSALS } from './ownership.ts';
import { schedule } from './schedule.ts';
import type { GatewayInput, NodeInput, PolicyInput, SchedulePlan, SchedulerInput } from './types.ts';

const RUNS = { numRuns: 1000 };
const ZONES = ['zone-a', 'zone-b', 'zone-c'];
/** Zonal subnets (as on AWS) plus one regional subnet shared by every zone (as on GCP and Azure). */
const ZONAL = ['10.0.0.0/24', '10.0.1.0/24', '10.0.2.0/24'];
const REGIONAL = '10.1.0.0/22';

const nodeArb = (i: number) =>
  fc
    .record({
      zone: fc.integer({ min: 0, max: 2 }),
      regional: fc.boolean(),
      capacity: fc.integer({ min: 0, max: 6 }),
      healthy: fc.boolean(),
    })
    .map(
      ({ zone, regional, capacity, healthy }): NodeInput => ({
        name: `node-${String(i).padStart(2, '0')}`,
        zone: ZONES[zone]!,
        subnets: [regional ? REGIONAL : ZONAL[zone]!],
        capacity,
        healthy,
      }),
    );

const poolEntries = fc.subarray(
  [
    '10.0.0.10-10.0.0.14',
    '10.0.1.16/29',
    '10.0.2.5',
    '10.0.2.6',
    '10.1.0.100-10.1.0.110',
    '10.9.0.1',
    '10.0.1.40-10.0.1.41',
  ],
  { minLength: 1 },
);

/** A random world: nodes, 1–3 gateways over random node subsets, up to 8 policies. */
const worldArb = fc
  .integer({ min: 1, max: 10 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => nodeArb(i))))
  .chain((nodes) =>
    fc
      .array(
        fc.record({
          nodes: fc.subarray(nodes.map((n) => n.name)),
          pool: poolEntries,
          maxIPsPerNode: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
          failback: fc.boolean(),
        }),
        { minLength: 1, maxLength: 3 },
      )
      .chain((gws) => {
        const gateways: GatewayInput[] = gws.map((g, i) => ({
          name: `gw-${i}`,
          pool: g.pool,
          cloudAllocatedIPs: [],
          failback: g.failback,
          nodes: g.nodes,
          ...(g.maxIPsPerNode ? { maxIPsPerNode: g.maxIPsPerNode } : {}),
        }));
        const policyArb = (i: number) =>
          fc
            .record({
              gateway: fc.integer({ min: 0, max: gateways.length - 1 }),
              count: fc.integer({ min: 1, max: 4 }),
              explicit: fc.option(
                fc.subarray(['10.0.0.11', '10.0.1.17', '10.0.2.5', '10.1.0.101', '10.9.0.1', '10.5.5.5'], {
                  minLength: 1,
                }),
                {
                  nil: undefined,
                },
              ),
              age: fc.integer({ min: 0, max: 5 }),
            })
            .map(
              ({ gateway, count, explicit, age }): PolicyInput => ({
                key: `EgressPolicy/ns/p-${i}`,
                gateway: `gw-${gateway}`,
                createdAt: `2026-01-0${age + 1}T00:00:00Z`,
                allocated: [],
                ...(explicit ? { egressIPs: explicit } : { count }),
              }),
            );
        return fc
          .integer({ min: 0, max: 8 })
          .chain((p) => fc.tuple(...Array.from({ length: p }, (_, i) => policyArb(i))))
          .map((policies): SchedulerInput => ({ nodes, gateways, policies, current: new Map() }));
      }),
  );

/**
 * The next round's input, as the controller builds it: the plan becomes the cloud's truth and the policies'
 * status, where an IP a policy holds (placed, or allocated but not placed; a refused request is no hold) keeps
 * the `since` it had, or gets `round`.
 */
function carryOver(
  input: SchedulerInput,
  plan: Pick<SchedulePlan, 'placements' | 'unplaced'>,
  nodes = input.nodes,
  round = '2026-06-01T00:00:00Z',
): SchedulerInput {
  const allocatedBy = new Map<string, string[]>();
  const hold = (policy: string, ip: string) =>
    allocatedBy.set(policy, [...(allocatedBy.get(policy) ?? []), ip]);
  for (const p of plan.placements) hold(p.policy, p.ip);
  for (const u of plan.unplaced) if (u.ip && !REFUSALS.has(u.reason)) hold(u.policy, u.ip);
  return {
    ...input,
    nodes,
    policies: input.policies.map((p) => {
      const allocated = allocatedBy.get(p.key) ?? [];
      const since = new Map(allocated.map((ip) => [ip, p.heldSince?.get(ip) ?? round]));
      return { ...p, allocated, heldSince: since };
    }),
    current: new Map(plan.placements.map((p) => [p.ip, p.node])),
  };
}

/** One round as the controller runs it: each gateway planned alone on its slice of the same input. */
function sliced(input: SchedulerInput): Pick<SchedulePlan, 'placements' | 'unplaced'>[] {
  return input.gateways.map((g) => schedule(gatewaySlice(input, g.name)));
}

const placementMap = (plan: SchedulePlan) => new Map(plan.placements.map((p) => [p.ip, p.node]));

// 1,000 runs per property take 1–4 s on a quiet machine; a loaded one must not fail them by the 5 s default.
describe('scheduler invariants', { timeout: 60_000 }, () => {
  it('never plans an IP on two nodes, nor gives one IP to two policies', () => {
    fc.assert(
      fc.property(worldArb, (input) => {
        const plan = schedule(input);
        const ips = plan.placements.map((p) => p.ip);
        expect(new Set(ips).size).toBe(ips.length);
      }),
      RUNS,
    );
  });

  it('keeps per-node capacity and maxIPsPerNode', () => {
    fc.assert(
      fc.property(worldArb, (input) => {
        const plan = schedule(input);
        const perNode = new Map<string, number>();
        const perGatewayNode = new Map<string, number>();
        for (const p of plan.placements) {
          perNode.set(p.node, (perNode.get(p.node) ?? 0) + 1);
          const key = `${p.gateway}/${p.node}`;
          perGatewayNode.set(key, (perGatewayNode.get(key) ?? 0) + 1);
        }
        for (const a of plan.allocations) perNode.set(a.node, (perNode.get(a.node) ?? 0) + a.count);
        for (const node of input.nodes)
          expect(perNode.get(node.name) ?? 0).toBeLessThanOrEqual(node.capacity);
        for (const gw of input.gateways) {
          for (const node of gw.nodes) {
            expect(perGatewayNode.get(`${gw.name}/${node}`) ?? 0).toBeLessThanOrEqual(
              gw.maxIPsPerNode ?? Infinity,
            );
          }
        }
      }),
      RUNS,
    );
  });

  it("places an IP only on a healthy node of its gateway with an interface in the IP's subnet", () => {
    fc.assert(
      fc.property(worldArb, (input) => {
        const plan = schedule(input);
        const nodes = new Map(input.nodes.map((n) => [n.name, n]));
        for (const p of plan.placements) {
          const node = nodes.get(p.node)!;
          expect(node.healthy).toBe(true);
          expect(input.gateways.find((g) => g.name === p.gateway)!.nodes).toContain(p.node);
          expect(node.subnets.some((s) => cidrContains(s, p.ip))).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('accounts for every requested IP: placed, or unplaced with a reason and a message', () => {
    fc.assert(
      fc.property(worldArb, (input) => {
        const plan = schedule(input);
        for (const policy of input.policies) {
          const placed = plan.placements.filter((p) => p.policy === policy.key).length;
          const missing = plan.unplaced.filter((u) => u.policy === policy.key);
          for (const u of missing) expect(u.message.length).toBeGreaterThan(10);
          if (policy.egressIPs) {
            expect(placed + missing.filter((u) => u.ip).length).toBe(new Set(policy.egressIPs).size);
          } else {
            const unplacedIPs = missing.filter((u) => u.ip).length;
            const exhausted = missing.some((u) => u.reason === 'PoolExhausted');
            if (!exhausted) expect(placed + unplacedIPs).toBe(policy.count ?? 1);
            else expect(placed + unplacedIPs).toBeLessThan(policy.count ?? 1);
          }
        }
      }),
      RUNS,
    );
  });

  it("spreads a policy's IPs across nodes and zones when capacity allows", () => {
    // One regional subnet, ample capacity, all healthy: a policy's IPs differ by at most one per node and per zone.
    const arb = fc
      .tuple(
        fc.integer({ min: 2, max: 9 }),
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }),
      )
      .map(([n, counts]): SchedulerInput => {
        const nodes: NodeInput[] = Array.from({ length: n }, (_, i) => ({
          name: `node-${i}`,
          zone: ZONES[i % 3]!,
          subnets: [REGIONAL],
          capacity: 100,
          healthy: true,
        }));
        return {
          nodes,
          gateways: [
            {
              name: 'gw',
              pool: ['10.1.0.0/24'],
              cloudAllocatedIPs: [],
              failback: false,
              nodes: nodes.map((x) => x.name),
            },
          ],
          policies: counts.map((count, i) => ({
            key: `EgressPolicy/ns/p-${i}`,
            gateway: 'gw',
            count,
            createdAt: '2026-01-01T00:00:00Z',
            allocated: [],
          })),
          current: new Map(),
        };
      });
    fc.assert(
      fc.property(arb, (input) => {
        const plan = schedule(input);
        const zones = new Map(input.nodes.map((n) => [n.name, n.zone]));
        const usedZones = [...new Set(input.nodes.map((n) => n.zone))];
        for (const policy of input.policies) {
          const mine = plan.placements.filter((p) => p.policy === policy.key);
          expect(mine).toHaveLength(policy.count!);
          const perNode = input.nodes.map((n) => mine.filter((p) => p.node === n.name).length);
          expect(Math.max(...perNode) - Math.min(...perNode)).toBeLessThanOrEqual(1);
          const perZone = usedZones.map((z) => mine.filter((p) => zones.get(p.node) === z).length);
          expect(Math.max(...perZone) - Math.min(...perZone)).toBeLessThanOrEqual(1);
        }
      }),
      RUNS,
    );
  });

  it("moves only the failed node's IPs when one node fails (sticky, minimal moves)", () => {
    fc.assert(
      fc.property(worldArb, fc.nat(), (input, pick) => {
        const first = schedule(input);
        const healthy = input.nodes.filter((n) => n.healthy);
        fc.pre(healthy.length > 0);
        const failed = healthy[pick % healthy.length]!.name;
        const next = carryOver(
          input,
          first,
          input.nodes.map((n) => (n.name === failed ? { ...n, healthy: false } : n)),
        );
        const second = schedule(next);
        const after = placementMap(second);
        for (const p of first.placements) {
          if (p.node === failed) expect(after.get(p.ip)).not.toBe(failed);
          else expect(after.get(p.ip)).toBe(p.node);
        }
      }),
      RUNS,
    );
  });

  it('when a node starts leaving, nothing new lands on it and only its IPs move; an IP stays only with nowhere to go', () => {
    fc.assert(
      fc.property(worldArb, fc.nat(), (input, pick) => {
        const noFailback = { ...input, gateways: input.gateways.map((g) => ({ ...g, failback: false })) };
        const first = schedule(noFailback);
        const healthy = noFailback.nodes.filter((n) => n.healthy);
        fc.pre(healthy.length > 0);
        const leaving = healthy[pick % healthy.length]!.name;
        const nodes = noFailback.nodes.map((n) => (n.name === leaving ? { ...n, leaving: true } : n));
        const second = schedule(carryOver(noFailback, first, nodes));
        const after = placementMap(second);
        const stranded = new Set(second.stranded.map((s) => s.ip));
        for (const p of first.placements) {
          if (p.node !== leaving) expect(after.get(p.ip)).toBe(p.node);
          else if (after.get(p.ip) === leaving) expect(stranded.has(p.ip)).toBe(true);
        }
        const before = placementMap(first);
        for (const p of second.placements) {
          if (p.node === leaving) expect(before.get(p.ip)).toBe(leaving);
        }
        // A stranded IP had no other healthy node of its gateway in its subnet with room (loads only grow
        // after it was decided, without failback).
        const load = new Map<string, number>();
        const gwLoad = new Map<string, number>();
        for (const p of second.placements) {
          load.set(p.node, (load.get(p.node) ?? 0) + 1);
          gwLoad.set(`${p.gateway}/${p.node}`, (gwLoad.get(`${p.gateway}/${p.node}`) ?? 0) + 1);
        }
        for (const s of second.stranded) {
          const gw = noFailback.gateways.find((g) => g.name === s.gateway)!;
          for (const n of nodes) {
            if (n.name === leaving || !n.healthy || !gw.nodes.includes(n.name)) continue;
            if (!n.subnets.some((c) => cidrContains(c, s.ip))) continue;
            const full =
              (load.get(n.name) ?? 0) >= n.capacity ||
              (gwLoad.get(`${gw.name}/${n.name}`) ?? 0) >= (gw.maxIPsPerNode ?? Number.POSITIVE_INFINITY);
            expect(full).toBe(true);
          }
        }
      }),
      RUNS,
    );
  });

  it('does not fail back when a node recovers, unless the gateway asks for it', () => {
    fc.assert(
      fc.property(worldArb, fc.nat(), (input, pick) => {
        fc.pre(input.nodes.length > 0);
        const recovering = input.nodes[pick % input.nodes.length]!.name;
        const noFailback = { ...input, gateways: input.gateways.map((g) => ({ ...g, failback: false })) };
        const down = noFailback.nodes.map((n) => (n.name === recovering ? { ...n, healthy: false } : n));
        const first = schedule({ ...noFailback, nodes: down });
        const up = down.map((n) => (n.name === recovering ? { ...n, healthy: true } : n));
        const second = schedule(carryOver({ ...noFailback, nodes: down }, first, up));
        const after = placementMap(second);
        for (const p of first.placements) expect(after.get(p.ip)).toBe(p.node);
      }),
      RUNS,
    );
  });

  it('leaves every held IP with its holder, whoever else asks for it (older, other gateway, other kind)', () => {
    const newcomer = fc.record({
      pick: fc.nat(),
      gateway: fc.nat(),
      cluster: fc.boolean(),
    });
    fc.assert(
      fc.property(worldArb, fc.array(newcomer, { maxLength: 4 }), (input, asks) => {
        const first = schedule(input);
        fc.pre(first.placements.length > 0);
        const next = carryOver(input, first);
        const newcomers: PolicyInput[] = asks.map((a, i) => ({
          key: a.cluster ? `ClusterEgressPolicy/new-${i}` : `EgressPolicy/other/new-${i}`,
          gateway: input.gateways[a.gateway % input.gateways.length]!.name,
          egressIPs: [first.placements[a.pick % first.placements.length]!.ip],
          createdAt: '2025-01-01T00:00:00Z', // older than every holder
          allocated: [],
        }));
        const second = schedule({ ...next, policies: [...next.policies, ...newcomers] });
        const after = new Map(second.placements.map((p) => [p.ip, p]));
        for (const p of first.placements) {
          expect(after.get(p.ip)?.policy, `${p.ip} stays with ${p.policy}`).toBe(p.policy);
          if (!input.gateways.find((g) => g.name === p.gateway)!.failback)
            expect(after.get(p.ip)?.node).toBe(p.node);
        }
        for (const n of newcomers) {
          const ip = n.egressIPs![0]!;
          const holder = first.placements.find((p) => p.ip === ip)!;
          const refused = second.unplaced.find((u) => u.policy === n.key && u.ip === ip);
          expect(refused?.reason).toMatch(/^(IPInUse|IPOutsideGatewayPool)$/);
          if (refused?.reason === 'IPInUse') expect(refused.message).toContain(displayKey(holder.policy));
        }
      }),
      RUNS,
    );
  });

  it('never places one IP twice when each gateway is planned alone (overlapping pools), round after round', () => {
    fc.assert(
      fc.property(worldArb, fc.nat(), (input, pick) => {
        let state = input;
        for (let round = 0; round < 3; round++) {
          const plans = sliced(state);
          const placed = plans.flatMap((p) => p.placements.map((x) => x.ip));
          expect(new Set(placed).size, `round ${round}: ${placed.join(', ')}`).toBe(placed.length);
          const merged = {
            placements: plans.flatMap((p) => p.placements),
            unplaced: plans.flatMap((p) => p.unplaced),
          };
          // Between rounds a node fails, so IPs move while the other gateways keep theirs.
          const failed = state.nodes[pick % Math.max(1, state.nodes.length)]?.name;
          const nodes = state.nodes.map((n) =>
            round === 0 && n.name === failed ? { ...n, healthy: false } : n,
          );
          const next = carryOver(state, merged, nodes, `2026-06-0${round + 1}T00:00:00Z`);
          // No gateway's changes touch an IP another gateway's policy holds.
          for (const g of state.gateways) {
            const slice = gatewaySlice(next, g.name);
            for (const ip of slice.current.keys()) {
              const holder = merged.placements.find((p) => p.ip === ip);
              if (holder) expect(holder.gateway, `${g.name} sees ${ip} of ${holder.gateway}`).toBe(g.name);
            }
          }
          state = next;
        }
      }),
      RUNS,
    );
  });

  it('gives the same plan for the same input, whatever the order of its lists', () => {
    fc.assert(
      fc.property(worldArb, fc.nat(), (input, seed) => {
        const shuffle = <T>(xs: readonly T[]): T[] => {
          const out = [...xs];
          let s = seed + 1;
          for (let i = out.length - 1; i > 0; i--) {
            s = (s * 1103515245 + 12345) % 2 ** 31;
            const j = s % (i + 1);
            [out[i], out[j]] = [out[j]!, out[i]!];
          }
          return out;
        };
        const a = schedule(input);
        const b = schedule({
          ...input,
          nodes: shuffle(input.nodes),
          gateways: shuffle(input.gateways).map((g) => ({ ...g, nodes: shuffle(g.nodes) })),
          policies: shuffle(input.policies),
        });
        expect(b.placements).toEqual(a.placements);
        expect(b.allocations).toEqual(a.allocations);
        const key = (u: { policy: string; ip?: string; reason: string }) => `${u.policy}|${u.ip}|${u.reason}`;
        expect(b.unplaced.map(key).sort()).toEqual(a.unplaced.map(key).sort());
      }),
      RUNS,
    );
  });
});
