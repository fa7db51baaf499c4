/**
 * @module
 * The part of a scheduler input that concerns one gateway, so the controller can re-plan only the
 * gateway a failed node belongs to. Node capacity shrinks by the IPs other gateways hold on the node, and the
 * IPs policies of other gateways own (ownership.ts: the holder keeps it, over every gateway's policies) become
 * unavailable, so the slice's plan never takes or touches an IP of the rest, also where pools overlap.
 *
 * Where pools overlap, a fresh IP (for a count policy) of the shared part is handed out only by the gateway
 * whose name sorts first: two gateways planned side by side then never pick the same free IP.
 */
import { REASON } from '../api/conditions.ts';
import { inUseMessage, owners } from './ownership.ts';
import type { SchedulerInput, Unavailable } from './types.ts';

/** The slice of `input` for gateway `name`. */
export function gatewaySlice(input: SchedulerInput, name: string): SchedulerInput {
  const gateway = input.gateways.find((g) => g.name === name);
  const policies = input.policies.filter((p) => p.gateway === name);
  const others = new Map<string, Unavailable>(input.unavailableIPs ?? []);
  const theirs = new Set<string>();
  for (const [ip, claim] of owners(input.policies)) {
    if (claim.policy.gateway === name) continue;
    theirs.add(ip);
    others.set(ip, { reason: REASON.IPInUse, message: inUseMessage(ip, claim) });
  }
  const mine = new Set<string>();
  for (const p of policies) for (const ip of [...p.allocated, ...(p.egressIPs ?? [])]) mine.add(ip);
  const members = new Set(gateway?.nodes ?? []);
  const heldByOthers = new Map<string, number>();
  const current = new Map<string, string>();
  for (const [ip, node] of input.current) {
    if (theirs.has(ip)) heldByOthers.set(node, (heldByOthers.get(node) ?? 0) + 1);
    else if (members.has(node) || mine.has(ip)) current.set(ip, node);
  }
  const foreignPools = input.gateways
    .filter((g) => g.name < name)
    .map((g) => [...g.pool, ...g.cloudAllocatedIPs]);
  return {
    ...input,
    gateways: gateway ? [gateway] : [],
    ...(foreignPools.length ? { foreignPools } : {}),
    nodes: input.nodes
      .filter((n) => members.has(n.name))
      .map((n) => ({ ...n, capacity: Math.max(0, n.capacity - (heldByOthers.get(n.name) ?? 0)) })),
    policies,
    current,
    unavailableIPs: others,
  };
}
