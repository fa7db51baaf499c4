/**
 * @module
 * Which policies select a pod, and in which order they are tried. Every policy that selects a pod puts it in
 * its own pod map; the classify chain tries the maps in first-match order, so the first selecting policy
 * decides the pod's egress IP (or its drop). Pure.
 *
 * ```
 * kind                 selects a pod when
 * EgressPolicy         pod in the policy's namespace            and podSelector matches the pod's labels
 * ClusterEgressPolicy  namespaceSelector matches its namespace  and podSelector matches the pod's labels
 *
 * first-match order: EgressPolicy before ClusterEgressPolicy, then oldest creationTimestamp first
 *                    (none: first), then by key (`EgressPolicy/<ns>/<name>`, `ClusterEgressPolicy/<name>`)
 * ```
 */
import type { AnyEgressPolicy, LabelSelector } from '../api/index.ts';
import { selectorMatches } from '../kube/label-selector.ts';
import { policyKey } from '../kube/objects.ts';
import type { AgentInputs, LocalPod } from './agent-inputs.ts';

/** Sort comparator of first-match order: namespaced before cluster-wide, then oldest first, then by key. */
export function comparePolicies(a: AnyEgressPolicy, b: AnyEgressPolicy): number {
  const rank = (p: AnyEgressPolicy) => (p.kind === 'EgressPolicy' ? 0 : 1);
  const at = a.metadata.creationTimestamp ?? '';
  const bt = b.metadata.creationTimestamp ?? '';
  const ak = policyKey(a);
  const bk = policyKey(b);
  return rank(a) - rank(b) || (at < bt ? -1 : at > bt ? 1 : 0) || (ak < bk ? -1 : ak > bk ? 1 : 0);
}

/** The policies in first-match order (a new array; the input is left as it is). */
export function firstMatchOrder(policies: readonly AnyEgressPolicy[]): AnyEgressPolicy[] {
  return [...policies].sort(comparePolicies);
}

/** Whether `policy` selects `pod`; `namespaceLabels` serves a ClusterEgressPolicy's namespace selector. */
export function policySelects(
  policy: AnyEgressPolicy,
  pod: LocalPod,
  namespaceLabels: AgentInputs['namespaceLabels'],
): boolean {
  if (policy.kind === 'EgressPolicy') {
    if (pod.namespace !== policy.metadata.namespace) return false;
  } else if (
    !selectorMatches(policy.spec.namespaceSelector as LabelSelector, namespaceLabels.get(pod.namespace))
  ) {
    return false;
  }
  return selectorMatches(policy.spec.podSelector as LabelSelector, pod.labels);
}
