/**
 * @module
 * Steering each local pod to an egress IP. For every policy that selects the pod, rendezvous hashing over
 * the policy's usable IPs pins the pod, by its UID, to one of them (when an IP goes, only its pods move;
 * when one comes, it takes about 1/n of the pods and nobody else moves), and the pod's element in the
 * policy's pod map jumps to the mark chain of that IP's mark id. A policy without a usable IP drops its
 * pods' traffic to its destinations (fails closed: a stable source IP is the policy's promise). Pure.
 *
 * ```
 * policy selects the pod   its usable IPs   element in its pod map (one per IPv4 pod IP)
 * yes                      ip1..ipn         pod IP -> goto m<mark id of rendezvous(pod uid, ip1..ipn)>
 * yes                      none             pod IP -> drop
 * no                       -                none
 * ```
 */
import { isIPv4 } from 'node:net';
import type { AnyEgressPolicy } from '../api/index.ts';
import type { AgentInputs, LocalPod } from './agent-inputs.ts';
import { markChain } from './nft-model.ts';
import { policySelects } from './policy-match.ts';
import { pickRendezvous } from './rendezvous.ts';

/** A policy as steering sees it: the policy (for selection) and the egress IPs its pods here may use. */
export interface SteeringPolicy {
  readonly policy: AnyEgressPolicy;
  readonly usable: readonly string[];
}

/** Where a usable egress IP sends a pod: its mark id and the pod-map verdict that jumps to its mark chain. */
export interface IpSteering {
  readonly id: number;
  readonly verdict: string;
}

/** The pod-map verdict of a pod whose policy has no usable egress IP. */
export const DROP_VERDICT = 'drop';

/**
 * The steering of every usable IP of `policies` (first met first), by IP. `markIds` must hold each of them
 * (it is assigned over the placement, which every usable IP is part of).
 */
export function steeringByIp(
  policies: readonly SteeringPolicy[],
  markIds: ReadonlyMap<string, number>,
): Map<string, IpSteering> {
  const out = new Map<string, IpSteering>();
  for (const x of policies) {
    for (const ip of x.usable) {
      const id = markIds.get(ip)!;
      out.set(ip, { id, verdict: `goto ${markChain(id)}` });
    }
  }
  return out;
}

/** One selecting policy's verdict for one pod. */
export interface PodVerdict {
  /** Index of the policy in the list steered over (first-match order): whose pod map the elements go to. */
  readonly policy: number;
  /** The pod's IPv4 addresses: the elements' keys. */
  readonly podIps: readonly string[];
  /** The egress IP the pod is pinned to; undefined when the policy has no usable IP. */
  readonly egressIp: string | undefined;
  /** The elements' value: `goto m<id>` of that IP, or {@link DROP_VERDICT}. */
  readonly verdict: string;
}

/** The verdicts of every policy of `policies` that selects `pod`, in their order. */
export function steerPod(
  pod: LocalPod,
  policies: readonly SteeringPolicy[],
  namespaceLabels: AgentInputs['namespaceLabels'],
  steering: ReadonlyMap<string, IpSteering>,
): PodVerdict[] {
  const out: PodVerdict[] = [];
  const podIps = pod.ips.filter((ip) => isIPv4(ip));
  policies.forEach((x, i) => {
    if (!policySelects(x.policy, pod, namespaceLabels)) return;
    const egressIp = pickRendezvous(pod.uid, x.usable);
    const verdict = egressIp === undefined ? DROP_VERDICT : steering.get(egressIp)!.verdict;
    out.push({ policy: i, podIps, egressIp, verdict });
  });
  return out;
}

/**
 * A text that changes whenever a pod's verdicts could change for reasons other than the pod itself: the
 * policies in order (kind, namespace, spec), their usable IPs and those IPs' mark ids, namespace labels (when a
 * ClusterEgressPolicy reads them) and the mark mask. While it stays the same, verdicts computed earlier
 * stand (see `desired-cache.ts`).
 */
export function steeringEpoch(
  policies: readonly SteeringPolicy[],
  markIds: ReadonlyMap<string, number>,
  namespaceLabels: AgentInputs['namespaceLabels'],
  markMask: number,
): string {
  return JSON.stringify([
    policies.map((x) => [
      x.policy.kind,
      x.policy.metadata.namespace,
      x.policy.spec,
      // The IPs themselves (rendezvous picks among them) and their mark ids (the verdicts jump to them): two IPs
      // may share a mark id over time, so neither alone says the verdicts still stand.
      x.usable.map((ip) => [ip, markIds.get(ip)]),
    ]),
    policies.some((x) => x.policy.kind === 'ClusterEgressPolicy') ? [...namespaceLabels] : [],
    markMask,
  ]);
}
