/**
 * @module
 * Pure: the cluster's own CIDRs as the API server shows them, shared by the agent (whose cluster set never goes
 * through a gateway) and `cloud-egress doctor` (which reports what the agents will find).
 *
 * ```
 * source         read from                                         note
 * configured     --cluster-cidr / agent.clusterCIDRs               always kept
 * node-podcidr   every Node's spec.podCIDRs (else spec.podCIDR)    empty with CNIs that give pods other addresses
 *                                                                  (the Amazon VPC CNI: pods take VPC addresses)
 * servicecidr    every networking.k8s.io/v1 ServiceCIDR's spec.cidrs  served from Kubernetes 1.33
 * ```
 *
 * The result is the union, each CIDR once, sorted; node IPs join it in the dataplane (`node-dataplane.ts`).
 */
import type { V1Node, V1ServiceCIDR } from '@kubernetes/client-node';

/** Where a cluster CIDR came from (the `source` label of the agent's `cloud_egress_agent_cluster_cidrs`). */
export type ClusterCidrSource = 'configured' | 'node-podcidr' | 'servicecidr';

/** Every source, in the order the metric lists them. */
export const CLUSTER_CIDR_SOURCES: readonly ClusterCidrSource[] = [
  'configured',
  'node-podcidr',
  'servicecidr',
];

/** The CIDRs of each source. */
export type ClusterCidrsBySource = Readonly<Record<ClusterCidrSource, readonly string[]>>;

/** The cluster CIDRs: the union, and what each source gave. */
export interface ClusterCidrs {
  /** Each CIDR once, sorted. */
  readonly cidrs: readonly string[];
  readonly bySource: ClusterCidrsBySource;
}

const uniqueSorted = (items: Iterable<string>): string[] => [...new Set(items)].sort();

/** The pod CIDRs of `nodes`: `spec.podCIDRs`, else `spec.podCIDR`; each once, sorted. */
export function nodePodCidrs(nodes: Iterable<V1Node>): string[] {
  const out: string[] = [];
  for (const n of nodes) {
    const cidrs = n.spec?.podCIDRs?.length ? n.spec.podCIDRs : n.spec?.podCIDR ? [n.spec.podCIDR] : [];
    out.push(...cidrs);
  }
  return uniqueSorted(out);
}

/** The CIDRs of ServiceCIDR objects (`spec.cidrs`); each once, sorted. */
export function serviceCidrs(objects: Iterable<V1ServiceCIDR>): string[] {
  return uniqueSorted([...objects].flatMap((o) => o.spec?.cidrs ?? []));
}

/** The union of what each source gave; see the module comment. */
export function clusterCidrs(sources: {
  readonly configured: readonly string[];
  readonly nodes: Iterable<V1Node>;
  readonly serviceCidrs: Iterable<V1ServiceCIDR>;
}): ClusterCidrs {
  const bySource: ClusterCidrsBySource = {
    configured: uniqueSorted(sources.configured),
    'node-podcidr': nodePodCidrs(sources.nodes),
    servicecidr: serviceCidrs(sources.serviceCidrs),
  };
  return { cidrs: uniqueSorted(CLUSTER_CIDR_SOURCES.flatMap((s) => bySource[s])), bySource };
}
