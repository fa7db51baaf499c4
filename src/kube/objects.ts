/**
 * @module
 * Reading Kubernetes objects the way the controller and the agent need them: Node readiness, address and
 * zone (whether a Node is leaving: node-disruption.ts); object keys (work queue, scheduler, status, the agent's policy order); finalizer
 * helpers that say whether they changed anything (controller-runtime's `controllerutil`).
 */
import type { V1Node } from '@kubernetes/client-node';
import { LABELS } from '../api/annotations.ts';
import type { AnyEgressPolicy, EgressGateway } from '../api/index.ts';

/** The Node's Ready condition is True. */
export function nodeReady(node: V1Node): boolean {
  return node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
}

/** The Node's InternalIP (the first), where its agent answers health probes. */
export function nodeInternalIP(node: V1Node): string | undefined {
  return node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
}

/** The Node's zone label, if any. */
export function nodeZone(node: V1Node): string | undefined {
  return node.metadata?.labels?.[LABELS.zone];
}

/**
 * The one key of a policy: `EgressPolicy/<ns>/<name>` or `ClusterEgressPolicy/<name>`. The scheduler, status,
 * the work queue and the agent (its first-match tie-break and set names) all use it.
 */
export function policyKey(policy: Pick<AnyEgressPolicy, 'kind' | 'metadata'>): string {
  return policy.kind === 'EgressPolicy'
    ? `EgressPolicy/${policy.metadata.namespace}/${policy.metadata.name}`
    : `ClusterEgressPolicy/${policy.metadata.name}`;
}

/** Work queue key of a gateway. */
export function gatewayKey(name: string): string {
  return `EgressGateway/${name}`;
}

/** Parses a work queue key back into its kind, namespace and name. */
export function parseKey(key: string): { kind: string; namespace?: string; name: string } {
  const parts = key.split('/');
  if (parts.length === 3) return { kind: parts[0]!, namespace: parts[1]!, name: parts[2]! };
  return { kind: parts[0]!, name: parts.slice(1).join('/') };
}

/** Whether the object is being deleted. */
export function deleting(obj: { metadata: { deletionTimestamp?: string | Date } }): boolean {
  return obj.metadata.deletionTimestamp !== undefined && obj.metadata.deletionTimestamp !== null;
}

/** Finalizers with `finalizer` added; `changed` is false when it was there. */
export function withFinalizer(
  obj: EgressGateway | AnyEgressPolicy,
  finalizer: string,
): { finalizers: string[]; changed: boolean } {
  const list = obj.metadata.finalizers ?? [];
  return list.includes(finalizer)
    ? { finalizers: [...list], changed: false }
    : { finalizers: [...list, finalizer], changed: true };
}

/** Finalizers with `finalizer` removed; `changed` is false when it was absent. */
export function withoutFinalizer(
  obj: EgressGateway | AnyEgressPolicy,
  finalizer: string,
): { finalizers: string[]; changed: boolean } {
  const list = obj.metadata.finalizers ?? [];
  return { finalizers: list.filter((f) => f !== finalizer), changed: list.includes(finalizer) };
}
