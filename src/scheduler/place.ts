/**
 * @module
 * Step 2 of the scheduler (schedule.ts): which node holds each allocated IP. Sticky first: an IP stays on its
 * node while the node is healthy, in the gateway, in the IP's subnet and within its limits; the rest go to the
 * eligible node with the fewest IPs of the same policy (then zone, then gateway load), avoiding nodes an
 * autoscaler may take. An IP on a leaving node is placed like a fresh one; when no other node can take it, it
 * stays where it is (`stranded`). Then failback, for the gateways that ask for it.
 */
import { REASON } from '../api/conditions.ts';
import { type Allocated, cmpBig, compare, type GatewayState, type Member } from './schedule-state.ts';
import type { Placement, SchedulerInput, Stranded, Unplaced } from './types.ts';

/** Step 2: which node holds each allocated IP. */
export function place(
  input: SchedulerInput,
  allocated: Allocated[],
  unplaced: Unplaced[],
  stranded: Stranded[],
): Placement[] {
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

  // Fresh pass: a node that may stay before one an autoscaler may take, then the eligible node with the
  // fewest IPs of the policy, then of the policy in its zone, then of the gateway, then in all; ties by name
  // (candidates are sorted by name).
  for (const a of rest) {
    const candidates = eligible(a);
    const mine = policyMembers.get(a.policy) ?? [];
    let best: Member | undefined;
    let bAvoid = false;
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
      const avoid = m.node.input.avoid === true;
      if (avoid && !bAvoid && best !== undefined) continue;
      if (
        best === undefined ||
        (bAvoid && !avoid) ||
        s0 < b0 ||
        (s0 === b0 && (s1 < b1 || (s1 === b1 && (s2 < b2 || (s2 === b2 && s3 < b3)))))
      ) {
        best = m;
        bAvoid = avoid;
        b0 = s0;
        b1 = s1;
        b2 = s2;
        b3 = s3;
      }
    }
    if (best !== undefined) {
      put(a, best);
      continue;
    }
    const current = input.current.get(a.ip);
    const holder = current === undefined ? undefined : a.gateway.members.get(current);
    if (
      holder &&
      a.gateway.leaving.has(current!) &&
      room(holder, a.gateway) &&
      a.gateway.index.nodesFor(a.ip, a.value).includes(current!)
    ) {
      put(a, holder);
      stranded.push(
        strandedOn(
          a,
          current!,
          candidates.map((m) => m.node.input.name),
        ),
      );
    } else
      unplaced.push(
        whyNotPlaced(
          a,
          candidates.map((m) => m.node.input.name),
        ),
      );
  }

  return placements;
}

/** Why `a` stays on the leaving node `node`: no other healthy node in its subnet, or all of them full. */
function strandedOn(a: Allocated, node: string, healthyCandidates: readonly string[]): Stranded {
  const gw = a.gateway.input.name;
  const why =
    healthyCandidates.length === 0
      ? `no other healthy node of EgressGateway "${gw}" that stays is in its subnet`
      : `every other healthy node of EgressGateway "${gw}" in its subnet is full (${healthyCandidates.join(', ')})`;
  return {
    ip: a.ip,
    policy: a.policy,
    gateway: gw,
    node,
    message: `${a.ip} stays on ${node}, which is leaving: ${why}; add or uncordon a gateway node in its subnet (node-pool surge), or it fails over when ${node} goes`,
  };
}

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
    const leaving = inSubnet.filter((n) => a.gateway.leaving.has(n));
    return {
      ...base,
      reason: REASON.NoEligibleNode,
      message: `no healthy node of EgressGateway "${gw}" can hold ${a.ip} (nodes in its subnet: ${inSubnet.join(', ')}; ${leaving.length ? `none that takes new egress IPs: ${leaving.join(', ')} leaving or refused by the cloud, the gateway's status.nodes say why` : 'none healthy'})`,
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
export function rebalance(
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
