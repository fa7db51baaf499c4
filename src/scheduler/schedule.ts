/**
 * @module
 * The scheduler: a pure function from gateways, nodes, policies and the current placement to the
 * desired placement of every egress IP. Same input, same plan; no I/O, no clock, no randomness.
 *
 * ```
 *  policies ──► 1. allocate ──► (policy, ip) ──► 2. place ──► (ip, node) ──► 3. cloud allocations
 *               sticky first:       │                sticky first:
 *               status IPs kept,    │                an IP stays on its node while the node is healthy,
 *               explicit IPs        │                in the gateway, in the IP's subnet and within limits;
 *               checked, then       │                the rest go to the eligible node with the fewest IPs
 *               fresh IPs spread    │                of the same policy (then zone, then gateway load)
 *               over subnets        ▼
 *                              Unplaced {reason, message} for what cannot be served
 * ```
 *
 * | situation                              | result                                       |
 * |----------------------------------------|----------------------------------------------|
 * | explicit IP not in the gateway's pool  | Unplaced IPOutsideGatewayPool                |
 * | explicit IP held by an older policy    | Unplaced IPInUse (older policy wins)         |
 * | pool has no free IP for `count`        | Unplaced PoolExhausted                       |
 * | IP in no subnet of the gateway's nodes | Unplaced NoSubnet                            |
 * | no healthy node in the IP's subnet     | Unplaced NoEligibleNode                      |
 * | healthy nodes in the subnet all full   | Unplaced CapacityExceeded                    |
 * | node fails                             | only its IPs move                            |
 * | node recovers                          | nothing moves, unless the gateway has failback|
 */
import { REASON } from '../api/conditions.ts';
import { familyOfValidIp, ipToBigInt } from '../net/ip.ts';
import { IpPool } from './ip-pool.ts';
import { SubnetIndex } from './subnet-index.ts';
import type {
  Allocation,
  GatewayInput,
  NodeInput,
  Placement,
  PolicyInput,
  SchedulePlan,
  SchedulerInput,
  Unplaced,
} from './types.ts';

/** An IP allocated to a policy, awaiting placement. */
interface Allocated {
  readonly ip: string;
  readonly value: bigint;
  readonly policy: string;
  readonly gateway: GatewayState;
}

/** A node's working state: its input and the IPs planned on it so far (all gateways). */
interface NodeState {
  readonly input: NodeInput;
  load: number;
}

/** A node as a member of one gateway: the IPs of that gateway planned on it so far. */
interface Member {
  readonly node: NodeState;
  load: number;
}

/** Per-gateway working state. */
interface GatewayState {
  readonly input: GatewayInput;
  readonly pool: IpPool;
  readonly index: SubnetIndex;
  /** Healthy nodes of the gateway. */
  readonly healthy: ReadonlySet<string>;
  /** Member nodes by name. */
  readonly members: ReadonlyMap<string, Member>;
  /** Most IPs of this gateway on one node. */
  readonly max: number;
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const byPolicyOrder = (a: PolicyInput, b: PolicyInput): number =>
  compare(a.createdAt, b.createdAt) || compare(a.key, b.key);
const bump = <K>(map: Map<K, number>, key: K, by = 1): void => {
  map.set(key, (map.get(key) ?? 0) + by);
};

/** Computes the desired placement. See the module comment for the rules. */
export function schedule(input: SchedulerInput): SchedulePlan {
  const nodes = new Map<string, NodeState>(input.nodes.map((n) => [n.name, { input: n, load: 0 }]));
  const unplaced: Unplaced[] = [];
  const gateways = new Map<string, GatewayState>();
  for (const gw of [...input.gateways].sort((a, b) => compare(a.name, b.name))) {
    const members = [...new Set(gw.nodes)].filter((n) => nodes.has(n)).sort();
    gateways.set(gw.name, {
      input: gw,
      pool: new IpPool(gw.pool, gw.cloudAllocatedIPs),
      index: new SubnetIndex(members.map((n) => nodes.get(n)!.input)),
      healthy: new Set(members.filter((n) => nodes.get(n)!.input.healthy)),
      members: new Map(members.map((n) => [n, { node: nodes.get(n)!, load: 0 }])),
      max: gw.maxIPsPerNode ?? Number.POSITIVE_INFINITY,
    });
  }

  const allocated = allocate(input, gateways, unplaced);
  const placements = place(input, allocated, unplaced);
  rebalance(input, gateways, placements);
  const allocations = cloudAllocations(gateways);

  return { placements, unplaced, allocations };
}

const cmpBig = (a: string, b: string): number => {
  const x = ipToBigInt(a);
  const y = ipToBigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

/** Step 1: which IPs each policy gets. */
function allocate(
  input: SchedulerInput,
  gateways: Map<string, GatewayState>,
  unplaced: Unplaced[],
): Allocated[] {
  const owner = new Map<string, string>(); // ip -> policy key
  for (const ip of input.unavailableIPs ?? []) owner.set(ip, 'a policy of another gateway');
  const result: Allocated[] = [];
  const policies = [...input.policies].sort(byPolicyOrder);
  const byPolicy = new Map<string, Allocated[]>();
  const take = (ip: string, value: bigint, policy: PolicyInput, gateway: GatewayState) => {
    owner.set(ip, policy.key);
    const a: Allocated = { ip, value, policy: policy.key, gateway };
    result.push(a);
    const list = byPolicy.get(policy.key);
    if (list) list.push(a);
    else byPolicy.set(policy.key, [a]);
  };

  // Pass 1: explicit IPs, and IPs the policy already has (sticky), oldest policy first.
  const wanting: { policy: PolicyInput; gateway: GatewayState; missing: number }[] = [];
  for (const policy of policies) {
    const gateway = gateways.get(policy.gateway);
    if (!gateway) {
      unplaced.push({
        policy: policy.key,
        gateway: policy.gateway,
        reason: REASON.GatewayNotFound,
        message: `EgressGateway "${policy.gateway}" does not exist`,
      });
      continue;
    }
    if (policy.egressIPs) {
      for (const ip of [...new Set(policy.egressIPs)]) {
        const value = ipToBigInt(ip);
        if (!gateway.pool.contains(ip, value)) {
          unplaced.push({
            policy: policy.key,
            gateway: policy.gateway,
            ip,
            reason: REASON.IPOutsideGatewayPool,
            message: `${ip} is not in the IPs of EgressGateway "${policy.gateway}" (spec.ips: ${gateway.input.pool.join(', ') || 'none'})`,
          });
        } else if (owner.has(ip)) {
          unplaced.push({
            policy: policy.key,
            gateway: policy.gateway,
            ip,
            reason: REASON.IPInUse,
            message: `${ip} is already used by ${owner.get(ip)}, which is older`,
          });
        } else take(ip, value, policy, gateway);
      }
      continue;
    }
    const count = policy.count ?? 1;
    let kept = 0;
    for (const ip of policy.allocated) {
      if (kept >= count) break;
      const value = ipToBigInt(ip);
      if (owner.has(ip) || !gateway.pool.contains(ip, value)) continue;
      take(ip, value, policy, gateway);
      kept++;
    }
    if (kept < count) wanting.push({ policy, gateway, missing: count - kept });
  }

  // Pass 2: fresh IPs for policies short of their count, spread over the subnets that have healthy nodes.
  const taken = (ip: string) => owner.has(ip);
  // Per gateway, once: which ranges lie in a subnet that has a healthy node (those are tried first).
  const healthyRanges = new Map<GatewayState, boolean[]>();
  for (const { policy, gateway, missing } of wanting) {
    const ranges = gateway.pool.ranges;
    let rangeHealthy = healthyRanges.get(gateway);
    if (!rangeHealthy) {
      rangeHealthy = ranges.map((range) =>
        gateway.index.groups.some(
          (g) =>
            g.range.family === range.family &&
            range.start >= g.range.start &&
            range.start <= g.range.end &&
            g.nodes.some((n) => gateway.healthy.has(n)),
        ),
      );
      healthyRanges.set(gateway, rangeHealthy);
    }
    // IPs of this policy per range, so its fresh IPs spread over ranges (subnets, hence zones on AWS).
    const perRange = ranges.map(() => 0);
    for (const a of byPolicy.get(policy.key) ?? []) {
      const i = ranges.findIndex(
        (r) => r.family === familyOfValidIp(a.ip) && a.value >= r.start && a.value <= r.end,
      );
      if (i >= 0) perRange[i]!++;
    }
    const exhausted = ranges.map(() => false);
    let got = 0;
    while (got < missing) {
      let index = -1;
      for (let i = 0; i < ranges.length; i++) {
        if (exhausted[i]) continue;
        if (
          index < 0 ||
          (rangeHealthy[i] && !rangeHealthy[index]) ||
          (rangeHealthy[i] === rangeHealthy[index] && perRange[i]! < perRange[index]!)
        ) {
          index = i;
        }
      }
      if (index < 0) break;
      const free = gateway.pool.nextFree(index, taken);
      if (!free) {
        exhausted[index] = true;
        continue;
      }
      take(free.ip, free.value, policy, gateway);
      perRange[index]!++;
      got++;
    }
    if (got < missing) {
      unplaced.push({
        policy: policy.key,
        gateway: policy.gateway,
        reason: REASON.PoolExhausted,
        message: `EgressGateway "${policy.gateway}" has no free IP left (${gateway.pool.size()} in its pool); ${missing - got} of ${policy.count ?? 1} requested IPs are missing: add IPs to its spec.ips`,
      });
    }
  }
  return result;
}

/** Step 2: which node holds each allocated IP. */
function place(input: SchedulerInput, allocated: Allocated[], unplaced: Unplaced[]): Placement[] {
  // A policy's placed IPs, as members (a policy holds a handful, so scanning the list is cheapest).
  const policyMembers = new Map<string, Member[]>();
  const placements: Placement[] = [];

  const room = (m: Member, gateway: GatewayState): boolean =>
    m.node.load < m.node.input.capacity && m.load < gateway.max;
  const put = (a: Allocated, m: Member) => {
    m.node.load++;
    m.load++;
    const list = policyMembers.get(a.policy);
    if (list) list.push(m);
    else policyMembers.set(a.policy, [m]);
    const node = m.node.input.name;
    const previous = input.current.get(a.ip);
    placements.push(
      previous !== undefined && previous !== node
        ? { ip: a.ip, policy: a.policy, gateway: a.gateway.input.name, node, previousNode: previous }
        : { ip: a.ip, policy: a.policy, gateway: a.gateway.input.name, node },
    );
  };
  // Healthy candidate members per node list, computed once: most IPs share a handful of subnets.
  const healthyOf = new Map<readonly string[], Member[]>();
  const eligible = (a: Allocated): Member[] => {
    const all = a.gateway.index.nodesFor(a.ip, a.value);
    let healthy = healthyOf.get(all);
    if (!healthy) {
      healthy = all.filter((n) => a.gateway.healthy.has(n)).map((n) => a.gateway.members.get(n)!);
      healthyOf.set(all, healthy);
    }
    return healthy;
  };

  // Sticky pass: IPs stay where they are while their node is eligible and within limits. IPs are taken
  // in allocation order (oldest policy first), which is deterministic.
  const rest: Allocated[] = [];
  for (const a of allocated) {
    const current = input.current.get(a.ip);
    const m = current === undefined ? undefined : a.gateway.members.get(current);
    if (m && a.gateway.healthy.has(current!) && room(m, a.gateway) && eligible(a).includes(m)) put(a, m);
    else rest.push(a);
  }

  // Fresh pass: the eligible node with the fewest IPs of the policy, then of the policy in its zone,
  // then of the gateway, then in all; ties by name (candidates are sorted by name).
  for (const a of rest) {
    const candidates = eligible(a);
    const mine = policyMembers.get(a.policy) ?? [];
    let best: Member | undefined;
    let b0 = 0;
    let b1 = 0;
    let b2 = 0;
    let b3 = 0;
    for (const m of candidates) {
      if (!room(m, a.gateway)) continue;
      let s0 = 0;
      let s1 = 0;
      for (const other of mine) {
        if (other === m) s0++;
        if (other.node.input.zone === m.node.input.zone) s1++;
      }
      const s2 = m.load;
      const s3 = m.node.load;
      if (
        best === undefined ||
        s0 < b0 ||
        (s0 === b0 && (s1 < b1 || (s1 === b1 && (s2 < b2 || (s2 === b2 && s3 < b3)))))
      ) {
        best = m;
        b0 = s0;
        b1 = s1;
        b2 = s2;
        b3 = s3;
      }
    }
    if (best !== undefined) put(a, best);
    else
      unplaced.push(
        whyNotPlaced(
          a,
          candidates.map((m) => m.node.input.name),
        ),
      );
  }

  return placements;
}

const lexLess = (a: number[], b: number[]): boolean => {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
};

function whyNotPlaced(a: Allocated, healthyCandidates: readonly string[]): Unplaced {
  const gw = a.gateway.input.name;
  const base = { policy: a.policy, gateway: gw, ip: a.ip };
  const inSubnet = a.gateway.index.nodesFor(a.ip, a.value);
  if (inSubnet.length === 0) {
    const subnets = a.gateway.index.groups.map((g) => g.cidr);
    return {
      ...base,
      reason: REASON.NoSubnet,
      message: `${a.ip} is in no subnet of EgressGateway "${gw}"'s nodes (their subnets: ${subnets.join(', ') || 'none known'})`,
    };
  }
  if (healthyCandidates.length === 0) {
    return {
      ...base,
      reason: REASON.NoEligibleNode,
      message: `no healthy node of EgressGateway "${gw}" can hold ${a.ip} (nodes in its subnet: ${inSubnet.join(', ')}; none healthy)`,
    };
  }
  return {
    ...base,
    reason: REASON.CapacityExceeded,
    message: `every healthy node of EgressGateway "${gw}" that can hold ${a.ip} is full (${healthyCandidates.join(', ')}; interface capacity or maxIPsPerNode reached)`,
  };
}

/**
 * Failback: for gateways that ask for it, move IPs from their most loaded eligible node to the least
 * loaded one until loads differ by at most one. Only then do recovered nodes take IPs back. A donor gives
 * IPs that are moving this round anyway before IPs that stayed on it.
 */
function rebalance(
  input: SchedulerInput,
  gateways: Map<string, GatewayState>,
  placements: Placement[],
): void {
  for (const gw of gateways.values()) {
    if (!gw.input.failback) continue;
    const mine = placements.flatMap((p, i) => (p.gateway === gw.input.name ? [i] : []));
    const healthy = [...gw.healthy].sort().map((n) => gw.members.get(n)!);
    for (let guard = 0; guard < mine.length; guard++) {
      let moved = false;
      // The most loaded node gives one IP to the least loaded node that can hold it.
      const byLoad = [...healthy].sort(
        (x, y) => y.load - x.load || compare(x.node.input.name, y.node.input.name),
      );
      for (const donor of byLoad) {
        const donorName = donor.node.input.name;
        // IPs that move this round anyway (placed fresh on the donor) go first: moving one of them costs
        // nothing, while moving an IP that stayed would cut a flow that no failure touched.
        const stays = (i: number) => Number(input.current.get(placements[i]!.ip) === donorName);
        const ips = mine
          .filter((i) => placements[i]!.node === donorName)
          .sort((x, y) => stays(x) - stays(y) || cmpBig(placements[x]!.ip, placements[y]!.ip));
        for (const i of ips) {
          const p = placements[i]!;
          const target = gw.index
            .nodesFor(p.ip)
            .filter((n) => gw.healthy.has(n))
            .map((n) => gw.members.get(n)!)
            .filter((t) => t.load + 1 < donor.load && t.node.load < t.node.input.capacity && t.load < gw.max)
            .sort((x, y) => x.load - y.load || compare(x.node.input.name, y.node.input.name))[0];
          if (!target) continue;
          const to = target.node.input.name;
          const previous = input.current.get(p.ip);
          placements[i] =
            previous !== undefined && previous !== to
              ? { ip: p.ip, policy: p.policy, gateway: p.gateway, node: to, previousNode: previous }
              : { ip: p.ip, policy: p.policy, gateway: p.gateway, node: to };
          donor.load--;
          donor.node.load--;
          target.load++;
          target.node.load++;
          moved = true;
          break;
        }
        if (moved) break;
      }
      if (!moved) break;
    }
  }
}

/** Step 3: cloud allocations for `cloudAllocated` gateways, onto healthy nodes with room, spread over zones. */
function cloudAllocations(gateways: Map<string, GatewayState>): Allocation[] {
  const out: Allocation[] = [];
  for (const gw of gateways.values()) {
    let need = (gw.input.cloudAllocated ?? 0) - gw.input.cloudAllocatedIPs.length;
    if (need <= 0) continue;
    const perNode = new Map<string, number>();
    const perZone = new Map<string, number>();
    const healthy = [...gw.healthy].sort().map((n) => gw.members.get(n)!);
    while (need > 0) {
      let best: Member | undefined;
      let bestScore: number[] = [];
      for (const m of healthy) {
        const extra = perNode.get(m.node.input.name) ?? 0;
        const used = m.node.load + extra;
        const gwUsed = m.load + extra;
        if (used >= m.node.input.capacity || gwUsed >= gw.max) continue;
        const score = [perZone.get(m.node.input.zone) ?? 0, gwUsed, used];
        if (best === undefined || lexLess(score, bestScore)) {
          best = m;
          bestScore = score;
        }
      }
      if (!best) break;
      bump(perNode, best.node.input.name);
      bump(perZone, best.node.input.zone);
      need--;
    }
    for (const [node, count] of [...perNode.entries()].sort((x, y) => compare(x[0], y[0]))) {
      out.push({ gateway: gw.input.name, node, count });
    }
  }
  return out;
}
