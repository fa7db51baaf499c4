/**
 * @module
 * Step 1 of the scheduler (schedule.ts): which IPs each policy gets. Sticky first: the IPs a policy's status
 * holds are kept, explicit IPs are checked against the pool and against older policies, then fresh IPs are
 * taken from the pool, spread over the gateway's subnets.
 */
import { REASON } from '../api/conditions.ts';
import { familyOfValidIp, ipToBigInt } from '../net/ip.ts';
import { type Allocated, byPolicyOrder, type GatewayState } from './schedule-state.ts';
import type { PolicyInput, SchedulerInput, Unplaced } from './types.ts';

/** Step 1: which IPs each policy gets. */
export function allocate(
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
