/**
 * @module
 * The agent's one decision: (this node, policies with their assignments, nodes, local pods, namespace
 * labels, cluster CIDRs) -> the dataplane this node must have. Pure, but for the optional cache that keeps
 * the pod maps between calls. This module runs the steps in order; each step's module holds its rules and
 * decision table.
 *
 * ```
 * policies     -> first-match order: EgressPolicy before ClusterEgressPolicy,      policy-match.ts
 *                 then oldest first, then by key
 * assignments  -> placement: egress IP -> node, cluster-wide (Pending|Assigned|    usable-ips.ts
 *                 Ready, known node), and each policy's usable IPs here
 *                 (zone affinity)
 * placement    -> mark ids, the same on every node                                 mark-ids.ts
 * local pods   -> per selecting policy and family: rendezvous(pod uid, usable IPs   pod-steering.ts
 *                 of the family) -> mark id of that IP (no usable IP -> drop), in   desired-cache.ts
 *                 pod maps kept incrementally
 * all of these -> addresses, rules, routes, tunnel, peers, sets, chains             node-dataplane.ts
 * ```
 */
import { policyKey } from '../kube/objects.ts';
import type { AgentInputs } from './agent-inputs.ts';
import type { DesiredDataplane } from './dataplane.ts';
import { DesiredCache, type PodMapsDelta } from './desired-cache.ts';
import { assignMarkIds } from './mark-ids.ts';
import { policyPrefix, policySets } from './nft-model.ts';
import { nodeDataplane } from './node-dataplane.ts';
import { steeringByIp, steeringEpoch, steerPod } from './pod-steering.ts';
import { firstMatchOrder } from './policy-match.ts';
import { type DataplaneSettings, maxMarkId, returnMarkId } from './settings.ts';
import { handoversOf, placeEgressIps, usableIps } from './usable-ips.ts';

/** The decision: the dataplane, plus numbers and notes for logs and metrics. */
export interface DesiredResult {
  readonly desired: DesiredDataplane;
  /** Local pods steered to an egress IP, by IP. */
  readonly podsByIp: ReadonlyMap<string, number>;
  /** Local pods whose policy has no usable IP (dropped to its destinations). */
  readonly podsWithoutIp: number;
  /** Things skipped, each with the reason (unknown gateway nodes...). */
  readonly notes: readonly string[];
  /**
   * Egress IPs in a planned move of which this node is one of the two gateways: while there are any, the
   * agent adopts their half-open connections (`handover-adopter.ts`).
   */
  readonly handingOver: readonly string[];
  /**
   * Set when the pod maps were updated in place from the previous result `basis` (same cache): their
   * element changes since then. The planner uses it when the kernel is known to match `basis`.
   */
  readonly delta?: PodMapsDelta;
}

/** Computes this node's dataplane; see the module comment. `cache` makes repeated calls incremental. */
export function desiredState(
  inputs: AgentInputs,
  settings: DataplaneSettings,
  cache: DesiredCache = new DesiredCache(),
): DesiredResult {
  const policies = firstMatchOrder(inputs.policies);
  const nodeIps = new Map(inputs.nodes.map((n) => [n.name, n.ip]));
  const zoneOf = new Map(inputs.nodes.map((n) => [n.name, n.zone]));
  const zone = zoneOf.get(inputs.node.name);
  const placement = placeEgressIps(policies, nodeIps);
  const reserved = settings.returnPath === 'tunnel' ? [returnMarkId(settings.markMask)] : [];
  const markIds = assignMarkIds(placement.nodeOf.keys(), maxMarkId(settings.markMask), new Set(reserved));
  const plans = policies.map((policy) => {
    const prefix = policyPrefix(policyKey(policy));
    const usable = usableIps(policy, placement.nodeOf, zoneOf, zone);
    return { policy, prefix, names: policySets(prefix), usable };
  });
  const steering = steeringByIp(plans, markIds);
  const pods = cache.update(
    steeringEpoch(plans, markIds, inputs.namespaceLabels, settings.markMask),
    plans.flatMap((x) => [x.names.pods, x.names.pods6]),
    inputs.pods,
    (pod) => steerPod(pod, plans, inputs.namespaceLabels, steering),
  );
  const desired = nodeDataplane({
    node: inputs.node,
    nodes: inputs.nodes,
    clusterCidrs: inputs.clusterCidrs,
    clusterSet: (cidrs, nodeIps) => cache.clusterSet(cidrs, nodeIps),
    settings,
    policies: plans,
    podMaps: pods.maps,
    placement: placement.nodeOf,
    handovers: placement.handovers,
    nodeIps,
    markIds,
    steering,
    podsByIp: pods.podsByIp,
  });
  cache.remember(desired);
  return {
    desired,
    podsByIp: pods.podsByIp,
    podsWithoutIp: pods.podsWithoutIp,
    notes: placement.notes,
    handingOver: handoversOf(placement.handovers, inputs.node.name),
    ...(pods.delta ? { delta: pods.delta } : {}),
  };
}
