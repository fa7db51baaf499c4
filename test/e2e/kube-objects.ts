/**
 * @module
 * The box's Kubernetes objects, written through the API server as a kubelet and a CNI would: a Node per
 * node namespace (providerID `aws:///<zone>/<instance>`, InternalIP = the namespace's IP, zone label, Ready
 * condition through the status subresource), a Pod per pod namespace (`spec.nodeName`, `status.podIP`), and
 * the EgressGateway / EgressPolicy of a scenario. There is no kubelet: a test marks a node NotReady or
 * deletes it with {@link KubeObjects.setNodeReady} / {@link KubeObjects.deleteNode}.
 */
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type V1Node,
} from '@kubernetes/client-node';
import { LABELS } from '../../src/api/annotations.ts';
import { API_VERSION, GROUP, VERSION } from '../../src/api/group.ts';
import { createBoundPod, deleteBoundPod } from '../support/bound-pods.ts';
import type { AwsWorld } from './aws-world.ts';
import type { BoxNode, BoxPod } from './topology.ts';

/** Label that makes a node gateway-capable in the box. */
export const GATEWAY_LABEL = 'box.cloudegress.io/gateway';

/** A policy's placement as its status says. */
export interface AssignmentView {
  readonly ip: string;
  readonly node?: string;
  readonly state: string;
}

/** Writes and reads the box's objects. */
export class KubeObjects {
  readonly #core: CoreV1Api;
  readonly #custom: CustomObjectsApi;
  readonly #coordination: CoordinationV1Api;

  constructor(kubeConfig: KubeConfig) {
    this.#core = kubeConfig.makeApiClient(CoreV1Api);
    this.#coordination = kubeConfig.makeApiClient(CoordinationV1Api);
    this.#custom = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  /** Creates a namespace with a fixed name (and labels). */
  async namespace(name: string, labels: Record<string, string> = {}): Promise<void> {
    await this.#core.createNamespace({ body: { metadata: { name, labels } } });
  }

  /** Registers a node as its kubelet would, Ready. */
  async createNode(node: BoxNode, world: AwsWorld): Promise<void> {
    const body: V1Node = {
      metadata: {
        name: node.name,
        labels: {
          'kubernetes.io/hostname': node.name,
          [LABELS.zone]: node.zone.name,
          'topology.kubernetes.io/region': world.region,
          ...(node.gateway ? { [GATEWAY_LABEL]: 'true' } : {}),
        },
      },
      spec: {
        providerID: `aws:///${node.zone.name}/${world.instances.get(node.name)}`,
        podCIDR: node.podCidr,
      },
    };
    await this.#core.createNode({ body });
    await this.setNodeReady(node.name, true, node.ip);
  }

  /** Sets the node's Ready condition (and its addresses) through the status subresource. */
  async setNodeReady(name: string, ready: boolean, ip?: string): Promise<void> {
    const current = await this.#core.readNodeStatus({ name });
    const now = new Date();
    const address = ip ?? current.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    current.status = {
      ...current.status,
      addresses: address
        ? [
            { type: 'InternalIP', address },
            { type: 'Hostname', address: name },
          ]
        : [],
      conditions: [
        {
          type: 'Ready',
          status: ready ? 'True' : 'False',
          reason: ready ? 'KubeletReady' : 'NodeStatusUnknown',
          message: ready ? 'kubelet is posting ready status' : 'Kubelet stopped posting node status.',
          lastHeartbeatTime: now,
          lastTransitionTime: now,
        },
      ],
    };
    await this.#core.replaceNodeStatus({ name, body: current });
  }

  /** Deletes a Node object. */
  async deleteNode(name: string): Promise<void> {
    await this.#core.deleteNode({ name });
  }

  /** Creates a running Pod for a pod namespace. */
  async createPod(pod: BoxPod, namespace: string, labels: Record<string, string>): Promise<void> {
    await createBoundPod(this.#core, {
      namespace,
      name: pod.name,
      node: pod.node.name,
      labels,
      image: 'registry.invalid/probe:1',
    });
    const current = await this.#core.readNamespacedPodStatus({ name: pod.name, namespace });
    current.status = {
      ...current.status,
      phase: 'Running',
      hostIP: pod.node.ip,
      podIP: pod.ip,
      podIPs: [{ ip: pod.ip }],
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date() }],
    };
    await this.#core.replaceNamespacedPodStatus({ name: pod.name, namespace, body: current });
  }

  /** Creates an agent Pod bound to `node`, as the DaemonSet would (no kubelet runs it). */
  async createAgentPod(namespace: string, name: string, node: string, labels: Record<string, string>) {
    await createBoundPod(this.#core, {
      namespace,
      name,
      node,
      labels,
      image: 'registry.invalid/cloud-egress:box',
    });
  }

  /** Deletes a Pod: Terminating until `force` (see {@link deleteBoundPod}). */
  async deletePod(namespace: string, name: string, force = false): Promise<void> {
    await deleteBoundPod(this.#core, namespace, name, force);
  }

  /** Creates an EgressGateway over the gateway-capable nodes. */
  async createGateway(
    name: string,
    ips: readonly string[],
    annotations: Record<string, string> = {},
  ): Promise<void> {
    await this.#custom.createClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: 'egressgateways',
      body: {
        apiVersion: API_VERSION,
        kind: 'EgressGateway',
        metadata: { name, annotations },
        spec: { nodeSelector: { matchLabels: { [GATEWAY_LABEL]: 'true' } }, ips, namespaceSelector: {} },
      },
    });
  }

  /** Creates an EgressPolicy with explicit egress IPs. */
  async createPolicy(
    namespace: string,
    name: string,
    spec: {
      gatewayName: string;
      podSelector: Record<string, string>;
      egressIPs: readonly string[];
      destinationCIDRs: readonly string[];
    },
  ): Promise<void> {
    await this.#custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: 'egresspolicies',
      body: {
        apiVersion: API_VERSION,
        kind: 'EgressPolicy',
        metadata: { name, namespace },
        spec: {
          gatewayName: spec.gatewayName,
          podSelector: { matchLabels: spec.podSelector },
          egressIPs: spec.egressIPs,
          destinationCIDRs: spec.destinationCIDRs,
        },
      },
    });
  }

  /** The policy's `status.assignments`. */
  async assignments(namespace: string, name: string): Promise<AssignmentView[]> {
    const policy = (await this.#custom.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: 'egresspolicies',
      name,
    })) as { status?: { assignments?: AssignmentView[] } };
    return policy.status?.assignments ?? [];
  }

  /** Holder of a Lease (the leader controller's identity), if any. */
  async leaseHolder(namespace: string, name: string): Promise<string | undefined> {
    try {
      const lease = await this.#coordination.readNamespacedLease({ namespace, name });
      return lease.spec?.holderIdentity ?? undefined;
    } catch {
      return undefined;
    }
  }
}
