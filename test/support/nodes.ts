/**
 * @module
 * Node objects as a kubelet would register them, for API servers without kubelets: created with their
 * labels (the zone under `topology.kubernetes.io/zone`) and providerID, then given their addresses and
 * Ready condition through the status subresource. A test fails a node with {@link setNodeReady}.
 */
import type { CoreV1Api, V1Node, V1NodeStatus } from '@kubernetes/client-node';
import { LABELS } from '../../src/api/annotations.ts';

/** What {@link createNode} registers. */
export interface NodeOptions {
  readonly name: string;
  /** `spec.providerID`, e.g. `aws:///us-east-1a/i-0abc`. */
  readonly providerID?: string;
  /** The `topology.kubernetes.io/zone` label. */
  readonly zone?: string;
  /** Further labels. */
  readonly labels?: Readonly<Record<string, string>>;
  readonly podCIDR?: string;
  /** A dual-stack node's second pod CIDR (`spec.podCIDRs` then holds both, `podCIDR` first). */
  readonly podCIDR6?: string;
  /** The InternalIP (a Hostname address, the node's name, comes with it). */
  readonly address?: string;
  /** A dual-stack node's second InternalIP (its IPv6 address). */
  readonly address6?: string;
  /** The Ready condition; absent, the Node has none (as before a kubelet first reports). */
  readonly ready?: boolean;
}

/** The Node object of `options`, before any status. */
export function nodeObject(options: NodeOptions): V1Node {
  return {
    metadata: {
      name: options.name,
      labels: { ...options.labels, ...(options.zone ? { [LABELS.zone]: options.zone } : {}) },
    },
    spec: {
      ...(options.providerID ? { providerID: options.providerID } : {}),
      ...(options.podCIDR ? { podCIDR: options.podCIDR } : {}),
      ...(options.podCIDR && options.podCIDR6 ? { podCIDRs: [options.podCIDR, options.podCIDR6] } : {}),
    },
  };
}

/** What a status update says; what it leaves out stays as it is. */
export interface NodeStatusUpdate {
  /** The Ready condition: True (`KubeletReady`) or False (`NodeStatusUnknown`, as the node controller says). */
  readonly ready?: boolean;
  /** The InternalIP (with a Hostname address). */
  readonly address?: string;
  /** A second InternalIP (a dual-stack node's IPv6 address), after the first. */
  readonly address6?: string;
}

/** `current` with the addresses and the Ready condition of `update`. */
export function nodeStatus(
  name: string,
  update: NodeStatusUpdate,
  current: V1NodeStatus = {},
  now = new Date(),
): V1NodeStatus {
  const { ready, address, address6 } = update;
  return {
    ...current,
    ...(address
      ? {
          addresses: [
            { type: 'InternalIP', address },
            ...(address6 ? [{ type: 'InternalIP', address: address6 }] : []),
            { type: 'Hostname', address: name },
          ],
        }
      : {}),
    ...(ready === undefined
      ? {}
      : {
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
        }),
  };
}

/** Registers a Node: the object, then its addresses and Ready condition through /status. */
export async function createNode(core: CoreV1Api, options: NodeOptions): Promise<void> {
  await core.createNode({ body: nodeObject(options) });
  if (options.address !== undefined || options.ready !== undefined) {
    await updateNodeStatus(core, options.name, options);
  }
}

/**
 * Sets the Node's Ready condition (and, given one, its InternalIP) through the status subresource, as its
 * kubelet (Ready) or the node lifecycle controller (NotReady) would.
 */
export async function setNodeReady(
  core: CoreV1Api,
  name: string,
  options: { readonly ready: boolean; readonly address?: string },
): Promise<void> {
  await updateNodeStatus(core, name, options);
}

async function updateNodeStatus(core: CoreV1Api, name: string, update: NodeStatusUpdate): Promise<void> {
  const node = await core.readNodeStatus({ name });
  await core.replaceNodeStatus({ name, body: { ...node, status: nodeStatus(name, update, node.status) } });
}
