/**
 * @module
 * EgressPolicy and ClusterEgressPolicy objects as the suites need them: the agent's inputs (with status
 * assignments), bodies for a real API server (see {@link createCustomObject}, which writes the status
 * through /status), and the envelope of a deliberately invalid spec in the CRD tests. Defaults: policy
 * `shop/to-partner` on gateway `prod` selecting `app=api`; the cluster policy `all-pay` also selects the
 * namespaces labelled `team=pay`.
 *
 * ```ts
 * egressPolicy({ spec: { destinationCIDRs: ['198.51.100.0/24'] }, assignments: [{ ip, node, state: 'Ready' }] });
 * egressPolicy({ name: 'p', namespace, spec: { gatewayName: gw, count: 2 } });
 * ```
 */
import type {
  ClusterEgressPolicy,
  ClusterEgressPolicySpec,
  EgressPolicy,
  EgressPolicySpec,
  IpAssignmentStatus,
} from '../../src/api/egress-policy.ts';
import { API_VERSION } from '../../src/api/group.ts';

/**
 * One creation time for every built policy (an API server sets its own on create), so the agent's
 * oldest-first order between two of them falls to their keys.
 */
const CREATED = '2026-01-01T00:00:00Z';

/** What both kinds default to (a new object each time): gateway `prod`, pods labelled `app=api`. */
const defaultSpec = () => ({ gatewayName: 'prod', podSelector: { matchLabels: { app: 'api' } } });

/** What both builders take besides the name and the namespace. */
interface PolicyParts<Spec> {
  /** Spec fields over the defaults (see the module comment). */
  readonly spec?: Partial<Spec>;
  /** `status.assignments`; without them the policy has no status. */
  readonly assignments?: readonly IpAssignmentStatus[];
}

const statusOf = (assignments: readonly IpAssignmentStatus[] | undefined) =>
  assignments ? { status: { assignments: [...assignments] } } : {};

/** Options of {@link egressPolicy}. */
export interface EgressPolicyOptions extends PolicyParts<EgressPolicySpec> {
  /** Default `to-partner`. */
  readonly name?: string;
  /** Default `shop`. */
  readonly namespace?: string;
}

/** An EgressPolicy; see the module comment for the defaults. */
export function egressPolicy(options: EgressPolicyOptions = {}): EgressPolicy {
  const { name = 'to-partner', namespace = 'shop' } = options;
  return {
    apiVersion: API_VERSION,
    kind: 'EgressPolicy',
    metadata: { name, namespace, creationTimestamp: CREATED },
    spec: { ...defaultSpec(), ...options.spec },
    ...statusOf(options.assignments),
  };
}

/** Options of {@link clusterEgressPolicy}. */
export interface ClusterEgressPolicyOptions extends PolicyParts<ClusterEgressPolicySpec> {
  /** Default `all-pay`. */
  readonly name?: string;
}

/** A ClusterEgressPolicy; see the module comment for the defaults. */
export function clusterEgressPolicy(options: ClusterEgressPolicyOptions = {}): ClusterEgressPolicy {
  return {
    apiVersion: API_VERSION,
    kind: 'ClusterEgressPolicy',
    metadata: { name: options.name ?? 'all-pay', creationTimestamp: CREATED },
    spec: { ...defaultSpec(), namespaceSelector: { matchLabels: { team: 'pay' } }, ...options.spec },
    ...statusOf(options.assignments),
  };
}
