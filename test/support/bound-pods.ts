/**
 * @module
 * Pods bound to a node without a kubelet, as the tests' API servers hold them: created with `spec.nodeName`
 * set (what a scheduler or a DaemonSet would do), and deleted the two ways a kubelet-run Pod goes away.
 */
import type { CoreV1Api } from '@kubernetes/client-node';

/** A Pod to create on a node. */
export interface BoundPod {
  readonly namespace: string;
  readonly name: string;
  readonly node: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Container image (never pulled: no kubelet runs it). */
  readonly image: string;
}

/** Creates the Pod, bound to its node. */
export async function createBoundPod(core: CoreV1Api, pod: BoundPod): Promise<void> {
  await core.createNamespacedPod({
    namespace: pod.namespace,
    body: {
      metadata: { name: pod.name, namespace: pod.namespace, labels: { ...pod.labels } },
      spec: { nodeName: pod.node, containers: [{ name: 'main', image: pod.image }] },
    },
  });
}

/**
 * Deletes a Pod. Bound to a node it stays Terminating (deletionTimestamp set, as while a kubelet stops its
 * containers) until deleted with `force`, which is what the kubelet does once they have stopped.
 */
export async function deleteBoundPod(
  core: CoreV1Api,
  namespace: string,
  name: string,
  force = false,
): Promise<void> {
  await core.deleteNamespacedPod({ namespace, name, ...(force ? { gracePeriodSeconds: 0 } : {}) });
}
