/**
 * @module
 * The narrow Compute Engine seam the GCP provider uses ({@link ComputeApi}: the subset of the API that is
 * actually called, as external-dns's `Route53API`), and its implementation over the real
 * `@google-cloud/compute` clients (REST transport).
 *
 * One call is not made through the generated client: an `updateNetworkInterface` that empties
 * `aliasIpRanges`. The generated client serialises requests as proto3 JSON, which omits empty repeated
 * fields, and under the method's PATCH semantics an absent field is left unchanged, so the last alias range
 * could never be removed (googleapis/google-cloud-python#11931; the Go client needs `ForceSendFields`,
 * googleapis/google-api-go-client#476). That one request is sent as JSON through the same authenticated
 * client the SDK uses.
 */
import { InstancesClient, protos, SubnetworksClient, ZoneOperationsClient } from '@google-cloud/compute';
import { type AuthClient, GoogleAuth, PassThroughClient } from 'google-auth-library';

/** `AliasIpRange`. */
export interface GceAliasRange {
  readonly ipCidrRange: string;
  readonly subnetworkRangeName?: string;
}

/** The fields of a `NetworkInterface` the provider reads. */
export interface GceNic {
  readonly name: string;
  readonly networkIP: string;
  readonly fingerprint: string;
  /** Full URL of the subnetwork. */
  readonly subnetwork: string;
  readonly aliasIpRanges: readonly GceAliasRange[];
}

/** The fields of an `Instance` the provider reads. */
export interface GceInstance {
  readonly name: string;
  /** `RUNNING`, `STOPPING`, `TERMINATED`, `SUSPENDED`, ... (the REST reference's `Instance.status`). */
  readonly status: string;
  readonly networkInterfaces: readonly GceNic[];
}

/** The fields of a `Subnetwork` the provider reads. */
export interface GceSubnetwork {
  readonly name: string;
  readonly ipCidrRange: string;
  readonly secondaryIpRanges: readonly { readonly rangeName: string; readonly ipCidrRange: string }[];
}

/** The fields of a zonal `Operation` the provider reads. */
export interface GceOperation {
  readonly name: string;
  readonly status: 'PENDING' | 'RUNNING' | 'DONE';
  readonly errors: readonly { readonly code: string; readonly message: string }[];
}

/** Identifies an instance. */
export interface InstanceKey {
  readonly project: string;
  readonly zone: string;
  readonly instance: string;
}

/** The Compute Engine calls the provider makes. */
export interface ComputeApi {
  /** `instances.get`. */
  getInstance(key: InstanceKey, signal?: AbortSignal): Promise<GceInstance>;
  /**
   * `instances.updateNetworkInterface` with the NIC's fingerprint and, when given, a `requestId` (a UUID; the
   * same one again answers the first request's operation); the returned operation may still run.
   */
  updateAliasRanges(
    key: InstanceKey,
    nic: string,
    update: {
      readonly fingerprint: string;
      readonly aliasIpRanges: readonly GceAliasRange[];
      readonly requestId?: string;
    },
    signal?: AbortSignal,
  ): Promise<GceOperation>;
  /** `zoneOperations.wait`: may return before the operation is DONE. */
  waitOperation(
    project: string,
    zone: string,
    operation: string,
    signal?: AbortSignal,
  ): Promise<GceOperation>;
  /** `subnetworks.get`. */
  getSubnetwork(project: string, region: string, name: string, signal?: AbortSignal): Promise<GceSubnetwork>;
  /** `instances.testIamPermissions`: which of `permissions` the caller holds on the instance. */
  testInstancePermissions(
    key: InstanceKey,
    permissions: readonly string[],
    signal?: AbortSignal,
  ): Promise<string[]>;
  /** `subnetworks.testIamPermissions`: which of `permissions` the caller holds on the subnetwork. */
  testSubnetworkPermissions(
    project: string,
    region: string,
    name: string,
    permissions: readonly string[],
    signal?: AbortSignal,
  ): Promise<string[]>;
  /** Closes the clients. */
  close(): Promise<void>;
}

/** Options of {@link createComputeApi}. */
export interface ComputeApiOptions {
  /**
   * API endpoint, e.g. `https://compute.googleapis.com` (default), a Private Service Connect endpoint,
   * or `http://127.0.0.1:PORT` for a local emulator. Plain `http:` endpoints get no credentials.
   */
  readonly endpoint?: string;
  /** Auth client; default Application Default Credentials (GKE Workload Identity) or none for `http:`. */
  readonly authClient?: AuthClient | GoogleAuth;
}

const COMPUTE_SCOPE = 'https://www.googleapis.com/auth/compute';
const { Status } = protos.google.cloud.compute.v1.Operation;

type SdkOperation = protos.google.cloud.compute.v1.IOperation;

function toOperation(op: SdkOperation | null | undefined): GceOperation {
  const raw = op?.status;
  const status = typeof raw === 'number' ? Status[raw] : raw;
  return {
    name: op?.name ?? '',
    status: status === 'DONE' || status === 'RUNNING' ? status : 'PENDING',
    errors: (op?.error?.errors ?? []).map((e) => ({ code: e.code ?? '', message: e.message ?? '' })),
  };
}

function toInstance(inst: protos.google.cloud.compute.v1.IInstance): GceInstance {
  return {
    name: inst.name ?? '',
    status: inst.status ?? '',
    networkInterfaces: (inst.networkInterfaces ?? []).map((nic) => ({
      name: nic.name ?? '',
      networkIP: nic.networkIP ?? '',
      fingerprint: nic.fingerprint ?? '',
      subnetwork: nic.subnetwork ?? '',
      aliasIpRanges: (nic.aliasIpRanges ?? []).map((a) =>
        a.subnetworkRangeName
          ? { ipCidrRange: a.ipCidrRange ?? '', subnetworkRangeName: a.subnetworkRangeName }
          : { ipCidrRange: a.ipCidrRange ?? '' },
      ),
    })),
  };
}

/** A {@link ComputeApi} over the real `@google-cloud/compute` REST clients. */
export function createComputeApi(options: ComputeApiOptions = {}): ComputeApi {
  const endpoint = new URL(options.endpoint ?? 'https://compute.googleapis.com');
  const insecure = endpoint.protocol === 'http:';
  const authClient =
    options.authClient ?? (insecure ? new PassThroughClient() : new GoogleAuth({ scopes: [COMPUTE_SCOPE] }));
  const clientOptions = {
    apiEndpoint: endpoint.hostname,
    port: Number(endpoint.port || (insecure ? 80 : 443)),
    protocol: insecure ? 'http' : 'https',
    fallback: true,
    ...(authClient instanceof GoogleAuth ? { auth: authClient } : { authClient }),
  };
  const instances = new InstancesClient(clientOptions);
  const zoneOperations = new ZoneOperationsClient(clientOptions);
  const subnetworks = new SubnetworksClient(clientOptions);
  const base = `${endpoint.protocol}//${endpoint.host}/compute/v1`;

  return {
    async getInstance({ project, zone, instance }, signal) {
      signal?.throwIfAborted();
      const [inst] = await instances.get({ project, zone, instance });
      return toInstance(inst);
    },

    async updateAliasRanges({ project, zone, instance }, nic, update, signal) {
      signal?.throwIfAborted();
      const resource = {
        fingerprint: update.fingerprint,
        aliasIpRanges: update.aliasIpRanges.map((a) => ({ ...a })),
      };
      if (resource.aliasIpRanges.length === 0) {
        // See the module comment: the generated client would drop the empty list.
        const path = [project, 'zones', zone, 'instances', instance].map(encodeURIComponent).join('/');
        const response = await authClient.request<SdkOperation>({
          url: `${base}/projects/${path}/updateNetworkInterface`,
          method: 'PATCH',
          params: { networkInterface: nic, ...(update.requestId ? { requestId: update.requestId } : {}) },
          data: resource,
          ...(signal ? { signal } : {}),
        });
        return toOperation(response.data);
      }
      const [lro] = await instances.updateNetworkInterface({
        project,
        zone,
        instance,
        networkInterface: nic,
        networkInterfaceResource: resource,
        ...(update.requestId ? { requestId: update.requestId } : {}),
      });
      return toOperation(lro.latestResponse as SdkOperation);
    },

    async waitOperation(project, zone, operation, signal) {
      signal?.throwIfAborted();
      const [op] = await zoneOperations.wait({ project, zone, operation });
      return toOperation(op);
    },

    async getSubnetwork(project, region, subnetwork, signal) {
      signal?.throwIfAborted();
      const [subnet] = await subnetworks.get({ project, region, subnetwork });
      return {
        name: subnet.name ?? subnetwork,
        ipCidrRange: subnet.ipCidrRange ?? '',
        secondaryIpRanges: (subnet.secondaryIpRanges ?? []).map((r) => ({
          rangeName: r.rangeName ?? '',
          ipCidrRange: r.ipCidrRange ?? '',
        })),
      };
    },

    async testInstancePermissions({ project, zone, instance }, permissions, signal) {
      signal?.throwIfAborted();
      const body = { testPermissionsRequestResource: { permissions: [...permissions] } };
      const [answer] = await instances.testIamPermissions({ project, zone, resource: instance, ...body });
      return answer.permissions ?? [];
    },

    async testSubnetworkPermissions(project, region, subnetwork, permissions, signal) {
      signal?.throwIfAborted();
      const body = { testPermissionsRequestResource: { permissions: [...permissions] } };
      const [answer] = await subnetworks.testIamPermissions({
        project,
        region,
        resource: subnetwork,
        ...body,
      });
      return answer.permissions ?? [];
    },

    async close() {
      await Promise.all([instances.close(), zoneOperations.close(), subnetworks.close()]);
    },
  };
}
