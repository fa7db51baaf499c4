/**
 * @module
 * A large scheduler input for the benchmarks: 5,000 nodes, 20,000 IPs, 10,000 policies in 100 gateways
 * of two zonal subnets each. Gateway `gw-000` has 10 nodes, so each of its nodes holds 20 IPs.
 */
import type { GatewayInput, NodeInput, PolicyInput, SchedulerInput } from '../src/scheduler/types.ts';

/** Builds the world; `current` empty (a cold start). */
export function largeWorld(): SchedulerInput {
  const nodes: NodeInput[] = [];
  const gateways: GatewayInput[] = [];
  const policies: PolicyInput[] = [];
  const gatewayCount = 100;
  let nodeIndex = 0;
  for (let g = 0; g < gatewayCount; g++) {
    const name = `gw-${String(g).padStart(3, '0')}`;
    const size = g === 0 ? 10 : g <= 90 ? 50 : 49; // 10 + 90*50 + 9*49 = 4951... topped up below
    const members: string[] = [];
    for (let i = 0; i < size; i++) {
      const zone = i % 2;
      const node: NodeInput = {
        name: `node-${String(nodeIndex++).padStart(5, '0')}`,
        zone: `zone-${zone}`,
        subnets: [`10.${g}.${zone}.0/24`],
        capacity: 49,
        healthy: true,
      };
      nodes.push(node);
      members.push(node.name);
    }
    gateways.push({
      name,
      pool: [`10.${g}.0.10-10.${g}.0.250`, `10.${g}.1.10-10.${g}.1.250`],
      cloudAllocatedIPs: [],
      failback: false,
      nodes: members,
    });
    for (let p = 0; p < 100; p++) {
      policies.push({
        key: `EgressPolicy/ns-${g}/policy-${p}`,
        gateway: name,
        count: 2,
        createdAt: `2026-01-01T00:${String(p % 60).padStart(2, '0')}:00Z`,
        allocated: [],
      });
    }
  }
  // Nodes selected by no gateway still count (5,000 in all).
  while (nodes.length < 5000) {
    nodes.push({
      name: `node-${String(nodeIndex++).padStart(5, '0')}`,
      zone: 'zone-0',
      subnets: ['10.200.0.0/24'],
      capacity: 49,
      healthy: true,
    });
  }
  return { nodes, gateways, policies, current: new Map() };
}
