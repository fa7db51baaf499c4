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
 *
 * Of a gateway's policies, {@link decideAdmissions} leaves out those being deleted, and all of them while the
 * gateway itself is being deleted (it then schedules nothing, so every IP is released).
 */
import type { V1Namespace } from '@kubernetes/client-node';
import { REASON } from '../api/conditions.ts';
import type { EgressGateway } from '../api/egress-gateway.ts';
import type { AnyEgressPolicy } from '../api/egress-policy.ts';
import { selectorMatches } from '../kube/label-selector.ts';
import { deleting } from '../kube/objects.ts';

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

/** A policy the gateway does not admit, with why. */
export interface RejectedPolicy {
  readonly policy: AnyEgressPolicy;
  readonly reason: typeof REASON.NamespaceNotAdmitted;
  readonly message: string;
}

/** The gateway's live policies, split by {@link decideAdmission}. */
export interface Admissions {
  /** Admitted, in the order given: the gateway schedules their IPs. */
  readonly admitted: readonly AnyEgressPolicy[];
  /** Not admitted: their IPs are released and their status says why. */
  readonly rejected: readonly RejectedPolicy[];
}

/** Inputs of {@link decideAdmissions}. */
export interface AdmissionsInput {
  readonly gateway: EgressGateway;
  /** Whether the gateway is being deleted (as the reconcile read it). */
  readonly gatewayDeleting: boolean;
  /** The gateway's policies. */
  readonly policies: readonly AnyEgressPolicy[];
  /** A Namespace by name. */
  readonly namespace: (name: string) => V1Namespace | undefined;
}

/** Splits the gateway's policies into admitted and rejected; see the module comment. */
export function decideAdmissions(input: AdmissionsInput): Admissions {
  const { gateway, namespace } = input;
  const admitted: AnyEgressPolicy[] = [];
  const rejected: RejectedPolicy[] = [];
  if (input.gatewayDeleting) return { admitted, rejected };
  for (const policy of input.policies) {
    if (deleting(policy)) continue;
    const ns = policy.metadata.namespace ? namespace(policy.metadata.namespace) : undefined;
    const admission = decideAdmission(policy, gateway, ns);
    if (admission.admitted) admitted.push(policy);
    else rejected.push({ policy, reason: admission.reason, message: admission.message });
  }
  return { admitted, rejected };
}
