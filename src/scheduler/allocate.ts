/**
 * @module
 * Step 1 of the scheduler (schedule.ts): which IPs each policy gets. The holder keeps its IP (ownership.ts):
 * every IP some policy claims goes to its owner, whatever the order of the policies; then fresh IPs are taken
 * from the pool, spread over the gateway's subnets, for policies short of their count.
 *
 * | an IP a policy asks for or holds                           | result                                 |
 * |------------------------------------------------------------|----------------------------------------|
 * | of a family the gateway does not serve (its provider cannot| Unplaced IPv6NotSupported (explicit)   |
 * | place it, or the agents do not program it: `families`)     |                                        |
 * | not in the gateway's pool                                  | Unplaced IPOutsideGatewayPool          |
 * | owned by a policy of another gateway, or a node's address  | Unplaced with the reason it was given  |
 * | one the cloud reserves in its subnet                       | Unplaced IPReserved                    |
 * | owned by another policy of this gateway                    | Unplaced IPInUse naming the owner      |
 * | else                                                       | the policy's                           |
 *
 * A count policy takes `count` IPs of each family of its `families` (spec.ipFamilies, default IPv4 only), fresh
 * ones from the pool's ranges of that family; for a family the gateway does not serve it gets none, and one
 * Unplaced IPv6NotSupported that says why (`refusedFamilies`), while its other families are served. A count policy's IP that fails a row is not refused: the policy
 * drops it and takes a fresh one. Fresh IPs
 * skip every IP a row would refuse, every IP another policy claims, the `foreignPools`, and the IPs the cloud
 * said something else holds (`heldInCloud`).
 */
import { REASON } from '../api/conditions.ts';
import { familyOfValidIp, type IpFamily, ipToBigInt } from '../net/ip.ts';
import { IpPool } from './ip-pool.ts';
import { inUseMessage, owners } from './ownership.ts';
import { type Allocated, byPolicyOrder, type GatewayState } from './schedule-state.ts';
import type { PolicyInput, SchedulerInput, Unavailable, Unplaced } from './types.ts';

/** Step 1: which IPs each policy gets. */
export function allocate(
  input: SchedulerInput,
  gateways: Map<string, GatewayState>,
  unplaced: Unplaced[],
): Allocated[] {
  const owner = owners(input.policies);
  const given = new Set<string>();
  const result: Allocated[] = [];
  const policies = [...input.policies].sort(byPolicyOrder);
  const byPolicy = new Map<string, Allocated[]>();
  const take = (ip: string, value: bigint, policy: PolicyInput, gateway: GatewayState) => {
    given.add(ip);
    const a: Allocated = { ip, value, policy: policy.key, gateway };
    result.push(a);
    const list = byPolicy.get(policy.key);
    if (list) list.push(a);
    else byPolicy.set(policy.key, [a]);
  };
  /** Why `policy` may not have `ip` of its gateway's pool, or undefined when it may (the table's rows 1, 3-5). */
  const refusal = (ip: string, value: bigint, policy: PolicyInput, gateway: GatewayState) =>
    unusable(input, gateway, ip, value) ??
    (() => {
      const o = owner.get(ip);
      return o && o.policy.key !== policy.key
        ? { reason: REASON.IPInUse, message: inUseMessage(ip, o) }
        : undefined;
    })();

  // Pass 1: explicit IPs, and the IPs count policies hold (sticky).
  const wanting: { policy: PolicyInput; gateway: GatewayState; family: IpFamily; missing: number }[] = [];
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
        const refused = !gateway.pool.contains(ip, value)
          ? {
              reason: REASON.IPOutsideGatewayPool,
              message: `${ip} is not in the IPs of EgressGateway "${policy.gateway}" (spec.ips: ${gateway.input.pool.join(', ') || 'none'})`,
            }
          : refusal(ip, value, policy, gateway);
        if (refused) unplaced.push({ policy: policy.key, gateway: policy.gateway, ip, ...refused });
        else take(ip, value, policy, gateway);
      }
      continue;
    }
    const count = policy.count ?? 1;
    for (const family of new Set<IpFamily>(policy.families ?? [4])) {
      if (!served(input, family)) {
        unplaced.push({
          policy: policy.key,
          gateway: policy.gateway,
          reason: REASON.IPv6NotSupported,
          message: `EgressGateway "${policy.gateway}" hands out no IPv${family} IPs: ${familyRefusal(input, family)}; spec.ipFamilies asks for ${count} of them, so the policy's IPv${family} traffic to its destinations is dropped (never sent from the node's own address): drop IPv${family} from spec.ipFamilies, or use a gateway whose provider places IPv${family}`,
        });
        continue;
      }
      let kept = 0;
      for (const ip of policy.allocated) {
        if (kept >= count) break;
        if (familyOfValidIp(ip) !== family) continue;
        const value = ipToBigInt(ip);
        if (given.has(ip) || !gateway.pool.contains(ip, value) || refusal(ip, value, policy, gateway))
          continue;
        take(ip, value, policy, gateway);
        kept++;
      }
      if (kept < count) wanting.push({ policy, gateway, family, missing: count - kept });
    }
  }

  // Pass 2: fresh IPs for policies short of their count, spread over the subnets that have healthy nodes.
  // Per gateway, once: which ranges lie in a subnet that has a healthy node (those are tried first).
  const healthyRanges = new Map<GatewayState, boolean[]>();
  const foreign = (input.foreignPools ?? []).map((entries) => new IpPool(entries));
  for (const { policy, gateway, family, missing } of wanting) {
    const taken = (ip: string, value: bigint) =>
      given.has(ip) ||
      owner.has(ip) ||
      foreign.some((pool) => pool.contains(ip, value)) ||
      input.heldInCloud?.has(ip) === true ||
      unusable(input, gateway, ip, value) !== undefined;
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
    // Only ranges of the family wanted hand out (a family the gateway does not serve never gets here).
    const exhausted = ranges.map((r) => r.family !== family);
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
        message: noFreeMessage(policy, gateway, family, missing - got),
      });
    }
  }
  return result;
}

/** The PoolExhausted message: none left at all, or none of the family (a dual-stack policy on a one-family pool). */
function noFreeMessage(
  policy: PolicyInput,
  gateway: GatewayState,
  family: IpFamily,
  missing: number,
): string {
  const count = policy.count ?? 1;
  const ofFamily = gateway.pool.ranges.some((r) => r.family === family);
  if (!ofFamily) {
    return `EgressGateway "${policy.gateway}" has no IPv${family} IPs (spec.ips: ${gateway.input.pool.join(', ') || 'none'}), and spec.ipFamilies asks for ${count} of them: add IPv${family} IPs to its spec.ips or drop IPv${family} from spec.ipFamilies`;
  }
  const families = (policy.families ?? [4]).length > 1 ? ` IPv${family}` : '';
  return `EgressGateway "${policy.gateway}" has no free${families} IP left (${gateway.pool.size()} in its pool); ${missing} of ${count} requested${families} IPs are missing: add IPs to its spec.ips`;
}

/** True when the gateway hands out IPs of `family` (`input.families`, default both). */
function served(input: SchedulerInput, family: IpFamily): boolean {
  return input.families === undefined || input.families.has(family);
}

/** Why the gateway hands out no IPs of `family`: `input.refusedFamilies`, else the agents do not program it. */
function familyRefusal(input: SchedulerInput, family: IpFamily): string {
  const served = [...(input.families ?? [])].sort((a, b) => a - b);
  return (
    input.refusedFamilies?.get(family) ??
    `the node agent programs ${served.map((f) => `IPv${f}`).join(' and ') || 'no'} egress IPs only`
  );
}

/**
 * Why no policy of `gateway` may have `ip`, whoever asks: a family the gateway does not serve, an IP
 * the input marks unavailable (another gateway's, a node's own), or one the cloud reserves in its subnet.
 */
export function unusable(
  input: SchedulerInput,
  gateway: GatewayState,
  ip: string,
  value: bigint,
): Unavailable | undefined {
  const family = familyOfValidIp(ip);
  if (!served(input, family)) {
    const other = [...(input.families ?? [])].find((f) => f !== family);
    return {
      reason: REASON.IPv6NotSupported,
      message: `${ip} is an IPv${family} address, and ${familyRefusal(input, family)}, so pods using it would lose their traffic${other ? `; use an IPv${other} address` : ''}`,
    };
  }
  const blocked = input.unavailableIPs?.get(ip);
  if (blocked) return blocked;
  const reservation = input.subnetReserved;
  if (reservation && (reservation.first > 0 || reservation.last > 0)) {
    for (const g of gateway.index.groupsOf(ip, value)) {
      if (
        value - g.range.start < BigInt(reservation.first) ||
        g.range.end - value < BigInt(reservation.last)
      ) {
        return {
          reason: REASON.IPReserved,
          message: `${ip} is one of the addresses the cloud keeps for itself in subnet ${g.cidr} (its first ${reservation.first} and last ${reservation.last}); choose another IP`,
        };
      }
    }
  }
  return undefined;
}
