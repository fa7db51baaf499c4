/**
 * @module
 * The AWS side of an EKS cluster as the quick start finds it, built in LocalStack through the SDK: a VPC
 * `10.0.0.0/16` (with a second CIDR `10.1.0.0/16`) and the two gateway subnets the quick start reserves blocks
 * in (`10.0.1.0/24`, `10.0.2.0/24`, one per zone), two `m6i.large` gateway nodes in each, and the node security
 * group. It supplies the shell variables that the quick start sets from commands LocalStack does not serve
 * (`aws eks …`, `aws sts …`) or from `kubectl`, or that the reader brings (`$NODE_SG`).
 */
import {
  AssignPrivateIpAddressesCommand,
  AssociateVpcCidrBlockCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { LOCALSTACK_ACCOUNT } from '../iam/ec2-facts.ts';
import { runInstance, type WorldInstance } from '../world.ts';

/** The quick start's cluster in LocalStack. */
export interface QuickStartWorld {
  readonly region: string;
  readonly vpcId: string;
  /** The VPC's IPv4 CIDRs, primary first. */
  readonly vpcCidrs: readonly string[];
  readonly subnetA: { readonly id: string; readonly cidr: string; readonly zone: string };
  readonly subnetB: { readonly id: string; readonly cidr: string; readonly zone: string };
  /** The gateway nodes: two in subnet A, then two in subnet B. */
  readonly gateways: readonly WorldInstance[];
  readonly nodeSecurityGroup: string;
  /** The egress IP of the quick start's policy (§7, §8) and the gateway that holds it once assigned. */
  readonly egressIP: string;
  readonly holder: WorldInstance;
  /** The cluster's OIDC issuer without `https://`, as §4b's `$OIDC`. */
  readonly oidcIssuer: string;
}

/** The egress IP the quick start's §8 shows (`to-partner` holds `10.0.1.241`). */
const EGRESS_IP = '10.0.1.241';

/** Builds the world in the region the quick start exports (`$AWS_REGION`). */
export async function buildQuickStartWorld(ec2: EC2Client, region: string): Promise<QuickStartWorld> {
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
  const vpcId = vpc.Vpc!.VpcId!;
  await ec2.send(new AssociateVpcCidrBlockCommand({ VpcId: vpcId, CidrBlock: '10.1.0.0/16' }));
  const subnet = async (cidr: string, zone: string) => {
    const s = await ec2.send(
      new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: cidr, AvailabilityZone: zone }),
    );
    return { id: s.Subnet!.SubnetId!, cidr, zone };
  };
  const subnetA = await subnet('10.0.1.0/24', `${region}a`);
  const subnetB = await subnet('10.0.2.0/24', `${region}b`);
  const gateways: WorldInstance[] = [];
  for (const [name, s] of [
    ['gw-a1', subnetA],
    ['gw-a2', subnetA],
    ['gw-b1', subnetB],
    ['gw-b2', subnetB],
  ] as const) {
    gateways.push(await runInstance(ec2, s, name, 'm6i.large'));
  }
  const sg = await ec2.send(
    new CreateSecurityGroupCommand({
      VpcId: vpcId,
      GroupName: 'eks-nodes',
      Description: 'node security group',
    }),
  );
  return {
    region,
    vpcId,
    vpcCidrs: ['10.0.0.0/16', '10.1.0.0/16'],
    subnetA,
    subnetB,
    gateways,
    nodeSecurityGroup: sg.GroupId!,
    egressIP: EGRESS_IP,
    holder: gateways[0]!,
    oidcIssuer: `oidc.eks.${region}.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE`,
  };
}

/** What the controller does after §6–§7: puts the policy's egress IP on a gateway node's ENI. */
export async function assignEgressIP(ec2: EC2Client, world: QuickStartWorld): Promise<void> {
  await ec2.send(
    new AssignPrivateIpAddressesCommand({
      NetworkInterfaceId: world.holder.eniId,
      PrivateIpAddresses: [world.egressIP],
    }),
  );
}

/** A shell variable the world supplies, and where the quick start gets it from instead. */
export interface WorldVariable {
  readonly value: (world: QuickStartWorld) => string;
  readonly source: string;
}

/** The node name EKS gives an instance: its private DNS name. */
function nodeName(instance: WorldInstance, region: string): string {
  return `ip-${instance.primaryIP.replaceAll('.', '-')}.${region}.compute.internal`;
}

/** The variables the world supplies, by name. */
export const WORLD_VARIABLES: Readonly<Record<string, WorldVariable>> = {
  ACCOUNT: { value: () => LOCALSTACK_ACCOUNT, source: 'aws sts get-caller-identity (LocalStack’s account)' },
  VPC: { value: (w) => w.vpcId, source: 'aws eks describe-cluster' },
  SUBNET_A: { value: (w) => w.subnetA.id, source: 'the reader, from the describe-subnets table' },
  SUBNET_B: { value: (w) => w.subnetB.id, source: 'the reader, from the describe-subnets table' },
  NODE_ROLE: {
    value: () => `arn:aws:iam::${LOCALSTACK_ACCOUNT}:role/eks-node-role`,
    source: 'aws eks describe-nodegroup',
  },
  NODE_SG: { value: (w) => w.nodeSecurityGroup, source: 'the reader (their node security group)' },
  OIDC: { value: (w) => w.oidcIssuer, source: 'aws eks describe-cluster' },
  SERVICE_CIDR: { value: () => '172.20.0.0/16', source: 'aws eks describe-cluster' },
  NODE: { value: (w) => nodeName(w.holder, w.region), source: 'kubectl get egresspolicy (status)' },
  INSTANCE: { value: (w) => w.holder.instanceId, source: 'kubectl get node (spec.providerID)' },
};
