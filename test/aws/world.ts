/**
 * @module
 * Builds a small AWS world in LocalStack through the real SDK: a VPC, subnets in two zones, instances
 * (each with its ENI at device index 0, and tagged extra ENIs at index 1), and reads the cloud's truth back with `DescribeNetworkInterfaces`.
 */
import {
  type _InstanceType,
  AssignPrivateIpAddressesCommand,
  AssociateVpcCidrBlockCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  DeleteNetworkInterfaceCommand,
  DeleteTagsCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSubnetsCommand,
  DetachNetworkInterfaceCommand,
  EC2Client,
  ModifyNetworkInterfaceAttributeCommand,
  type NetworkInterface,
  RunInstancesCommand,
  UnassignPrivateIpAddressesCommand,
} from '@aws-sdk/client-ec2';
import { OWNERSHIP_TAG } from '../../src/api/annotations.ts';
import type { NodeRef } from '../../src/provider/contract.ts';

/** Where to reach EC2. */
export interface Ec2Target {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/**
 * An SDK client for tests. By default the SDK's own retries are off, so calls are counted exactly;
 * `maxAttempts` turns them on where a test only needs the call to succeed (the box's set-up).
 */
export function testEc2Client(target: Ec2Target, options: { maxAttempts?: number } = {}): EC2Client {
  return new EC2Client({
    endpoint: target.endpoint,
    region: target.region,
    credentials: target.credentials,
    maxAttempts: options.maxAttempts ?? 1,
  });
}

/** An instance of the world. */
export interface WorldInstance {
  readonly ref: NodeRef;
  readonly instanceId: string;
  readonly eniId: string;
  readonly subnetId: string;
  readonly subnet: string;
  readonly zone: string;
  readonly primaryIP: string;
}

/** A VPC with subnets. */
export interface Vpc {
  readonly vpcId: string;
  readonly subnets: readonly { readonly id: string; readonly cidr: string; readonly zone: string }[];
}

let vpcCounter = 0;

/** Creates a VPC `10.<n>.0.0/16` with one /24 subnet per zone (`10.<n>.1.0/24`, `10.<n>.2.0/24`, ...). */
export async function createVpc(ec2: EC2Client, zones: readonly string[]): Promise<Vpc> {
  const second = 10 + (vpcCounter++ % 200);
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: `10.${second}.0.0/16` }));
  const vpcId = vpc.Vpc!.VpcId!;
  const subnets = [];
  for (const [i, zone] of zones.entries()) {
    const cidr = `10.${second}.${i + 1}.0/24`;
    const s = await ec2.send(
      new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: cidr, AvailabilityZone: zone }),
    );
    subnets.push({ id: s.Subnet!.SubnetId!, cidr, zone });
  }
  return { vpcId, subnets };
}

/**
 * Creates a dual-stack VPC `10.<second>.0.0/16` with an Amazon-provided IPv6 /56 and one subnet
 * `10.<second>.1.0/24` plus the first /64 of the block in us-east-1a.
 */
export async function createDualStackSubnet(
  ec2: EC2Client,
  second: number,
): Promise<Vpc['subnets'][number] & { readonly vpcId: string; readonly ipv6: string }> {
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: `10.${second}.0.0/16` }));
  const vpcId = vpc.Vpc!.VpcId!;
  const assoc = await ec2.send(
    new AssociateVpcCidrBlockCommand({ VpcId: vpcId, AmazonProvidedIpv6CidrBlock: true }),
  );
  const ipv6 = assoc.Ipv6CidrBlockAssociation!.Ipv6CidrBlock!.replace(/::\/56$/, '::/64');
  const cidr = `10.${second}.1.0/24`;
  const zone = 'us-east-1a';
  const s = await ec2.send(
    new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: cidr, Ipv6CidrBlock: ipv6, AvailabilityZone: zone }),
  );
  return { id: s.Subnet!.SubnetId!, cidr, zone, vpcId, ipv6 };
}

/** LocalStack does not validate AMI IDs (and loads no AMI catalogue, see localstack/README.md). */
const IMAGE_ID = 'ami-0123456789abcdef0';

/** Launches one instance in a subnet and returns it with its primary ENI. */
export async function runInstance(
  ec2: EC2Client,
  subnet: Vpc['subnets'][number],
  name: string,
  instanceType: string,
): Promise<WorldInstance> {
  const res = await ec2.send(
    new RunInstancesCommand({
      ImageId: IMAGE_ID,
      MinCount: 1,
      MaxCount: 1,
      InstanceType: instanceType as _InstanceType,
      SubnetId: subnet.id,
    }),
  );
  const inst = res.Instances![0]!;
  const eni = inst.NetworkInterfaces?.find((n) => n.Attachment?.DeviceIndex === 0);
  return {
    ref: { name, providerID: `aws:///${subnet.zone}/${inst.InstanceId}` },
    instanceId: inst.InstanceId!,
    eniId: eni!.NetworkInterfaceId!,
    subnetId: subnet.id,
    subnet: subnet.cidr,
    zone: subnet.zone,
    primaryIP: inst.PrivateIpAddress!,
  };
}

/** An ENI attached to an instance. */
export interface AttachedEni {
  readonly id: string;
  readonly attachmentId: string;
}

/** Creates an ENI tagged `key=value` in the instance's subnet and attaches it at device index 1. */
export async function attachTaggedEni(
  ec2: EC2Client,
  instance: WorldInstance,
  key: string,
  value: string,
): Promise<AttachedEni> {
  const created = await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: instance.subnetId }));
  const id = created.NetworkInterface!.NetworkInterfaceId!;
  await ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: key, Value: value }] }));
  const attached = await ec2.send(
    new AttachNetworkInterfaceCommand({
      NetworkInterfaceId: id,
      InstanceId: instance.instanceId,
      DeviceIndex: 1,
    }),
  );
  return { id, attachmentId: attached.AttachmentId! };
}

/** Detaches an ENI (forced) and deletes it, as when an instance's secondary ENI is replaced. */
export async function deleteAttachedEni(ec2: EC2Client, eni: AttachedEni): Promise<void> {
  await ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: eni.attachmentId, Force: true }));
  await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eni.id }));
}

/** The ENI as EC2 has it now. */
export async function describeEni(ec2: EC2Client, eniId: string): Promise<NetworkInterface> {
  const res = await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId] }));
  return res.NetworkInterfaces![0]!;
}

/** The ENI's secondary private IPv4 addresses, sorted. */
export async function secondaryIPs(ec2: EC2Client, eniId: string): Promise<string[]> {
  const eni = await describeEni(ec2, eniId);
  return (eni.PrivateIpAddresses ?? [])
    .filter((p) => !p.Primary)
    .map((p) => p.PrivateIpAddress!)
    .sort();
}

/** Every private IPv4 address on every ENI of the VPC, with the ENIs holding it. */
export async function holdersInVpc(ec2: EC2Client, vpcId: string): Promise<Map<string, string[]>> {
  const res = await ec2.send(
    new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }),
  );
  const out = new Map<string, string[]>();
  for (const eni of res.NetworkInterfaces ?? []) {
    for (const p of eni.PrivateIpAddresses ?? []) {
      out.set(p.PrivateIpAddress!, [...(out.get(p.PrivateIpAddress!) ?? []), eni.NetworkInterfaceId!]);
    }
  }
  return out;
}

/** Puts `ips` on an ENI the way another tool would (no ownership tag). */
export async function assignAsOtherTool(
  ec2: EC2Client,
  eniId: string,
  ips: readonly string[],
): Promise<void> {
  await ec2.send(
    new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, PrivateIpAddresses: [...ips] }),
  );
}

/** The cloud-egress ownership claims on a subnet, by owner tag key. */
export async function subnetTags(ec2: EC2Client, subnetId: string): Promise<Map<string, string>> {
  const res = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnetId] }));
  return new Map((res.Subnets?.[0]?.Tags ?? []).map((t) => [t.Key!, t.Value!]));
}

/**
 * Returns ENIs to their launch state: no secondary IPv4 addresses, and no cloud-egress ownership claims on them
 * or their subnets. The claims' version tags stay (`…/<owner>/version`, providers/aws/subnet-claims.ts): the
 * reset edits the claims behind the provider's back, as a person would, and the provider takes a read whose
 * version it wrote last as it is; a version gone would look to it like a read older than its first write.
 */
export async function resetEnis(ec2: EC2Client, eniIds: readonly string[]): Promise<void> {
  const subnets = new Set<string>();
  for (const eniId of eniIds) {
    const ips = await secondaryIPs(ec2, eniId);
    if (ips.length > 0) {
      await ec2.send(
        new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, PrivateIpAddresses: ips }),
      );
    }
    subnets.add((await describeEni(ec2, eniId)).SubnetId!);
  }
  for (const subnetId of subnets) {
    const ours = [...(await subnetTags(ec2, subnetId)).keys()].filter(
      (k) => k.startsWith(`${OWNERSHIP_TAG}/`) && !k.endsWith('/version'),
    );
    if (ours.length > 0) {
      await ec2.send(new DeleteTagsCommand({ Resources: [subnetId], Tags: ours.map((Key) => ({ Key })) }));
    }
  }
}

/** The preflight's fix for an egress ENI the Amazon VPC CNI manages: the tag `node.k8s.amazonaws.com/no_manage=true`. */
export async function tagNoManage(ec2: EC2Client, eniId: string): Promise<void> {
  await ec2.send(
    new CreateTagsCommand({
      Resources: [eniId],
      Tags: [{ Key: 'node.k8s.amazonaws.com/no_manage', Value: 'true' }],
    }),
  );
}

/**
 * The preflight's two fixes for an egress ENI where the Amazon VPC CNI runs and the agents' return path is
 * podNetwork, made as a person would: the tag `node.k8s.amazonaws.com/no_manage=true` (ipamd leaves the ENI alone)
 * and the source/destination check off.
 */
export async function mendForVpcCni(ec2: EC2Client, eniId: string): Promise<void> {
  await tagNoManage(ec2, eniId);
  await ec2.send(
    new ModifyNetworkInterfaceAttributeCommand({
      NetworkInterfaceId: eniId,
      SourceDestCheck: { Value: false },
    }),
  );
}

/** `count` addresses of `cidr` (a /24) from host `.from` on that no ENI of the VPC holds. */
export async function freeIPsIn(
  ec2: EC2Client,
  vpcId: string,
  cidr: string,
  count: number,
  from = 10,
): Promise<string[]> {
  const used = await holdersInVpc(ec2, vpcId);
  const prefix = cidr.split('.').slice(0, 3).join('.');
  const out: string[] = [];
  for (let host = from; host < 255 && out.length < count; host++) {
    const ip = `${prefix}.${host}`;
    if (!used.has(ip)) out.push(ip);
  }
  if (out.length < count) throw new Error(`only ${out.length} free addresses in ${cidr}`);
  return out;
}
