/**
 * @module
 * Reads the cluster's facts (cluster-checks.ts `ClusterFacts`) from the API server, for `cloud-egress doctor` and
 * the gateway's `Preflight` condition alike:
 *
 * ```
 * Nodes (the caller's: the doctor lists them, the controller has its informer's) ─► pod CIDRs
 * list ServiceCIDRs (probeServiceCidrs: 404 not served, 403 forbidden are answers) ─► Service CIDRs
 * list pods kube-system, k8s-app=aws-node                                         ─► whether the VPC CNI runs
 * the caller's --cluster-cidr (the chart's agent.clusterCIDRs)                   ─► the typed CIDRs
 * the caller's --agent-return-path (the chart's agent.returnPath)                ─► the agents' return path
 * the caller's --agent-no-cluster-cidr-discovery (agent.discoverClusterCIDRs)    ─► whether discovered CIDRs count
 * ```
 *
 * Two list calls, side by side; the controller makes them only when a gateway's preflight is due.
 */
import type { V1Node } from '@kubernetes/client-node';
import type { KubeLists } from '../kube/kube-api.ts';
import type { ReturnPath } from '../kube/return-path.ts';
import { probeServiceCidrs } from '../kube/service-cidr-api.ts';
import { type ClusterFacts, clusterFacts } from './cluster-checks.ts';

/** Where the Amazon VPC CNI's pods run: its DaemonSet `kube-system/aws-node` labels them so. */
export const AWS_NODE_PODS = { namespace: 'kube-system', labelSelector: 'k8s-app=aws-node' } as const;

/**
 * How many aws-node pods run (more than none: the VPC CNI runs).
 * @throws ClusterFactsError when the list fails
 */
export async function countAwsNodePods(lists: Pick<KubeLists, 'agentPods'>): Promise<number> {
  try {
    return (await lists.agentPods(AWS_NODE_PODS.namespace, AWS_NODE_PODS.labelSelector)).items.length;
  } catch (err) {
    throw new ClusterFactsError(
      `listing the pods ${AWS_NODE_PODS.labelSelector} in ${AWS_NODE_PODS.namespace} (whether the Amazon VPC CNI runs) failed: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** The lists {@link readClusterFacts} makes. */
export type ClusterFactLists = Pick<KubeLists, 'serviceCIDRs' | 'agentPods'>;

/** Listing the aws-node pods failed (cause: the API error). */
export class ClusterFactsError extends Error {
  override readonly name = 'ClusterFactsError';
}

/** What the caller was told of the agents (the chart passes the agents' own settings). */
export interface AgentNetworking {
  /** `--cluster-cidr`: the CIDRs the agents are given. */
  readonly typedCIDRs: readonly string[];
  /** `--agent-return-path`. */
  readonly returnPath: ReturnPath;
  /** False with `--agent-no-cluster-cidr-discovery`: the agents do not discover cluster CIDRs. */
  readonly discovery: boolean;
}

/**
 * The cluster's facts, with `nodes` as the caller has them, and what it was told of the agents.
 * @throws ClusterFactsError, or ServiceCidrApiError (service-cidr-api.ts) when a list fails
 */
export async function readClusterFacts(
  nodes: Iterable<V1Node>,
  lists: ClusterFactLists,
  agents: AgentNetworking,
): Promise<ClusterFacts> {
  const [serviceCidrs, awsNodePods] = await Promise.all([
    probeServiceCidrs(lists.serviceCIDRs),
    countAwsNodePods(lists),
  ]);
  return clusterFacts({
    nodes,
    serviceCidrs,
    awsNodePods,
    typedCIDRs: agents.typedCIDRs,
    agentReturnPath: agents.returnPath,
    agentDiscovery: agents.discovery,
  });
}
