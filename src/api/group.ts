/**
 * @module
 * API group, version and kind names of the cloud-egress custom resources.
 */

/** The API group of every cloud-egress resource. */
export const GROUP = 'cloudegress.io';
/** The one served and stored version. */
export const VERSION = 'v1alpha1';
/** `apiVersion` as written in manifests. */
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Names of one custom resource kind, as a CustomResourceDefinition spells them. */
export interface KindNames {
  readonly kind: string;
  readonly listKind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly scope: 'Cluster' | 'Namespaced';
}

/** `EgressGateway`: cluster-scoped group of gateway nodes and the egress IPs they may hold. */
export const EGRESS_GATEWAY: KindNames = {
  kind: 'EgressGateway',
  listKind: 'EgressGatewayList',
  plural: 'egressgateways',
  singular: 'egressgateway',
  shortNames: ['egw'],
  scope: 'Cluster',
};

/** `EgressPolicy`: namespaced; selects pods of its own namespace. */
export const EGRESS_POLICY: KindNames = {
  kind: 'EgressPolicy',
  listKind: 'EgressPolicyList',
  plural: 'egresspolicies',
  singular: 'egresspolicy',
  shortNames: ['egp'],
  scope: 'Namespaced',
};

/** `ClusterEgressPolicy`: cluster-scoped; selects pods across namespaces. */
export const CLUSTER_EGRESS_POLICY: KindNames = {
  kind: 'ClusterEgressPolicy',
  listKind: 'ClusterEgressPolicyList',
  plural: 'clusteregresspolicies',
  singular: 'clusteregresspolicy',
  shortNames: ['cegp'],
  scope: 'Cluster',
};

/** The project's custom resource kinds. */
export type CustomKind = 'EgressGateway' | 'EgressPolicy' | 'ClusterEgressPolicy';

/** The names of each custom kind, by kind. */
export const KIND_NAMES: Readonly<Record<CustomKind, KindNames>> = {
  EgressGateway: EGRESS_GATEWAY,
  EgressPolicy: EGRESS_POLICY,
  ClusterEgressPolicy: CLUSTER_EGRESS_POLICY,
};
