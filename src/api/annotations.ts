/**
 * @module
 * Annotation and label keys, and the one finalizer, used by cloud-egress.
 * Every key lives here so that no literal is repeated across the code.
 */
import { GROUP } from './group.ts';

/** The single finalizer put on gateways and policies; the cloud IPs are released before it is removed. */
export const FINALIZER = `${GROUP}/finalizer`;

/** Annotation keys read from EgressGateway objects (provider settings override the Helm values). */
export const ANNOTATIONS = {
  /** Provider of a gateway: `aws`, `gcp`, `azure` or `none`; absent = detected from the nodes' providerID. */
  provider: `${GROUP}/provider`,
  /** Cloud region override (AWS) when it cannot be derived from the node's zone. */
  region: `${GROUP}/region`,
  /** Network interface to hold egress IPs: device index on AWS, NIC name (`nic0`) on GCP, NIC index on Azure. */
  interface: `${GROUP}/interface`,
  /** AWS only: select the ENI by tag `key=value` instead of device index (keeps egress IPs off the VPC CNI's ENIs). */
  interfaceTag: `${GROUP}/interface-tag`,
  /** API endpoint override (LocalStack, emulators, private endpoints). */
  endpoint: `${GROUP}/endpoint`,
  /**
   * Azure scale-set nodes only: comma-separated route tables (resource IDs) that carry the egress IPs' /32 routes
   * besides the one of the gateway nodes' subnet, e.g. a peered VNet's or the GatewaySubnet's (return traffic).
   */
  routeTables: `${GROUP}/route-tables`,
} as const;

/**
 * Annotation read from Nodes: hand-made maintenance. Any value but `false` marks the Node as leaving, like a
 * drain (no new egress IPs; its IPs move to the gateway's other nodes); the value is shown in the status.
 */
export const NODE_MAINTENANCE = `${GROUP}/maintenance`;

/** Label keys. */
export const LABELS = {
  /** Set on objects the project creates, value `cloud-egress`. */
  managedBy: 'app.kubernetes.io/managed-by',
  /** Standard topology label read for a node's zone. */
  zone: 'topology.kubernetes.io/zone',
} as const;

/** Value of {@link LABELS.managedBy} and the tag value that marks cloud resources this project owns. */
export const MANAGER = 'cloud-egress';

/** Tag (AWS), label (GCP) or ipConfiguration name prefix (Azure) marking egress IPs owned by this project. */
export const OWNERSHIP_TAG = `${GROUP}/owner`;
