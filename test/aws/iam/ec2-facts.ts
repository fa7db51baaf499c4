/**
 * @module
 * Reads {@link Ec2Facts} from EC2 (LocalStack): the tags of every ENI, subnet and Elastic IP and where each ENI
 * lives. `extraTags` adds tags on top of EC2's, for suites whose worlds do not tag resources as a policy's
 * documented set-up requires (docs/aws.md: gateway ENIs and Elastic IPs tagged `cloudegress.io/gateway=true`).
 */
import {
  DescribeAddressesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSubnetsCommand,
  type EC2Client,
  type Tag,
} from '@aws-sdk/client-ec2';
import type { Ec2Facts } from './ec2-authorization.ts';

/** LocalStack's account. */
export const LOCALSTACK_ACCOUNT = '000000000000';

/**
 * The documented set-up of docs/aws.md's policy (gateway ENIs and Elastic IPs tagged
 * `cloudegress.io/gateway=true`), as `extraTags` for worlds that do not tag.
 */
export const documentedGatewayTag = (id: string): Readonly<Record<string, string>> =>
  id.startsWith('eni-') || id.startsWith('eipalloc-') ? { 'cloudegress.io/gateway': 'true' } : {};

const toRecord = (tags: readonly Tag[] | undefined) =>
  Object.fromEntries((tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));

/** What EC2 holds now. */
export async function readEc2Facts(
  ec2: EC2Client,
  region: string,
  extraTags: (resourceId: string) => Readonly<Record<string, string>> = () => ({}),
): Promise<Ec2Facts> {
  const [enis, subnets, addresses] = await Promise.all([
    ec2.send(new DescribeNetworkInterfacesCommand({})),
    ec2.send(new DescribeSubnetsCommand({})),
    ec2.send(new DescribeAddressesCommand({})),
  ]);
  const tags = new Map<string, Record<string, string>>();
  const where = new Map<string, { subnetId: string; vpcId: string; zone: string }>();
  for (const n of enis.NetworkInterfaces ?? []) {
    tags.set(n.NetworkInterfaceId!, toRecord(n.TagSet));
    where.set(n.NetworkInterfaceId!, { subnetId: n.SubnetId!, vpcId: n.VpcId!, zone: n.AvailabilityZone! });
  }
  for (const s of subnets.Subnets ?? []) tags.set(s.SubnetId!, toRecord(s.Tags));
  const eips = new Map<string, { publicIp: string }>();
  for (const a of addresses.Addresses ?? []) {
    tags.set(a.AllocationId!, toRecord(a.Tags));
    eips.set(a.AllocationId!, { publicIp: a.PublicIp! });
  }
  return {
    account: LOCALSTACK_ACCOUNT,
    region,
    tags: (id) => ({ ...(tags.get(id) ?? {}), ...extraTags(id) }),
    eni: (id) => where.get(id),
    eip: (id) => eips.get(id),
  };
}
