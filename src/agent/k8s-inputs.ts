/**
 * @module
 * Kubernetes objects -> the agent's inputs: a pod on this node that has IPs, is not on the host network and
 * has not finished becomes a {@link LocalPod}; a Node with an InternalIP becomes a {@link NodeAddress}.
 */
import type { V1Namespace, V1Node, V1Pod } from '@kubernetes/client-node';
import { nodeInternalIP, nodeZone } from '../kube/objects.ts';
import type { LocalPod, NodeAddress } from './agent-inputs.ts';

/** The pod as the agent needs it, or undefined when it sends no pod-network traffic. */
export function toLocalPod(pod: V1Pod): LocalPod | undefined {
  if (pod.spec?.hostNetwork) return undefined;
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return undefined;
  const ips = (pod.status?.podIPs ?? []).map((p) => p.ip).filter((ip): ip is string => Boolean(ip));
  if (ips.length === 0 && pod.status?.podIP) ips.push(pod.status.podIP);
  if (ips.length === 0) return undefined;
  return {
    uid: pod.metadata?.uid ?? `${pod.metadata?.namespace}/${pod.metadata?.name}`,
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
    ips,
    labels: pod.metadata?.labels ?? {},
  };
}

/** The pod informer's key of `pod`: namespace/name (a pod created again under its name keeps it). */
export function podKey(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
}

/** The node's name, InternalIP and zone, or undefined without an InternalIP. */
export function toNodeAddress(node: V1Node): NodeAddress | undefined {
  const ip = nodeInternalIP(node);
  const name = node.metadata?.name;
  if (!ip || !name) return undefined;
  const zone = nodeZone(node);
  return zone ? { name, ip, zone } : { name, ip };
}

/** Namespace name -> labels. */
export function namespaceLabels(namespaces: readonly V1Namespace[]): Map<string, Record<string, string>> {
  return new Map(namespaces.map((ns) => [ns.metadata?.name ?? '', ns.metadata?.labels ?? {}]));
}
