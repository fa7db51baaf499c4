/**
 * @module
 * `EgressGateway`: a cluster-scoped group of gateway nodes and the egress IPs they may hold.
 *
 * ```yaml
 * apiVersion: cloudegress.io/v1alpha1
 * kind: EgressGateway
 * metadata: { name: prod }
 * spec:
 *   nodeSelector: { matchLabels: { egress: "true" } }
 *   ips: ["10.0.1.16/28", "10.0.2.16/28"]   # one range per zone's subnet on AWS
 *   namespaceSelector: { matchLabels: { team: payments } }
 *   publicAddresses: [{ ip: 10.0.1.17, address: eipalloc-0123456789abcdef0 }]   # optional
 * ```
 */
import Type from 'typebox';
import {
  Cidr,
  Conditions,
  cel,
  IpAddress,
  IpPoolEntry,
  LIMITS,
  labelSelector,
  type ObjectMeta,
} from './schema-common.ts';

/** Spec of an EgressGateway. */
export const EgressGatewaySpec = Type.Object(
  {
    nodeSelector: labelSelector(
      "Nodes that may hold this gateway's egress IPs (label selector over Node objects).",
    ),
    ips: Type.Optional(
      Type.Array(IpPoolEntry, {
        maxItems: LIMITS.listItems,
        description:
          "Egress IPs this gateway may hand out: IPs, CIDRs or start-end ranges. Each must lie in a subnet of a selected node's interface.",
      }),
    ),
    cloudAllocated: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 1024,
        description: "Number of additional egress IPs the cloud picks from the nodes' subnets (AWS only).",
      }),
    ),
    maxIPsPerNode: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1024,
        description: 'At most this many egress IPs of this gateway on one node.',
      }),
    ),
    namespaceSelector: Type.Optional(
      labelSelector(
        'Namespaces whose EgressPolicies may use this gateway. Absent: none (only ClusterEgressPolicies). {}: all namespaces.',
      ),
    ),
    publicAddresses: Type.Optional(
      Type.Array(
        Type.Object({
          ip: IpAddress,
          address: Type.String({
            minLength: 1,
            maxLength: 512,
            description:
              'The public address to pair with it: an AWS Elastic IP allocation ID (eipalloc-...) or an Azure public IP resource ID.',
          }),
        }),
        {
          // Elastic IPs are few (5 per region by default); 64 keeps the CEL uniqueness rule within its cost budget.
          maxItems: 64,
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['ip'],
          description:
            'Public addresses paired with egress IPs of spec.ips, one per IP: the cloud associates each with its IP on the node that holds it, and the pairing follows the IP when it moves.',
          ...cel({
            rule: 'self.all(x, self.exists_one(y, y.address == x.address))',
            message: 'each public address may be paired with one egress IP only',
          }),
        },
      ),
    ),
    failback: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          'When true, IPs are rebalanced onto a node that recovers; when false (default), IPs stay where they are.',
      }),
    ),
  },
  cel({
    rule: '(has(self.ips) && size(self.ips) > 0) || (has(self.cloudAllocated) && self.cloudAllocated > 0)',
    message:
      'set spec.ips (IPs, CIDRs or ranges) or spec.cloudAllocated (a number of cloud-picked IPs), or both',
  }),
);
/** Spec of an EgressGateway. */
export type EgressGatewaySpec = Type.Static<typeof EgressGatewaySpec>;

/** One node of a gateway, as reported in status. */
export const GatewayNodeStatus = Type.Object({
  name: Type.String({ maxLength: 253 }),
  ready: Type.Boolean({ description: 'Healthy: Node Ready and agent answering probes.' }),
  zone: Type.Optional(Type.String({ maxLength: 128 })),
  interface: Type.Optional(
    Type.String({ maxLength: 512, description: 'Cloud network interface holding the IPs.' }),
  ),
  subnets: Type.Optional(Type.Array(Cidr, { maxItems: 16 })),
  capacity: Type.Optional(Type.Integer({ minimum: 0, description: 'Egress IPs this node can hold in all.' })),
  // Plain strings: a CEL rule here would be checked for up to statusNodes x statusItems entries, past the
  // API server's cost budget; only the controller writes status.
  ips: Type.Optional(
    Type.Array(Type.String({ maxLength: LIMITS.ipLength }), { maxItems: LIMITS.statusItems }),
  ),
  message: Type.Optional(Type.String({ maxLength: 1024 })),
});
/** One node of a gateway, as reported in status. */
export type GatewayNodeStatus = Type.Static<typeof GatewayNodeStatus>;

/** Status of an EgressGateway. */
export const EgressGatewayStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
  provider: Type.Optional(Type.String({ maxLength: 32 })),
  nodes: Type.Optional(Type.Array(GatewayNodeStatus, { maxItems: LIMITS.statusNodes })),
  readyNodes: Type.Optional(Type.Integer({ minimum: 0 })),
  ipsTotal: Type.Optional(Type.Integer({ minimum: 0 })),
  ipsUsed: Type.Optional(Type.Integer({ minimum: 0 })),
  cloudAllocatedIPs: Type.Optional(
    Type.Array(IpAddress, { maxItems: 1024, description: 'IPs the cloud picked for spec.cloudAllocated.' }),
  ),
  publicAddresses: Type.Optional(
    Type.Array(
      Type.Object({
        ip: IpAddress,
        address: Type.String({ maxLength: 512 }),
        publicIp: Type.Optional(
          Type.String({
            maxLength: LIMITS.ipLength,
            description: 'The public IP itself, as destinations see it, once the cloud shows it.',
          }),
        ),
      }),
      {
        maxItems: LIMITS.statusItems,
        description:
          'Public addresses the cloud has paired with egress IPs of this gateway, as the cloud shows them.',
      },
    ),
  ),
  conditions: Type.Optional(Conditions),
});
/** Status of an EgressGateway. */
export type EgressGatewayStatus = Type.Static<typeof EgressGatewayStatus>;

/** An EgressGateway object. */
export interface EgressGateway {
  apiVersion: string;
  kind: 'EgressGateway';
  metadata: ObjectMeta;
  spec: EgressGatewaySpec;
  status?: EgressGatewayStatus;
}
