/**
 * @module
 * The Kubernetes calls of the controller and the agent, behind one narrow interface (external-dns's seam):
 * status and finalizer writes of the custom resources, Events and the Lease (the controller), and the list
 * calls and watch paths of the informers (both).
 *
 * Status writes are JSON merge patches of `/status` (only the leader writes status, so last-writer-wins is
 * right and needs no retry on stale caches); finalizer writes carry `metadata.resourceVersion`, so they fail
 * with 409 Conflict rather than drop someone else's finalizer.
 */
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  type CoreV1Event,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Lease,
  type V1Namespace,
  type V1Node,
  type V1Pod,
  type V1ServiceCIDR,
} from '@kubernetes/client-node';
import type { EgressGateway, EgressGatewayStatus } from '../api/egress-gateway.ts';
import type { AnyEgressPolicy, EgressPolicyStatus } from '../api/egress-policy.ts';
import {
  CLUSTER_EGRESS_POLICY,
  EGRESS_GATEWAY,
  EGRESS_POLICY,
  GROUP,
  KIND_NAMES,
  type KindNames,
  VERSION,
} from '../api/group.ts';

/** The Lease calls leader election makes (narrow, so tests can use a real API server or a small store). */
export interface LeaseApi {
  /** The lease, or undefined when it does not exist. */
  get(): Promise<V1Lease | undefined>;
  /** Creates the lease. @throws on conflict (it exists). */
  create(lease: V1Lease): Promise<V1Lease>;
  /** Replaces the lease; `lease.metadata.resourceVersion` makes it conditional. @throws on conflict. */
  replace(lease: V1Lease): Promise<V1Lease>;
}

/** A custom resource the controller writes. */
export type EgressObject = EgressGateway | AnyEgressPolicy;

/** What the controller does with the API server besides watching. */
export interface KubeApi {
  /**
   * Merge-patches `status`, conditionally on the object's resourceVersion (a status decided from an object
   * that changed since is refused: 409, and the reconcile decides again); returns the object as stored, or
   * undefined when it no longer exists. @throws on conflict.
   */
  patchStatus<T extends EgressObject>(
    obj: T,
    status: EgressGatewayStatus | EgressPolicyStatus,
  ): Promise<T | undefined>;
  /** Sets `metadata.finalizers` conditionally on the object's resourceVersion; undefined when it is gone. */
  setFinalizers<T extends EgressObject>(obj: T, finalizers: readonly string[]): Promise<T | undefined>;
  /** Creates a core/v1 Event. */
  createEvent(event: CoreV1Event): Promise<void>;
  /** The Lease calls of leader election. */
  lease(name: string, namespace: string): LeaseApi;
}

/** The list calls the informers need. */
export interface KubeLists {
  /** EgressGateways (as raw objects; the caches cast them to `EgressGateway`). */
  gateways(): Promise<KubernetesListObject<KubernetesObject>>;
  /** EgressPolicies of every namespace. */
  policies(): Promise<KubernetesListObject<KubernetesObject>>;
  clusterPolicies(): Promise<KubernetesListObject<KubernetesObject>>;
  nodes(): Promise<KubernetesListObject<V1Node>>;
  namespaces(): Promise<KubernetesListObject<V1Namespace>>;
  /** The agent Pods: those of `namespace` that match `labelSelector`. */
  agentPods(namespace: string, labelSelector: string): Promise<KubernetesListObject<V1Pod>>;
  /** The cluster's Service CIDRs (`networking.k8s.io/v1` ServiceCIDR objects). */
  serviceCIDRs(): Promise<KubernetesListObject<V1ServiceCIDR>>;
}

/** Watch paths of the watched resources. */
export const WATCH_PATHS = {
  gateways: `/apis/${GROUP}/${VERSION}/${EGRESS_GATEWAY.plural}`,
  policies: `/apis/${GROUP}/${VERSION}/${EGRESS_POLICY.plural}`,
  clusterPolicies: `/apis/${GROUP}/${VERSION}/${CLUSTER_EGRESS_POLICY.plural}`,
  nodes: '/api/v1/nodes',
  namespaces: '/api/v1/namespaces',
  serviceCIDRs: '/apis/networking.k8s.io/v1/servicecidrs',
  /** Pods of one namespace (the agent Pods, with a label selector). */
  pods: (namespace: string) => `/api/v1/namespaces/${namespace}/pods`,
} as const;

const namesOf = (obj: EgressObject): KindNames => KIND_NAMES[obj.kind];

const isNotFound = (err: unknown) => err instanceof ApiException && err.code === 404;

/** The status code of a client-node error, if it has one. */
export function statusCodeOf(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/** The {@link KubeApi} and {@link KubeLists} over client-node. */
export function createKubeApi(kubeConfig: KubeConfig): KubeApi & { lists: KubeLists } {
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const coordination = kubeConfig.makeApiClient(CoordinationV1Api);
  const networking = kubeConfig.makeApiClient(NetworkingV1Api);
  const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

  const patch = async <T extends EgressObject>(
    obj: T,
    body: object,
    status: boolean,
  ): Promise<T | undefined> => {
    const names = namesOf(obj);
    const base = { group: GROUP, version: VERSION, plural: names.plural, name: obj.metadata.name, body };
    try {
      if (names.scope === 'Namespaced') {
        const req = { ...base, namespace: obj.metadata.namespace ?? '' };
        return (await (status
          ? custom.patchNamespacedCustomObjectStatus(req, merge)
          : custom.patchNamespacedCustomObject(req, merge))) as T;
      }
      return (await (status
        ? custom.patchClusterCustomObjectStatus(base, merge)
        : custom.patchClusterCustomObject(base, merge))) as T;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };

  const listCustom = async (names: KindNames): Promise<KubernetesListObject<KubernetesObject>> =>
    (await custom.listClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: names.plural,
    })) as KubernetesListObject<KubernetesObject>;

  return {
    patchStatus: (obj, status) =>
      patch(obj, { metadata: { resourceVersion: obj.metadata.resourceVersion }, status }, true),
    setFinalizers: (obj, finalizers) =>
      patch(obj, { metadata: { finalizers, resourceVersion: obj.metadata.resourceVersion } }, false),
    async createEvent(event) {
      await core.createNamespacedEvent({ namespace: event.metadata.namespace ?? 'default', body: event });
    },
    lease(name, namespace): LeaseApi {
      return {
        async get() {
          try {
            return await coordination.readNamespacedLease({ name, namespace });
          } catch (err) {
            if (isNotFound(err)) return undefined;
            throw err;
          }
        },
        create: (body: V1Lease) => coordination.createNamespacedLease({ namespace, body }),
        replace: (body: V1Lease) => coordination.replaceNamespacedLease({ name, namespace, body }),
      };
    },
    lists: {
      gateways: () => listCustom(EGRESS_GATEWAY),
      policies: () => listCustom(EGRESS_POLICY),
      clusterPolicies: () => listCustom(CLUSTER_EGRESS_POLICY),
      nodes: () => core.listNode(),
      namespaces: () => core.listNamespace(),
      agentPods: (namespace, labelSelector) => core.listNamespacedPod({ namespace, labelSelector }),
      serviceCIDRs: () => networking.listServiceCIDR(),
    },
  };
}
