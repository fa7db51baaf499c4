/**
 * @module
 * The part of a scheduler input that concerns one gateway, so the controller can re-plan only the
 * gateway a failed node belongs to. Node capacity shrinks by the IPs other gateways hold on the node,
 * and IPs of other gateways' policies become unavailable, so the slice's plan never conflicts with the rest.
 */
import type { SchedulerInput } from './types.ts';

/** The slice of `input` for gateway `name`. */
export function gatewaySlice(input: SchedulerInput, name: string): SchedulerInput {
  const gateway = input.gateways.find((g) => g.name === name);
  const policies = input.policies.filter((p) => p.gateway === name);
  const mine = new Set(policies.flatMap((p) => [...p.allocated, ...(p.egressIPs ?? [])]));
  const others = new Set<string>();
  for (const p of input.policies)
    if (p.gateway !== name) for (const ip of p.allocated) if (!mine.has(ip)) others.add(ip);
  const members = new Set(gateway?.nodes ?? []);
  const heldByOthers = new Map<string, number>();
  const current = new Map<string, string>();
  for (const [ip, node] of input.current) {
    if (others.has(ip)) heldByOthers.set(node, (heldByOthers.get(node) ?? 0) + 1);
    else if (members.has(node) || mine.has(ip)) current.set(ip, node);
  }
  return {
    gateways: gateway ? [gateway] : [],
    nodes: input.nodes
      .filter((n) => members.has(n.name))
      .map((n) => ({ ...n, capacity: Math.max(0, n.capacity - (heldByOthers.get(n.name) ?? 0)) })),
    policies,
    current,
    unavailableIPs: input.unavailableIPs?.size ? new Set([...others, ...input.unavailableIPs]) : others,
  };
}
