/**
 * @module
 * Pure: may a policy use a gateway? (tenancy)
 *
 * | policy kind         | gateway `namespaceSelector` | policy namespace labels | admitted |
 * |---------------------|-----------------------------|-------------------------|----------|
 * | ClusterEgressPolicy | any                         | -                       | yes      |
 * | EgressPolicy        | absent                      | any                     | no       |
 * | EgressPolicy        | `{}`                        | any                     | yes      |
 * | EgressPolicy        | a selector                  | match                   | yes      |
 * | EgressPolicy        | a selector                  | no match / no namespace | no       |
 */
import type { V1Namespace } from '@kubernetes/client-node';
import { REASON } from '../api/conditions.ts';
import type { EgressGateway } from '../api/egress-gateway.ts';
import type { AnyEgressPolicy } from '../api/egress-policy.ts';
import { selectorMatches } from '../kube/label-selector.ts';

/** The outcome of {@link decideAdmission}. */
export type Admission =
  | { readonly admitted: true }
  | {
      readonly admitted: false;
      readonly reason: typeof REASON.NamespaceNotAdmitted;
      readonly message: string;
    };

/** Whether `policy` may use `gateway`; see the module table. */
export function decideAdmission(
  policy: AnyEgressPolicy,
  gateway: EgressGateway,
  namespace: V1Namespace | undefined,
): Admission {
  if (policy.kind === 'ClusterEgressPolicy') return { admitted: true };
  const ns = policy.metadata.namespace;
  const selector = gateway.spec.namespaceSelector;
  if (!selector) {
    return {
      admitted: false,
      reason: REASON.NamespaceNotAdmitted,
      message: `EgressGateway "${gateway.metadata.name}" admits no namespace (it has no spec.namespaceSelector); ask its owner to add one that selects namespace "${ns}", or use a ClusterEgressPolicy`,
    };
  }
  if (!namespace || !selectorMatches(selector, namespace.metadata?.labels)) {
    return {
      admitted: false,
      reason: REASON.NamespaceNotAdmitted,
      message: `EgressGateway "${gateway.metadata.name}" does not admit namespace "${ns}": its labels do not match the gateway's spec.namespaceSelector ${JSON.stringify(selector)}`,
    };
  }
  return { admitted: true };
}
