/**
 * @module
 * `EgressPolicy` (namespaced) and `ClusterEgressPolicy` (cluster-scoped): which pods leave through which
 * gateway, to which destinations, with which egress IPs.
 *
 * ```yaml
 * apiVersion: cloudegress.io/v1alpha1
 * kind: EgressPolicy
 * metadata: { name: to-partner, namespace: payments }
 * spec:
 *   gatewayName: prod
 *   podSelector: { matchLabels: { app: api } }
 *   destinationCIDRs: ["203.0.113.0/24"]
 *   count: 2            # or egressIPs: ["10.0.1.17"]
 * ```
 */
import Type from 'typebox';
import { Cidr, Conditions, cel, IpAddress, LIMITS, labelSelector, type ObjectMeta } from './schema-common.ts';

/** State of one egress IP of a policy. */
export const ASSIGNMENT_STATE = {
  /** Chosen and placed by the scheduler; the cloud call has not confirmed it yet. */
  Pending: 'Pending',
  /** The cloud holds the IP on the node's interface. */
  Assigned: 'Assigned',
  /** Assigned and the node is healthy: traffic flows. */
  Ready: 'Ready',
  /** It could not be placed or assigned; `reason` and `message` say why. */
  Failed: 'Failed',
} as const;
/** State of one egress IP of a policy. */
export type AssignmentState = (typeof ASSIGNMENT_STATE)[keyof typeof ASSIGNMENT_STATE];

/**
 * The states in which a status entry makes its IP usable for its policy: agents program it (src/agent/usable-ips.ts),
 * and no other policy's status may name the same IP in one of them at the same time.
 */
export const USABLE_STATES: ReadonlySet<string> = new Set<string>([
  ASSIGNMENT_STATE.Pending,
  ASSIGNMENT_STATE.Assigned,
  ASSIGNMENT_STATE.Ready,
]);

const policySpecFields = {
  gatewayName: Type.String({
    minLength: 1,
    maxLength: 253,
    description: 'The EgressGateway whose IPs to use.',
  }),
  podSelector: labelSelector('Pods to send through the gateway. {} selects all.'),
  destinationCIDRs: Type.Optional(
    Type.Array(Cidr, {
      maxItems: LIMITS.listItems,
      description: 'Destinations that leave through the egress IP. Absent: all (0.0.0.0/0 and ::/0).',
    }),
  ),
  excludedCIDRs: Type.Optional(
    Type.Array(Cidr, {
      maxItems: LIMITS.listItems,
      description: 'Destinations that keep their normal path.',
    }),
  ),
  egressIPs: Type.Optional(
    Type.Array(IpAddress, {
      minItems: 1,
      maxItems: LIMITS.maxCount,
      'x-kubernetes-list-type': 'set',
      description: "Explicit egress IPs, each from the gateway's spec.ips. Mutually exclusive with count.",
    }),
  ),
  count: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: LIMITS.maxCount,
      description:
        'Number of active-active egress IPs picked from the gateway (default 1). Exclusive with egressIPs.',
    }),
  ),
  ipFamilies: Type.Optional(
    Type.Array(Type.Union([Type.Literal('IPv4'), Type.Literal('IPv6')]), {
      minItems: 1,
      maxItems: 2,
      'x-kubernetes-list-type': 'set',
      description:
        'With count: the families to pick IPs of, count IPs of each (default [IPv4]; [IPv4, IPv6] for dual stack). With egressIPs the IPs give the families.',
    }),
  ),
  zoneAffinity: Type.Optional(
    Type.Union([Type.Literal('None'), Type.Literal('Preferred')], {
      default: 'None',
      description: 'Preferred: a pod uses an egress IP held in its own zone when there is one.',
    }),
  ),
};

const exclusiveIps = cel(
  {
    rule: '!(has(self.egressIPs) && has(self.count))',
    message: 'set either spec.egressIPs (explicit IPs) or spec.count (IPs picked from the gateway), not both',
  },
  {
    rule: '!(has(self.egressIPs) && has(self.ipFamilies))',
    message:
      'spec.ipFamilies goes with spec.count; with spec.egressIPs each IP gives its own family, so drop ipFamilies',
  },
);

/** Spec of an EgressPolicy. */
export const EgressPolicySpec = Type.Object(policySpecFields, exclusiveIps);
/** Spec of an EgressPolicy. */
export type EgressPolicySpec = Type.Static<typeof EgressPolicySpec>;

/** Spec of a ClusterEgressPolicy: an EgressPolicy spec plus the namespaces whose pods it selects. */
export const ClusterEgressPolicySpec = Type.Object(
  {
    ...policySpecFields,
    namespaceSelector: labelSelector(
      'Namespaces whose pods (matching podSelector) the policy selects. {} selects all.',
    ),
  },
  exclusiveIps,
);
/** Spec of a ClusterEgressPolicy. */
export type ClusterEgressPolicySpec = Type.Static<typeof ClusterEgressPolicySpec>;

/** One egress IP of a policy and where it is. */
export const IpAssignmentStatus = Type.Object({
  ip: Type.Optional(IpAddress),
  node: Type.Optional(Type.String({ maxLength: 253 })),
  state: Type.Union([
    Type.Literal(ASSIGNMENT_STATE.Pending),
    Type.Literal(ASSIGNMENT_STATE.Assigned),
    Type.Literal(ASSIGNMENT_STATE.Ready),
    Type.Literal(ASSIGNMENT_STATE.Failed),
  ]),
  since: Type.Optional(Type.String({ format: 'date-time' })),
  reason: Type.Optional(Type.String({ maxLength: 128 })),
  message: Type.Optional(Type.String({ maxLength: 1024 })),
  handoverTo: Type.Optional(
    Type.String({
      maxLength: 253,
      description:
        'A planned move to this node is under way: it holds the IP too, and the node in `node` copies what it sends from the IP to it.',
    }),
  ),
  handoverFrom: Type.Optional(
    Type.String({
      maxLength: 253,
      description:
        'A planned move from this node has just been made: it still holds the IP and copies what it is sent to the node in `node`.',
    }),
  ),
});
/** One egress IP of a policy and where it is. */
export type IpAssignmentStatus = Type.Static<typeof IpAssignmentStatus>;

/** Status of an EgressPolicy or ClusterEgressPolicy. */
export const EgressPolicyStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
  assignments: Type.Optional(Type.Array(IpAssignmentStatus, { maxItems: LIMITS.statusItems })),
  ips: Type.Optional(
    Type.String({
      maxLength: 4096,
      description: 'The egress IPs, comma-separated (for kubectl get; see assignments).',
    }),
  ),
  ipv4: Type.Optional(
    Type.String({
      maxLength: 4096,
      description: 'The IPv4 egress IPs, comma-separated (for kubectl get; see assignments).',
    }),
  ),
  ipv6: Type.Optional(
    Type.String({
      maxLength: 4096,
      description: 'The IPv6 egress IPs, comma-separated (for kubectl get; see assignments).',
    }),
  ),
  nodes: Type.Optional(
    Type.String({
      maxLength: 8192,
      description: 'The nodes holding them, comma-separated (for kubectl get).',
    }),
  ),
  conditions: Type.Optional(Conditions),
});
/** Status of an EgressPolicy or ClusterEgressPolicy. */
export type EgressPolicyStatus = Type.Static<typeof EgressPolicyStatus>;

/**
 * The `ips`, `ipv4`, `ipv6` and `nodes` summary strings of a policy status, derived from its assignments
 * (kubectl's printer columns show only the first match of a JSONPath, so lists are summarised). Every field is
 * written, empty when there is nothing: status writes are merge patches, which keep a field that is left out.
 */
export function summarizeAssignments(assignments: readonly IpAssignmentStatus[]): {
  ips: string;
  ipv4: string;
  ipv6: string;
  nodes: string;
} {
  const ips = assignments.flatMap((a) => (a.ip ? [a.ip] : []));
  const ipv4 = ips.filter((ip) => !ip.includes(':'));
  const ipv6 = ips.filter((ip) => ip.includes(':'));
  const nodes = [...new Set(assignments.flatMap((a) => (a.node ? [a.node] : [])))];
  return { ips: ips.join(','), ipv4: ipv4.join(','), ipv6: ipv6.join(','), nodes: nodes.join(',') };
}

/** An EgressPolicy object. */
export interface EgressPolicy {
  apiVersion: string;
  kind: 'EgressPolicy';
  metadata: ObjectMeta & { namespace: string };
  spec: EgressPolicySpec;
  status?: EgressPolicyStatus;
}

/** A ClusterEgressPolicy object. */
export interface ClusterEgressPolicy {
  apiVersion: string;
  kind: 'ClusterEgressPolicy';
  metadata: ObjectMeta;
  spec: ClusterEgressPolicySpec;
  status?: EgressPolicyStatus;
}

/** Either kind of policy. */
export type AnyEgressPolicy = EgressPolicy | ClusterEgressPolicy;
