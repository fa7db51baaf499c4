/**
 * @module
 * From the desired placement to the provider's changes (external-dns's plan step).
 *
 * | current (cloud)   | desired (plan)      | change                                  |
 * |-------------------|---------------------|-----------------------------------------|
 * | ip on node A      | ip on node A        | none                                    |
 * | ip nowhere        | ip on node B        | assign ip -> B                          |
 * | ip on node A      | ip on node B        | assign ip -> B from A (a move)          |
 * | ip on node A      | not placed          | release ip from A (unless kept)         |
 * | -                 | allocation on B (n) | allocate n on B                         |
 * | ip on A, public P | ip on A, public Q   | assign ip -> A with public Q (pairs it) |
 *
 * Every assign of an IP that `pairs` pairs with a public address carries it (`publicAddress`), so the provider
 * associates it where the IP lands; an IP already in place whose public address the cloud does not show paired
 * with it gets an assign to its own node that only pairs it.
 */
import type { Change, NodeRef } from '../provider/contract.ts';
import type { SchedulePlan } from './types.ts';

/** Public addresses by egress IP: those the gateway pairs (`wanted`) and those the cloud shows (`current`). */
export interface PublicPairs {
  readonly wanted?: ReadonlyMap<string, string>;
  readonly current?: ReadonlyMap<string, string>;
}

/**
 * The changes that turn `current` (IP -> node, the cloud's truth) into `plan`. `nodes` maps node names to
 * their refs; a node missing from it (deleted) is not the target of a release, and a move away from it is
 * an assign without `from`. IPs in `keep` that are not placed stay where the cloud has them (a gateway's unused
 * cloud-picked IPs).
 */
export function planChanges(
  plan: SchedulePlan,
  current: ReadonlyMap<string, string>,
  nodes: ReadonlyMap<string, NodeRef>,
  keep: ReadonlySet<string> = new Set(),
  pairs: PublicPairs = {},
): Change[] {
  const changes: Change[] = [];
  const desired = new Set<string>();
  for (const p of plan.placements) {
    desired.add(p.ip);
    const now = current.get(p.ip);
    const wanted = pairs.wanted?.get(p.ip);
    const pairing = wanted ? { publicAddress: wanted } : {};
    if (now === p.node && (!wanted || pairs.current?.get(p.ip) === wanted)) continue;
    const node = nodes.get(p.node);
    if (!node) continue;
    const from = now === undefined || now === p.node ? undefined : nodes.get(now);
    changes.push({ kind: 'assign', ip: p.ip, node, ...(from ? { from } : {}), ...pairing });
  }
  for (const [ip, nodeName] of [...current.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (desired.has(ip) || keep.has(ip)) continue;
    const node = nodes.get(nodeName);
    if (node) changes.push({ kind: 'release', ip, node });
  }
  for (const a of plan.allocations) {
    const node = nodes.get(a.node);
    if (node) changes.push({ kind: 'allocate', count: a.count, node });
  }
  return changes;
}
