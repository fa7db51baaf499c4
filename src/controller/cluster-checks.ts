/**
 * @module
 * Pure: the checks of the cluster itself, from what the API server shows, shared by `cloud-egress doctor` and the
 * gateway's `Preflight` condition (preflight-gate.ts); cluster-facts.ts reads the facts for both. The pod and
 * Service CIDRs are what the agents discover themselves (the same code: `src/kube/cluster-cidrs.ts`).
 *
 * ```
 * check          ok when                                            fails when
 * cluster CIDRs  pod CIDRs (Node spec.podCIDRs; with the VPC CNI     no pod CIDRs (and no VPC CNI) or no Service CIDRs
 *                pods take VPC addresses, which the agents cannot    (none, or the ServiceCIDR API not served): traffic
 *                discover) and Service CIDRs (ServiceCIDR objects)   to them would go through the gateway unless
 *                are found                                           agent.clusterCIDRs lists them
 * ```
 */
import type { V1Node } from '@kubernetes/client-node';
import { clusterCidrs } from '../kube/cluster-cidrs.ts';
import type { ServiceCidrProbe } from '../kube/service-cidr-api.ts';
import type { PreflightCheck, PreflightCluster } from '../provider/contract.ts';

/**
 * What the API server shows of the cluster's networks; also what a provider's preflight is given of the cluster
 * (it is a {@link PreflightCluster}).
 */
export interface ClusterFacts extends PreflightCluster {
  readonly podCIDRs: readonly string[];
  readonly serviceCIDRs: readonly string[];
  /** Why ServiceCIDRs could not be listed (`src/kube/service-cidr-api.ts`); absent when they could. */
  readonly serviceCIDRsUnavailable?: string;
}

/**
 * The facts from what was read: every Node, the ServiceCIDR listing, and how many aws-node pods run. The CIDRs
 * are what an agent without `--cluster-cidr` would discover (the agent's own code).
 */
export function clusterFacts(read: {
  readonly nodes: Iterable<V1Node>;
  readonly serviceCidrs: ServiceCidrProbe;
  readonly awsNodePods: number;
}): ClusterFacts {
  const probe = read.serviceCidrs;
  const discovered = clusterCidrs({
    configured: [],
    nodes: read.nodes,
    serviceCidrs: probe.state === 'served' ? probe.items : [],
  }).bySource;
  return {
    podCIDRs: discovered['node-podcidr'],
    serviceCIDRs: discovered.servicecidr,
    ...(probe.state === 'served' ? {} : { serviceCIDRsUnavailable: probe.message }),
    vpcCni: read.awsNodePods > 0,
  };
}

/** The cluster checks. */
export function clusterChecks(f: ClusterFacts): PreflightCheck[] {
  const missing = [
    ...(f.podCIDRs.length === 0 && !f.vpcCni ? ['pod CIDRs (no Node has spec.podCIDRs)'] : []),
    ...(f.serviceCIDRs.length === 0
      ? [`Service CIDRs (${f.serviceCIDRsUnavailable ?? 'no ServiceCIDR object'})`]
      : []),
  ];
  const pods = f.vpcCni
    ? "the VPC's CIDRs (the VPC CNI gives pods VPC addresses; the agents do not discover them: agent.clusterCIDRs must list them)"
    : f.podCIDRs.join(', ');
  if (missing.length === 0) {
    return [
      {
        check: 'cluster CIDRs',
        ok: true,
        message: `pods: ${pods}; Services: ${f.serviceCIDRs.join(', ')}`,
      },
    ];
  }
  return [
    {
      check: 'cluster CIDRs',
      ok: false,
      message: `not found: ${missing.join(' and ')}; the agents cannot discover them, so a policy with destinations such as 0.0.0.0/0 would send pod-to-pod, Service and DNS traffic through the gateway`,
      fix: `set the chart's agent.clusterCIDRs to the pod and Service CIDRs (on EKS: the VPC's CIDRs, aws ec2 describe-vpcs --vpc-ids <vpc> --query 'Vpcs[0].CidrBlockAssociationSet[].CidrBlock', and aws eks describe-cluster --name <cluster> --query cluster.kubernetesNetworkConfig.serviceIpv4Cidr)`,
    },
  ];
}
