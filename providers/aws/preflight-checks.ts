/**
 * @module
 * Pure: the AWS preflight's verdicts on one gateway node's egress ENI and one subnet's claim-tag permission,
 * each with the fix in plain words (preflight.ts reads what they judge).
 *
 * ```
 * check                     ok when                                              fails when
 * free IP slots             the ENI has room for one more IPv4 address           every slot of the instance type is used
 * VPC CNI                   aws-node does not run, or the ENI is tagged          aws-node runs and the ENI lacks the
 *                           node.k8s.amazonaws.com/no_manage=true                tag: ipamd may hand its IPs to pods
 *                                                                                (the default then refuses it new IPs)
 * source/destination check  off; on without the VPC CNI (egress leaves by the   on with the VPC CNI and the agents'
 *                           ENI holding each egress IP); on with the VPC CNI     return path podNetwork: replies to pods
 *                           and the agents' return path tunnel (replies to       go back over the VPC from partner IPs
 *                           pods return through the tunnel to the pod's node)
 * permission ec2:CreateTags DryRun answered DryRunOperation                      UnauthorizedOperation (or another error)
 * ```
 */
import type { PreflightCheck, PreflightCluster } from '../../src/provider/contract.ts';
import { NO_MANAGE_TAG } from './egress-eni.ts';
import type { EniView } from './eni.ts';

/** What the ENI checks judge. */
export interface EniFacts {
  readonly node: string;
  readonly eni: EniView;
  readonly instanceType: string;
  /** `Ipv4AddressesPerInterface` of the instance type (the primary included). */
  readonly ipv4Limit: number;
  /** The default picked the ENI and refuses it new egress IPs, as the VPC CNI manages it (egress-eni.ts). */
  readonly refused?: boolean;
}

/** The ENI checks of one node; the cluster-dependent ones only when `cluster` is given. */
export function eniChecks(f: EniFacts, cluster?: PreflightCluster): PreflightCheck[] {
  const { node, eni } = f;
  const free = Math.max(0, f.ipv4Limit - eni.ipv4.length);
  const out: PreflightCheck[] = [
    free > 0
      ? {
          check: 'free IP slots',
          node,
          ok: true,
          message: `${free} of ${f.ipv4Limit} IPv4 addresses free on ${eni.id} (${f.instanceType})`,
        }
      : {
          check: 'free IP slots',
          node,
          ok: false,
          message: `${eni.id} holds ${eni.ipv4.length} of the ${f.ipv4Limit} IPv4 addresses a ${f.instanceType} ENI can: no egress IP can move here in a failover`,
          fix: `free secondary IPs on ${eni.id} (aws ec2 unassign-private-ip-addresses), or use an instance type with more IPv4 addresses per ENI, or give the gateway nodes a second ENI for egress IPs (the chart's cloud.interface.tag)`,
        },
  ];
  if (!cluster) return out;
  const unmanaged = eni.tags.get(NO_MANAGE_TAG) === 'true';
  out.push(
    !cluster.vpcCni
      ? {
          check: 'VPC CNI',
          node,
          ok: true,
          message: 'the Amazon VPC CNI (aws-node) does not run in this cluster',
        }
      : unmanaged
        ? {
            check: 'VPC CNI',
            node,
            ok: true,
            message: `${eni.id} is tagged ${NO_MANAGE_TAG}=true: ipamd leaves it alone`,
          }
        : {
            check: 'VPC CNI',
            node,
            ok: false,
            message: `${eni.id} is managed by the Amazon VPC CNI (aws-node runs, the ENI has no ${NO_MANAGE_TAG}=true tag): ipamd adds its secondary IPs to the pod IP pool and may give an egress IP to a pod or release it${f.refused ? '; so by default no egress IP goes on it, and those it holds move off it' : ''}`,
            fix: `put egress IPs on a second ENI tagged ${NO_MANAGE_TAG}=true and select it with the chart's cloud.interface.tag and agent.egressInterface (docs/quickstart-eks.md §2)${f.refused ? '; or keep egress IPs on this ENI anyway with cloud.interface.index=0' : ''}`,
          },
  );
  out.push(
    !eni.sourceDestCheck
      ? { check: 'source/destination check', node, ok: true, message: `off on ${eni.id}` }
      : !cluster.vpcCni
        ? {
            check: 'source/destination check',
            node,
            ok: true,
            message: `on for ${eni.id}: egress leaves by the ENI that holds each egress IP, which the check allows`,
          }
        : cluster.agentReturnPath === 'tunnel'
          ? {
              check: 'source/destination check',
              node,
              ok: true,
              message: `on for ${eni.id}: the agents' return path is tunnel, so replies to pods return through the tunnel to the pod's node, which the check allows`,
            }
          : {
              check: 'source/destination check',
              node,
              ok: false,
              message: `on for ${eni.id} while the VPC CNI routes pod traffic over the VPC and the agents' return path is ${cluster.agentReturnPath}: replies from the gateway to pods carry the partner's address as source and EC2 drops them`,
              fix: `turn the check off on the gateway nodes' ENIs: aws ec2 modify-network-interface-attribute --network-interface-id ${eni.id} --no-source-dest-check; or use the chart's agent.returnPath=tunnel, so that replies return through the tunnel to the pod's node, which the check allows`,
            },
  );
  return out;
}

/**
 * The verdict on a DryRun of CreateTags of the claim tags on `subnetId` (which `nodes` use): EC2 answers
 * `DryRunOperation` when the caller may, `UnauthorizedOperation` when not
 * (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/CommonParameters.html, `DryRun`).
 */
export function claimTagCheck(
  subnetId: string,
  nodes: readonly string[],
  code: string | undefined,
  message: string,
): PreflightCheck {
  const check = 'permission ec2:CreateTags';
  const on = `subnet ${subnetId} (nodes ${nodes.join(', ')})`;
  if (code === 'DryRunOperation') return { check, ok: true, message: `granted on ${on}` };
  if (code === 'UnauthorizedOperation') {
    return {
      check,
      ok: false,
      message: `denied on ${on}: the ownership claims cannot be written, so every assignment fails and releases hang`,
      fix: "grant ec2:CreateTags and ec2:DeleteTags on arn:aws:ec2:<region>:<account>:subnet/* for tag keys cloudegress.io/owner/* to the controller's role (docs/quickstart-eks.md §4)",
    };
  }
  return { check, ok: false, message: `could not be checked on ${on}: ${message}` };
}
