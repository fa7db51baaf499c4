/**
 * @module
 * Steering each local pod to an egress IP. For every policy that selects the pod, rendezvous hashing over
 * the policy's usable IPs pins the pod, by its UID, to one of them (when an IP goes, only its pods move;
 * when one comes, it takes about 1/n of the pods and nobody else moves), and the pod's element in the
 * policy's pod map jumps to the mark chain of that IP's mark id. A policy without a usable IP drops its
 * pods' traffic to its destinations (fails closed: a stable source IP is the policy's promise). Pure.
 *
 * Each family apart: a pod's IPv4 addresses go to the policy's IPv4 pod map and are pinned to one of its IPv4
 * egress IPs, its IPv6 addresses to the IPv6 map and one of its IPv6 egress IPs (a dual-stack pod has one of
 * each).
 *
 * ```
 * policy selects the pod   family steered      its usable IPs    element in the family's pod map (per pod IP
 *                          by the policy       of the family     of that family)
 * yes                      yes                 ip1..ipn          pod IP -> goto m<id of rendezvous(uid, ip1..ipn)>
 * yes                      yes                 none              pod IP -> drop
 * yes                      no                  -                 none (the family's traffic is not the policy's)
 * no                       -                   -                 none
 * ```
 *
 * A policy steers IPv4 always, and IPv6 when it asks for IPv6 at all: an IPv6 address among its
 * `spec.egressIPs` or `spec.destinationCIDRs`, IPv6 in `spec.ipFamilies`, or an IPv6 egress IP in its status. So a policy written for IPv4
 * leaves a dual-stack pod's IPv6 traffic alone, and one that asked for an IPv6 egress IP drops its pods' IPv6
 * traffic to its destinations while that IP is not usable (fail closed, as for IPv4).
 */
import type { AnyEgressPolicy } from '../api/index.ts';
import { canonicalIp, familyOfValidIp, type IpFamily } from '../net/ip.ts';
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

/** True when `policy` steers `family` (module comment). */
export function steersFamily(policy: AnyEgressPolicy, family: IpFamily): boolean {
  if (family === 4) return true;
  const v6 = (items: readonly string[] | undefined) => (items ?? []).some((x) => x.includes(':'));
  return (
    policy.spec.ipFamilies?.includes('IPv6') === true ||
    v6(policy.spec.egressIPs) ||
    v6(policy.spec.destinationCIDRs) ||
    v6((policy.status?.assignments ?? []).flatMap((a) => (a.ip ? [a.ip] : [])))
  );
}

/**
 * The index of policy `policy`'s pod map of `family` in the list of pod maps: each policy has two, IPv4 at
 * `2 * policy`, IPv6 right after it.
 */
export function podMapIndex(policy: number, family: IpFamily): number {
  return 2 * policy + (family === 6 ? 1 : 0);
}

/** One selecting policy's verdict for one pod, in one family. */
export interface PodVerdict {
  /** Index of the pod map the elements go to ({@link podMapIndex} of the policy and the family). */
  readonly map: number;
  /** The pod's addresses of that family: the elements' keys. */
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
  const v4 = pod.ips.filter((ip) => familyOfValidIp(ip) === 4);
  // The kernel lists IPv6 map keys in canonical form; the desired keys must compare equal to them.
  const v6 = pod.ips.filter((ip) => familyOfValidIp(ip) === 6).map(canonicalIp);
  policies.forEach((x, i) => {
    if (!policySelects(x.policy, pod, namespaceLabels)) return;
    for (const [family, podIps] of [
      [4, v4],
      [6, v6],
    ] as const) {
      // A family the pod has no address of gives no verdict; a pod without any address yet counts once (IPv4).
      if (podIps.length === 0 && (family === 6 || v6.length > 0)) continue;
      if (!steersFamily(x.policy, family)) continue;
      const usable = x.usable.filter((ip) => familyOfValidIp(ip) === family);
      const egressIp = pickRendezvous(pod.uid, usable);
      const verdict = egressIp === undefined ? DROP_VERDICT : steering.get(egressIp)!.verdict;
      out.push({ map: podMapIndex(i, family), podIps, egressIp, verdict });
    }
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
