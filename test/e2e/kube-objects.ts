/**
 * @module
 * The box's Kubernetes objects, written through the API server as a kubelet and a CNI would: a Node per
 * node namespace (providerID `aws:///<zone>/<instance>`, InternalIP = the namespace's IP (and its IPv6 address in
 * dual stack, with a second pod CIDR), zone label, Ready
 * condition through the status subresource), a Pod per pod namespace (`spec.nodeName`, `status.podIP`), and
 * the EgressGateway / EgressPolicy of a scenario, all built by test/support. No kubelet or node controller
 * runs: a node the box powers off keeps its Ready condition, and the controllers find it failed by probing
 * its agent.
 */
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { EgressGateway, GatewayNodeStatus } from '../../src/api/egress-gateway.ts';
import type { EgressPolicy, IpAssignmentStatus } from '../../src/api/egress-policy.ts';
import { GROUP, KIND_NAMES, VERSION } from '../../src/api/group.ts';
import { createBoundPod, deleteBoundPod } from '../support/bound-pods.ts';
import { createCustomObject, patchCustomObject, readCustomObject } from '../support/custom-objects.ts';
import { egressGateway } from '../support/egress-gateways.ts';
import { egressPolicy } from '../support/egress-policies.ts';
import { createNode } from '../support/nodes.ts';
import type { AwsWorld } from './aws-world.ts';
import { type BoxNode, type BoxPod, podCidr6 } from './topology.ts';

/** Label that makes a node gateway-capable in the box. */
export const GATEWAY_LABEL = 'box.cloudegress.io/gateway';

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

  /** Registers a node as its kubelet would, Ready, with `podCidr` (none where the VPC CNI runs). */
  async createNode(
    node: BoxNode,
    world: AwsWorld,
    podCidr: string | undefined = node.podCidr,
  ): Promise<void> {
    await createNode(this.#core, {
      name: node.name,
      providerID: `aws:///${node.zone.name}/${world.instances.get(node.name)}`,
      zone: node.zone.name,
      labels: {
        'kubernetes.io/hostname': node.name,
        'topology.kubernetes.io/region': world.region,
        ...(node.gateway ? { [GATEWAY_LABEL]: 'true' } : {}),
      },
      ...(podCidr ? { podCIDR: podCidr } : {}),
      ...(podCidr && node.ip6 ? { podCIDR6: podCidr6(node.index) } : {}),
      address: node.ip,
      ...(node.ip6 ? { address6: node.ip6 } : {}),
      ready: true,
    });
  }

  /** Cordons the Node, as `kubectl cordon` (the first step of `kubectl drain` and of node-pool upgrades) does. */
  async cordon(name: string): Promise<void> {
    await this.#core.patchNode(
      { name, body: { spec: { unschedulable: true } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  /** Deletes the Node object (what the cloud node controller does once the instance is gone). */
  async deleteNode(name: string): Promise<void> {
    await this.#core.deleteNode({ name });
  }

  /** Sets the policy's `spec.egressIPs`. */
  async setPolicyIPs(namespace: string, name: string, egressIPs: readonly string[]): Promise<void> {
    await patchCustomObject(
      this.#custom,
      { kind: 'EgressPolicy', namespace, name },
      { spec: { egressIPs: [...egressIPs] } },
    );
  }

  /** Every EgressPolicy's `status.assignments`, all namespaces. */
  async policyAssignments(): Promise<IpAssignmentStatus[]> {
    const list = (await this.#custom.listClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: KIND_NAMES.EgressPolicy.plural,
    })) as { items: EgressPolicy[] };
    return list.items.flatMap((p) => p.status?.assignments ?? []);
  }

  /** The EgressGateway called `name`, if it exists. */
  async gateway(name: string): Promise<EgressGateway | undefined> {
    return readCustomObject<EgressGateway>(this.#custom, { kind: 'EgressGateway', name });
  }

  /** The gateway's `status.nodes` (none while it has no status). */
  async gatewayNodes(name: string): Promise<GatewayNodeStatus[]> {
    const gw = await readCustomObject<EgressGateway>(this.#custom, { kind: 'EgressGateway', name });
    return gw?.status?.nodes ?? [];
  }

  /** Creates a running Pod for a pod namespace. */
  async createPod(pod: BoxPod, namespace: string, labels: Record<string, string>): Promise<void> {
    await createBoundPod(this.#core, {
      namespace,
      name: pod.name,
      node: pod.node.name,
      labels,
      image: 'registry.invalid/probe:1',
      ip: pod.ip,
      ...(pod.ip6 ? { ip6: pod.ip6 } : {}),
      hostIP: pod.node.ip,
    });
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
  async deletePod(namespace: string, name: string, options: { force?: boolean } = {}): Promise<void> {
    await deleteBoundPod(this.#core, namespace, name, options);
  }

  /** Creates an EgressGateway over the gateway-capable nodes (`publicAddresses`: IP -> Elastic IP allocation). */
  async createGateway(
    name: string,
    ips: readonly string[],
    annotations: Record<string, string> = {},
    publicAddresses: ReadonlyMap<string, string> = new Map(),
  ): Promise<void> {
    await createCustomObject(
      this.#custom,
      egressGateway({
        name,
        annotations,
        spec: {
          nodeSelector: { matchLabels: { [GATEWAY_LABEL]: 'true' } },
          ips: [...ips],
          namespaceSelector: {},
          ...(publicAddresses.size
            ? { publicAddresses: [...publicAddresses].map(([ip, address]) => ({ ip, address })) }
            : {}),
        },
      }),
    );
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
    await createCustomObject(
      this.#custom,
      egressPolicy({
        namespace,
        name,
        spec: {
          gatewayName: spec.gatewayName,
          podSelector: { matchLabels: spec.podSelector },
          egressIPs: [...spec.egressIPs],
          destinationCIDRs: [...spec.destinationCIDRs],
        },
      }),
    );
  }

  /** The policy's `status.assignments` (none while it has no status, or is gone). */
  async assignments(namespace: string, name: string): Promise<IpAssignmentStatus[]> {
    const policy = await readCustomObject<EgressPolicy>(this.#custom, {
      kind: 'EgressPolicy',
      namespace,
      name,
    });
    return policy?.status?.assignments ?? [];
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
