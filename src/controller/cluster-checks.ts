/**
 * @module
 * Pure: the checks of the cluster itself, from what the API server shows, shared by `cloud-egress doctor` and the
 * gateway's `Preflight` condition (preflight-gate.ts); cluster-facts.ts reads the facts for both. The pod and
 * Service CIDRs are what the agents discover themselves (the same code: `src/kube/cluster-cidrs.ts`); the typed
 * CIDRs are what the agents are given (`--cluster-cidr`, the chart's `agent.clusterCIDRs`).
 *
 * ```
 * check          ok when                                            fails when
 * cluster CIDRs  each family the agents need is discovered, or      a family is neither discovered nor typed:
 *                typed CIDRs may stand for it: pod CIDRs (Node      traffic to it would go through the gateway
 *                spec.podCIDRs) and Service CIDRs (ServiceCIDR
 *                objects, served from Kubernetes 1.33)
 * ```
 *
 * With the agents' discovery off (the chart's agent.discoverClusterCIDRs: false) nothing counts as discovered: only
 * the typed CIDRs can stand for the families.
 *
 * With the VPC CNI pods take the VPC's addresses, which no API object lists and no typed list proves covered: the
 * pod family is not asked for, and the message says that agent.clusterCIDRs must list the VPC's CIDRs (none typed)
 * or that the typed ones must include them.
 *
 * What typed CIDRs prove is only that some were typed. One within a discovered CIDR adds nothing, so it cannot
 * stand for a family that was not found; any other may. Which of them are the Service CIDRs, or the VPC's, the API
 * server does not say, so the message says what they must include rather than that they do.
 */
import type { V1Node } from '@kubernetes/client-node';
import { clusterCidrs } from '../kube/cluster-cidrs.ts';
import type { ReturnPath } from '../kube/return-path.ts';
import type { ServiceCidrProbe } from '../kube/service-cidr-api.ts';
import { cidrContains } from '../net/ip.ts';
import type { PreflightCheck, PreflightCluster } from '../provider/contract.ts';

/**
 * What the API server shows of the cluster's networks; also what a provider's preflight is given of the cluster
 * (it is a {@link PreflightCluster}).
 */
export interface ClusterFacts extends PreflightCluster {
  readonly podCIDRs: readonly string[];
  readonly serviceCIDRs: readonly string[];
  /** The typed CIDRs (`--cluster-cidr`, the chart's `agent.clusterCIDRs`), each once, sorted. */
  readonly typedCIDRs: readonly string[];
  /** Why ServiceCIDRs could not be listed (`src/kube/service-cidr-api.ts`); absent when they could. */
  readonly serviceCIDRsUnavailable?: string;
  /**
   * The agents do not discover cluster CIDRs (`--agent-no-cluster-cidr-discovery`, the chart's
   * `agent.discoverClusterCIDRs: false`): the pod and Service CIDRs are then empty, whatever the API server shows.
   */
  readonly discoveryOff?: true;
}

/**
 * The facts from what was read: every Node, the ServiceCIDR listing, how many aws-node pods run, the typed
 * CIDRs and the agents' return path. The pod and Service CIDRs are what an agent discovers, the typed ones what it is given (the agent's own
 * code: its sources `node-podcidr`, `servicecidr` and `configured`).
 */
export function clusterFacts(read: {
  readonly nodes: Iterable<V1Node>;
  readonly serviceCidrs: ServiceCidrProbe;
  readonly awsNodePods: number;
  readonly typedCIDRs: readonly string[];
  readonly agentReturnPath: ReturnPath;
  /** Whether the agents discover cluster CIDRs (default true); without, only the typed ones count. */
  readonly agentDiscovery?: boolean;
}): ClusterFacts {
  const probe = read.serviceCidrs;
  const off = read.agentDiscovery === false;
  const bySource = clusterCidrs({
    configured: read.typedCIDRs,
    nodes: read.nodes,
    serviceCidrs: probe.state === 'served' ? probe.items : [],
  }).bySource;
  return {
    podCIDRs: off ? [] : bySource['node-podcidr'],
    serviceCIDRs: off ? [] : bySource.servicecidr,
    typedCIDRs: bySource.configured,
    ...(probe.state === 'served' || off ? {} : { serviceCIDRsUnavailable: probe.message }),
    ...(off ? { discoveryOff: true as const } : {}),
    vpcCni: read.awsNodePods > 0,
    agentReturnPath: read.agentReturnPath,
  };
}

const list = (cidrs: readonly string[]) => cidrs.join(', ');

/** A family of cluster CIDRs the agents need but did not discover, and why. */
interface Gap {
  readonly family: 'pod CIDRs' | 'Service CIDRs';
  readonly why: string;
}

/** What the agents need and did not discover (with the VPC CNI the pods' VPC CIDRs are never discovered). */
function gaps(f: ClusterFacts): Gap[] {
  const off = f.discoveryOff
    ? 'the agents do not discover them: agent.discoverClusterCIDRs is false'
    : undefined;
  return [
    ...(f.podCIDRs.length === 0 && !f.vpcCni
      ? [{ family: 'pod CIDRs' as const, why: off ?? 'no Node has spec.podCIDRs' }]
      : []),
    ...(f.serviceCIDRs.length === 0
      ? [
          {
            family: 'Service CIDRs' as const,
            why: off ?? f.serviceCIDRsUnavailable ?? 'no ServiceCIDR object',
          },
        ]
      : []),
  ];
}

/** The typed CIDRs, and what they must include that was not discovered (what is known of them: no more). */
function typedPart(f: ClusterFacts, missing: readonly Gap[]): string {
  if (f.typedCIDRs.length === 0) return 'none';
  const must = missing.map((g) => `the ${g.family}`).join(' and ');
  const note =
    must && f.vpcCni
      ? `these must include ${must} and, with the VPC CNI, the VPC's CIDRs`
      : must
        ? `these must include ${must}`
        : f.vpcCni
          ? "with the VPC CNI these must include the VPC's CIDRs"
          : '';
  return `${list(f.typedCIDRs)}${note ? ` (${note})` : ''}`;
}

/** The cluster checks. */
export function clusterChecks(f: ClusterFacts): PreflightCheck[] {
  const missing = gaps(f);
  const discovered = [...f.podCIDRs, ...f.serviceCIDRs];
  // A typed CIDR within a discovered one adds nothing: it cannot stand for one that was not found.
  const adding = f.typedCIDRs.filter((t) => !discovered.some((d) => cidrContains(d, t)));
  const found = (cidrs: readonly string[], family: Gap['family']) =>
    cidrs.length > 0
      ? `${list(cidrs)} (discovered)`
      : `none discovered (${missing.find((g) => g.family === family)?.why})`;
  if (missing.length === 0 || adding.length > 0) {
    const pods = f.vpcCni
      ? `the VPC's CIDRs (the VPC CNI gives pods VPC addresses; the agents do not discover them${f.typedCIDRs.length === 0 ? ': agent.clusterCIDRs must list them' : ''})`
      : found(f.podCIDRs, 'pod CIDRs');
    return [
      {
        check: 'cluster CIDRs',
        ok: true,
        message: `pods: ${pods}; Services: ${found(f.serviceCIDRs, 'Service CIDRs')}; typed: ${typedPart(f, missing)}`,
      },
    ];
  }
  const typed =
    f.typedCIDRs.length > 0
      ? `, and the typed CIDRs (${list(f.typedCIDRs)}) lie within the discovered ones, so they cannot stand for them`
      : '';
  return [
    {
      check: 'cluster CIDRs',
      ok: false,
      message: `not found: ${missing.map((g) => `${g.family} (${g.why})`).join(' and ')}${typed}; the agents cannot discover them, so a policy with destinations such as 0.0.0.0/0 would send pod-to-pod, Service and DNS traffic through the gateway`,
      fix: `set the chart's agent.clusterCIDRs to the pod and Service CIDRs (on EKS: the VPC's CIDRs, aws ec2 describe-vpcs --vpc-ids <vpc> --query 'Vpcs[0].CidrBlockAssociationSet[].CidrBlock', and aws eks describe-cluster --name <cluster> --query cluster.kubernetesNetworkConfig.serviceIpv4Cidr); the chart gives them to the controller too, and cloud-egress doctor takes them as --cluster-cidr`,
    },
  ];
}
