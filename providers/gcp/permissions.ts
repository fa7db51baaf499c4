/**
 * @module
 * The IAM permissions of the Compute Engine calls the GCP provider makes (each method's "IAM Permissions" in the
 * REST reference), by the resource GCP checks them on. The custom role in docs/gcp.md and docs/quickstart-gke.md
 * grants exactly these (test/chart/docs.test.ts keeps them in line with client.ts), and preflight.ts tests the
 * instance and subnetwork ones with `testIamPermissions`.
 *
 * | call (client.ts)                    | permission                                | checked on      |
 * |-------------------------------------|-------------------------------------------|-----------------|
 * | `instances.get`                     | `compute.instances.get`                   | the instance    |
 * | `instances.updateNetworkInterface`  | `compute.instances.updateNetworkInterface`| the instance    |
 * | `subnetworks.get`                   | `compute.subnetworks.get`                 | the subnetwork  |
 * | `zoneOperations.wait`               | `compute.zoneOperations.get`              | the project     |
 * | `*.testIamPermissions`              | none ("returns permissions that a caller has") |            |
 */

/** The permission each method of client.ts needs, by `<collection>.<method>` (none for testIamPermissions). */
export const CALL_PERMISSIONS: Readonly<Record<string, string | undefined>> = {
  'instances.get': 'compute.instances.get',
  'instances.updateNetworkInterface': 'compute.instances.updateNetworkInterface',
  'subnetworks.get': 'compute.subnetworks.get',
  'zoneOperations.wait': 'compute.zoneOperations.get',
  'instances.testIamPermissions': undefined,
  'subnetworks.testIamPermissions': undefined,
};

/** Permissions GCP checks on each gateway instance. */
export const INSTANCE_PERMISSIONS = [
  'compute.instances.get',
  'compute.instances.updateNetworkInterface',
] as const;

/** Permissions GCP checks on each gateway subnetwork (in the host project with a Shared VPC). */
export const SUBNETWORK_PERMISSIONS = ['compute.subnetworks.get'] as const;

/**
 * Permissions GCP checks on the project, which `testIamPermissions` on an instance or subnetwork cannot answer
 * (zonal operations have no such method); preflight leaves them out.
 */
export const PROJECT_PERMISSIONS = ['compute.zoneOperations.get'] as const;

/** Every permission the provider needs: the custom role's. */
export const ALL_PERMISSIONS: readonly string[] = [
  ...INSTANCE_PERMISSIONS,
  ...SUBNETWORK_PERMISSIONS,
  ...PROJECT_PERMISSIONS,
].sort();

/** What fails without each permission, for preflight's messages. */
export const WITHOUT: Readonly<Record<string, string>> = {
  'compute.instances.get':
    "the node's network interface cannot be read, so no egress IP can be placed on or moved off it",
  'compute.instances.updateNetworkInterface':
    "egress IPs cannot be added to or removed from the node's network interface: a failover onto or off it fails",
  'compute.subnetworks.get':
    'the egress range of the subnetwork cannot be read, so no egress IP can be added on its nodes',
};
