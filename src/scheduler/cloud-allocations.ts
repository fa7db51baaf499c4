/**
 * @module
 * Step 3 of the scheduler (schedule.ts): how many IPs the cloud should pick on which node, for gateways with
 * `cloudAllocated`: onto healthy nodes with room, spread over zones.
 */
import { bump, compare, type GatewayState, lexLess, type Member } from './schedule-state.ts';
import type { Allocation } from './types.ts';

/** Step 3: cloud allocations for `cloudAllocated` gateways, onto healthy nodes with room, spread over zones. */
export function cloudAllocations(gateways: Map<string, GatewayState>): Allocation[] {
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
