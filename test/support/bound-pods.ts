/**
 * @module
 * Pods bound to a node without a kubelet, as the tests' API servers hold them: created with `spec.nodeName`
 * set (what a scheduler or a DaemonSet would do), given an IP as a CNI would (Running, Ready, `podIP`
 * through the status subresource), and deleted the two ways a kubelet-run Pod goes away.
 */
import type { CoreV1Api } from '@kubernetes/client-node';

/** A Pod to create on a node. */
export interface BoundPod {
  readonly namespace: string;
  readonly name: string;
  readonly node: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Container image (never pulled: no kubelet runs it). Default `registry.invalid/pod:1`. */
  readonly image?: string;
  /** The pod's IP: with it the Pod is Running and Ready with that `podIP`; without, it has no status. */
  readonly ip?: string;
  /** A dual-stack pod's second IP (with `ip`): `podIPs` then holds both, `ip` first. */
  readonly ip6?: string;
  /** `status.hostIP` (with `ip`): the node's IP. */
  readonly hostIP?: string;
}

/** Creates the Pod, bound to its node, and with `ip` its running status. */
export async function createBoundPod(core: CoreV1Api, pod: BoundPod): Promise<void> {
  const { namespace, name } = pod;
  const created = await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name, namespace, labels: { ...pod.labels } },
      spec: {
        nodeName: pod.node,
        containers: [{ name: 'main', image: pod.image ?? 'registry.invalid/pod:1' }],
      },
    },
  });
  if (pod.ip === undefined) return;
  const body = {
    ...created,
    status: {
      ...created.status,
      phase: 'Running',
      ...(pod.hostIP ? { hostIP: pod.hostIP } : {}),
      podIP: pod.ip,
      podIPs: [{ ip: pod.ip }, ...(pod.ip6 ? [{ ip: pod.ip6 }] : [])],
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date() }],
    },
  };
  await core.replaceNamespacedPodStatus({ name, namespace, body });
}

/**
 * Deletes a Pod. Bound to a node it stays Terminating (deletionTimestamp set, as while a kubelet stops its
 * containers) until deleted with `force`, which is what the kubelet does once they have stopped.
 */
export async function deleteBoundPod(
  core: CoreV1Api,
  namespace: string,
  name: string,
  options: { readonly force?: boolean } = {},
): Promise<void> {
  await core.deleteNamespacedPod({ namespace, name, ...(options.force ? { gracePeriodSeconds: 0 } : {}) });
}
