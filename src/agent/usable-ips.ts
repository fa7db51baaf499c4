/**
 * @module
 * Which egress IPs the agents program and on which node (the placement, the same on every node: the mark
 * ids rest on it), and which of them a policy's pods on this node may use (the only part that depends on
 * the node, through its zone). Pure.
 *
 * ```
 * assignment                                       placed (ip -> node)   usable by the policy's pods
 * Pending | Assigned | Ready, known node           yes                   yes, where placed on its node
 *                                                                        (each family apart: pod-steering.ts)
 * Pending | Assigned | Ready, node without an IP   no, noted             no
 * Failed, or no ip or node yet                     no                    no
 * handoverTo / handoverFrom (a planned move)       as above; both nodes  as above
 *                                                  hold it (handovers)
 * zoneAffinity Preferred, this node has a zone     only the usable IPs on nodes of this zone, when there are
 *                                                  any (else all of them)
 * ```
 */
import { type AnyEgressPolicy, USABLE_STATES } from '../api/index.ts';
import { policyKey } from '../kube/objects.ts';

/*
 * The agent programs an IP on its assignment's node in the USABLE_STATES (src/api/egress-policy.ts). `Pending`
 * is included: the controller writes it right before the cloud call that moves the IP to that node, so the path
 * is ready when the cloud delivers (a failover is over as soon as the cloud moves the IP, not after the next
 * status write), and the pods pinned to the IP stay pinned to it rather than moving to the policy's other IPs
 * and back. Until the cloud holds the IP there, the cloud drops what the node sends from it (as it dropped while
 * the IP was unusable); a cloud call that fails turns the IP `Failed`.
 */

/** Where the cluster's egress IPs are programmed. */
export interface EgressIpPlacement {
  /**
   * Egress IP -> the node that holds it (or is receiving it), in the order first met. An IP that two
   * assignments place on different nodes goes to the later one in the given policy order.
   */
  readonly nodeOf: ReadonlyMap<string, string>;
  /** Assignments left out, each with the reason (nodes without a known InternalIP). */
  readonly notes: readonly string[];
  /**
   * Planned moves under way: egress IP -> the old and the new gateway. Both hold the IP, and the old one copies
   * what it is sent for it to the new one, whichever `nodeOf` names (the one the traffic is steered to).
   */
  readonly handovers: ReadonlyMap<string, Handover>;
}

/** A planned move of an egress IP between two gateways (`handoverTo` / `handoverFrom` of its assignment). */
export interface Handover {
  readonly from: string;
  readonly to: string;
}

/**
 * The placement of every usable assignment of `policies` (in first-match order, so that every node agrees).
 * `nodeIps` maps node name -> InternalIP; an assignment to a node missing there is left out.
 */
export function placeEgressIps(
  policies: readonly AnyEgressPolicy[],
  nodeIps: ReadonlyMap<string, string>,
): EgressIpPlacement {
  const nodeOf = new Map<string, string>();
  const handovers = new Map<string, Handover>();
  const notes: string[] = [];
  for (const p of policies) {
    for (const a of p.status?.assignments ?? []) {
      if (!a.ip || !a.node || !USABLE_STATES.has(a.state)) continue;
      if (!nodeIps.has(a.node)) {
        notes.push(`${policyKey(p)}: egress IP ${a.ip} skipped: node ${a.node} has no known InternalIP`);
        continue;
      }
      nodeOf.set(a.ip, a.node);
      const other = a.handoverTo ?? a.handoverFrom;
      if (other !== undefined && other !== a.node && nodeIps.has(other)) {
        handovers.set(a.ip, a.handoverTo ? { from: a.node, to: other } : { from: other, to: a.node });
      } else handovers.delete(a.ip);
    }
  }
  return { nodeOf, notes, handovers };
}

/**
 * The egress IPs `policy`'s pods on this node may use, in assignment order: its usable assignments placed on
 * their own node, narrowed to this node's zone (`zone`) under zoneAffinity Preferred when that leaves any.
 * `zoneOf` maps node name -> zone.
 */
export function usableIps(
  policy: AnyEgressPolicy,
  nodeOf: ReadonlyMap<string, string>,
  zoneOf: ReadonlyMap<string, string | undefined>,
  zone: string | undefined,
): string[] {
  const usable = (policy.status?.assignments ?? [])
    .filter((a) => a.ip && a.node && USABLE_STATES.has(a.state) && nodeOf.get(a.ip) === a.node)
    .map((a) => a.ip!);
  if (policy.spec.zoneAffinity === 'Preferred' && zone) {
    const local = usable.filter((ip) => zoneOf.get(nodeOf.get(ip)!) === zone);
    if (local.length > 0) return local;
  }
  return usable;
}

/** The egress IPs of the planned moves in which `node` is one of the two gateways. */
export function handoversOf(handovers: ReadonlyMap<string, Handover>, node: string): string[] {
  return [...handovers].filter(([, h]) => h.from === node || h.to === node).map(([ip]) => ip);
}
