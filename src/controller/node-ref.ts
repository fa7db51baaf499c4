/**
 * @module
 * A Kubernetes Node as the provider contract names it: {@link NodeRef}. Here rather than in src/kube, which
 * knows nothing of providers.
 */
import type { V1Node } from '@kubernetes/client-node';
import type { AnyEgressPolicy } from '../api/egress-policy.ts';
import type { NodeRef } from '../provider/contract.ts';

/**
 * The provider's view of a Node (its providerID may be empty: on-prem nodes have none, and the `none`
 * provider needs none; cloud providers reject it with a clear error).
 */
export function nodeRef(node: V1Node): NodeRef | undefined {
  const name = node.metadata?.name;
  return name ? { name, providerID: node.spec?.providerID ?? '' } : undefined;
}

/** The refs of `nodes`, by name. */
export function nodeRefs(nodes: readonly V1Node[]): Map<string, NodeRef> {
  const refs = new Map<string, NodeRef>();
  for (const node of nodes) {
    const ref = nodeRef(node);
    if (ref) refs.set(ref.name, ref);
  }
  return refs;
}

/**
 * `refs` and, after them, the refs of the nodes (among `nodes`) that `policies`' statuses name: where the
 * cloud may still hold their IPs although the gateway no longer selects the node.
 */
export function withStatusNodes(
  refs: ReadonlyMap<string, NodeRef>,
  policies: readonly AnyEgressPolicy[],
  nodes: readonly V1Node[],
): Map<string, NodeRef> {
  const all = new Map(refs);
  const byName = new Map(nodes.map((n) => [n.metadata?.name ?? '', n]));
  for (const policy of policies) {
    for (const a of policy.status?.assignments ?? []) {
      const node = a.node ? byName.get(a.node) : undefined;
      const ref = node ? nodeRef(node) : undefined;
      if (ref && !all.has(ref.name)) all.set(ref.name, ref);
    }
  }
  return all;
}
