/**
 * @module
 * A Kubernetes Node as the provider contract names it: {@link NodeRef}. Here rather than in src/kube, which
 * knows nothing of providers.
 */
import type { V1Node } from '@kubernetes/client-node';
import type { NodeRef } from '../provider/contract.ts';

/**
 * The provider's view of a Node (its providerID may be empty: on-prem nodes have none, and the `none`
 * provider needs none; cloud providers reject it with a clear error).
 */
export function nodeRef(node: V1Node): NodeRef | undefined {
  const name = node.metadata?.name;
  return name ? { name, providerID: node.spec?.providerID ?? '' } : undefined;
}
