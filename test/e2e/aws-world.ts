/**
 * @module
 * The box's AWS side, created in LocalStack through the SDK: one VPC, a subnet per zone, and one instance
 * per node whose primary ENI's primary private IP is the node namespace's IP. For the `vpcCni` pod network,
 * {@link addVpcCniState} then does what ipamd and a person following the EKS quick start would have done: the
 * pods' addresses become secondary IPs of their node's primary ENI, and each gateway node gets a second ENI
 * tagged for egress and `node.k8s.amazonaws.com/no_manage=true`.
 *
 * In dual stack (`dualStack`) the VPC also gets an Amazon-provided IPv6 /56 (LocalStack picks it at random, as
 * AWS does), each subnet the /64 of its zone's number in it (zone a `…01::/64`, zone b `…02::/64`), and each
 * instance's primary ENI one IPv6 address, `<subnet>::<last octet of its IPv4 address>` (gw-a1 10.0.1.11 gets
 * `…01::11`), assigned with AssignIpv6Addresses as an IPv6 address given at launch would be.
 */
import {
  AllocateAddressCommand,
  AssignIpv6AddressesCommand,
  AssignPrivateIpAddressesCommand,
  AssociateVpcCidrBlockCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteNetworkInterfaceCommand,
  DescribeAddressesCommand,
  DescribeNetworkInterfacesCommand,
  DetachNetworkInterfaceCommand,
  DisassociateAddressCommand,
  type EC2Client,
  ReleaseAddressCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  UnassignIpv6AddressesCommand,
  UnassignPrivateIpAddressesCommand,
} from '@aws-sdk/client-ec2';
import { NO_MANAGE_TAG } from '../../providers/aws/egress-eni.ts';
import { canonicalIp } from '../../src/net/ip.ts';
import { type Ec2Target, testEc2Client } from '../aws/world.ts';
import { type BoxNode, type BoxPod, EGRESS_ENI, egressEniIp, type NodeSpec, VPC, ZONES } from './topology.ts';

/** Any `ami-…` ID launches on LocalStack (its AMI catalogue is not loaded; see localstack/README.md). */
export const IMAGE_ID = 'ami-0123456789abcdef0';

/** Instance type of every node: 3 ENIs x 6 IPv4 addresses each on AWS (room for the egress IPs). */
export const INSTANCE_TYPE = 't3.medium';

/** What {@link createAwsWorld} made. */
export interface AwsWorld {
  readonly ec2: EC2Client;
  readonly region: string;
  readonly vpcId: string;
  /** Zone name -> subnet id. */
  readonly subnets: ReadonlyMap<string, string>;
  /** Node name -> instance id. */
  readonly instances: ReadonlyMap<string, string>;
  /** Node name -> primary ENI id. */
  readonly enis: ReadonlyMap<string, string>;
  /** Node name -> its dedicated egress ENI (the `vpcCni` pod network's gateway nodes; see {@link addVpcCniState}). */
  readonly egressEnis: Map<string, string>;
  /** Elastic IP -> its allocation id (see {@link allocateElasticIp}); released by {@link destroyAwsWorld}. */
  readonly elasticIps: Map<string, string>;
  /** In dual stack: the VPC's IPv6 addresses. */
  readonly ipv6?: AwsWorldIpv6;
}

/** A dual-stack world's IPv6 addresses (module comment). */
export interface AwsWorldIpv6 {
  /** The VPC's IPv6 /56. */
  readonly vpcCidr: string;
  /** Zone name -> its subnet's IPv6 /64. */
  readonly subnets: ReadonlyMap<string, string>;
  /** Node name -> the IPv6 address of its primary ENI. */
  readonly nodes: ReadonlyMap<string, string>;
}

/** The address `host` (hexadecimal groups, e.g. `100`) in the IPv6 /64 `cidr`. */
export function ipv6In(cidr: string, host: string): string {
  return canonicalIp(`${cidr.replace(/::\/64$/, '')}::${host}`);
}

/** The zone's /64 in the VPC's /56: the zone's number (1 for zone a) in the /56's last byte. */
function zoneIpv6Subnet(vpcCidr: string, zoneNumber: number): string {
  const base = vpcCidr.replace(/::\/56$/, '');
  const groups = base.split(':');
  const last = Number.parseInt(groups.at(-1)!, 16);
  groups[groups.length - 1] = (last + zoneNumber).toString(16);
  // LocalStack's random groups may carry leading zeros; the kernel and the echo server print addresses canonically.
  return `${canonicalIp(`${groups.join(':')}::`)}/64`;
}

/**
 * Allocates the Elastic IP `address` (AllocateAddress with `Address`, as for an address from one's own pool) and
 * returns its allocation id.
 */
export async function allocateElasticIp(world: AwsWorld, address: string): Promise<string> {
  const out = await world.ec2.send(new AllocateAddressCommand({ Domain: 'vpc', Address: address }));
  world.elasticIps.set(out.PublicIp!, out.AllocationId!);
  return out.AllocationId!;
}

/** Creates the VPC, subnets and instances for `nodes` (in both families with `dualStack`). */
export async function createAwsWorld(
  target: Ec2Target,
  nodes: readonly NodeSpec[],
  options: { readonly dualStack?: boolean } = {},
): Promise<AwsWorld> {
  // The SDK retries here: the box's set-up only needs each call to succeed.
  const ec2 = testEc2Client(target, { maxAttempts: 3 });
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: VPC.cidr }));
  const vpcId = vpc.Vpc!.VpcId!;
  const vpcCidr6 = options.dualStack
    ? (await ec2.send(new AssociateVpcCidrBlockCommand({ VpcId: vpcId, AmazonProvidedIpv6CidrBlock: true })))
        .Ipv6CidrBlockAssociation!.Ipv6CidrBlock!
    : undefined;
  const subnets = new Map<string, string>();
  const subnets6 = new Map<string, string>();
  for (const [i, zone] of ZONES.entries()) {
    const ipv6 = vpcCidr6 ? zoneIpv6Subnet(vpcCidr6, i + 1) : undefined;
    const subnet = await ec2.send(
      new CreateSubnetCommand({
        VpcId: vpcId,
        CidrBlock: zone.cidr,
        AvailabilityZone: zone.name,
        ...(ipv6 ? { Ipv6CidrBlock: ipv6 } : {}),
      }),
    );
    subnets.set(zone.name, subnet.Subnet!.SubnetId!);
    if (ipv6) subnets6.set(zone.name, ipv6);
  }
  const nodes6 = new Map<string, string>();
  const instances = new Map<string, string>();
  const enis = new Map<string, string>();
  for (const node of nodes) {
    const run = await ec2.send(
      new RunInstancesCommand({
        ImageId: IMAGE_ID,
        InstanceType: INSTANCE_TYPE,
        MinCount: 1,
        MaxCount: 1,
        SubnetId: subnets.get(node.zone.name),
        PrivateIpAddress: node.ip,
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: node.name }] }],
      }),
    );
    const instance = run.Instances![0]!;
    instances.set(node.name, instance.InstanceId!);
    const eni = instance.NetworkInterfaces?.find((n) => n.Attachment?.DeviceIndex === 0);
    if (!eni?.NetworkInterfaceId) throw new Error(`instance of ${node.name} has no primary ENI`);
    if (eni.PrivateIpAddress !== node.ip) {
      throw new Error(`instance of ${node.name} got ${eni.PrivateIpAddress}, not ${node.ip}`);
    }
    enis.set(node.name, eni.NetworkInterfaceId);
    const subnet6 = subnets6.get(node.zone.name);
    if (subnet6) {
      const ip6 = ipv6In(subnet6, node.ip.split('.').at(-1)!);
      await ec2.send(
        new AssignIpv6AddressesCommand({ NetworkInterfaceId: eni.NetworkInterfaceId, Ipv6Addresses: [ip6] }),
      );
      nodes6.set(node.name, ip6);
    }
  }
  return {
    ec2,
    region: target.region,
    vpcId,
    subnets,
    instances,
    enis,
    egressEnis: new Map(),
    elasticIps: new Map(),
    ...(vpcCidr6 ? { ipv6: { vpcCidr: vpcCidr6, subnets: subnets6, nodes: nodes6 } } : {}),
  };
}

/**
 * The `vpcCni` pod network's cloud state: each pod's address on its node's primary ENI (ipamd's warm pool, one
 * address per pod), and on each gateway node a second ENI at device index 1 whose primary IP is
 * {@link egressEniIp}, tagged {@link EGRESS_ENI}'s tag and `node.k8s.amazonaws.com/no_manage=true`.
 */
export async function addVpcCniState(
  world: AwsWorld,
  nodes: readonly BoxNode[],
  pods: readonly BoxPod[],
): Promise<void> {
  for (const node of nodes) {
    const ips = pods.filter((p) => p.node === node).map((p) => p.ip);
    if (ips.length > 0) {
      await world.ec2.send(
        new AssignPrivateIpAddressesCommand({
          NetworkInterfaceId: world.enis.get(node.name),
          PrivateIpAddresses: ips,
        }),
      );
    }
    if (!node.egressLink) continue;
    const [key, value] = EGRESS_ENI.tag.split('=') as [string, string];
    const created = await world.ec2.send(
      new CreateNetworkInterfaceCommand({
        SubnetId: world.subnets.get(node.zone.name),
        PrivateIpAddress: egressEniIp(node),
        Description: `${node.name} egress`,
        TagSpecifications: [
          {
            ResourceType: 'network-interface',
            Tags: [
              { Key: key, Value: value },
              { Key: NO_MANAGE_TAG, Value: 'true' },
            ],
          },
        ],
      }),
    );
    const id = created.NetworkInterface!.NetworkInterfaceId!;
    await world.ec2.send(
      new AttachNetworkInterfaceCommand({
        NetworkInterfaceId: id,
        InstanceId: world.instances.get(node.name),
        DeviceIndex: 1,
      }),
    );
    world.egressEnis.set(node.name, id);
  }
}

/**
 * Releases every secondary IP of the world's ENIs and terminates its instances, so a LocalStack shared by
 * several boxes (same CIDRs) holds nothing of this one afterwards. Never throws.
 */
export async function destroyAwsWorld(world: AwsWorld): Promise<void> {
  try {
    const out = await world.ec2.send(
      new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'vpc-id', Values: [world.vpcId] }] }),
    );
    for (const eni of out.NetworkInterfaces ?? []) {
      const ipv6 = (eni.Ipv6Addresses ?? []).map((a) => a.Ipv6Address!);
      if (ipv6.length > 0) {
        await world.ec2.send(
          new UnassignIpv6AddressesCommand({
            NetworkInterfaceId: eni.NetworkInterfaceId,
            Ipv6Addresses: ipv6,
          }),
        );
      }
      const secondary = (eni.PrivateIpAddresses ?? [])
        .filter((a) => !a.Primary)
        .map((a) => a.PrivateIpAddress!);
      if (secondary.length === 0) continue;
      await world.ec2.send(
        new UnassignPrivateIpAddressesCommand({
          NetworkInterfaceId: eni.NetworkInterfaceId,
          PrivateIpAddresses: secondary,
        }),
      );
    }
    for (const id of world.egressEnis.values()) {
      const eni = out.NetworkInterfaces?.find((n) => n.NetworkInterfaceId === id);
      if (eni?.Attachment?.AttachmentId) {
        await world.ec2.send(
          new DetachNetworkInterfaceCommand({ AttachmentId: eni.Attachment.AttachmentId, Force: true }),
        );
      }
      await world.ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: id }));
    }
    const ids = [...world.elasticIps.values()];
    const eips = ids.length
      ? ((await world.ec2.send(new DescribeAddressesCommand({ AllocationIds: ids }))).Addresses ?? [])
      : [];
    for (const eip of eips) {
      if (eip.AssociationId)
        await world.ec2.send(new DisassociateAddressCommand({ AssociationId: eip.AssociationId }));
      await world.ec2.send(new ReleaseAddressCommand({ AllocationId: eip.AllocationId }));
    }
    await world.ec2.send(new TerminateInstancesCommand({ InstanceIds: [...world.instances.values()] }));
  } catch {
    // LocalStack already gone: nothing is left in it either.
  }
}
