/**
 * @module
 * What each EC2 command of the quick start must have done, checked in LocalStack's state through the SDK.
 */
import {
  type _InstanceType,
  DescribeAddressesCommand,
  DescribeInstancesCommand,
  DescribeInstanceTypesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcsCommand,
  type EC2Client,
  GetSubnetCidrReservationsCommand,
} from '@aws-sdk/client-ec2';
import { expect } from 'vitest';
import { type Check, chartPorts, gatewayIPs } from './check-context.ts';

async function reservations(ec2: EC2Client, subnetId: string) {
  const r = await ec2.send(new GetSubnetCidrReservationsCommand({ SubnetId: subnetId }));
  return r.SubnetIpv4CidrReservations ?? [];
}

/** By `service operation`. */
export const EC2_CHECKS: Readonly<Record<string, Check>> = {
  /** The table lists the VPC's two subnets (id, zone, CIDR) and no other (the default VPC has some too). */
  'ec2 describe-subnets': async ({ stdout }, { world }) => {
    for (const s of [world.subnetA, world.subnetB]) {
      for (const field of [s.id, s.zone, s.cidr]) expect(stdout).toContain(field);
    }
    expect(stdout.split('\n').filter((l) => l.includes('subnet-'))).toHaveLength(2);
  },

  /** It prints the subnet's reservations as EC2 has them. */
  'ec2 get-subnet-cidr-reservations': async ({ args, stdout }, { ec2 }) => {
    const printed = JSON.parse(stdout) as {
      SubnetIpv4CidrReservations: { SubnetCidrReservationId: string }[];
    };
    const ids = (list: readonly { SubnetCidrReservationId?: string }[]) =>
      list.map((r) => r.SubnetCidrReservationId).sort();
    expect(ids(printed.SubnetIpv4CidrReservations)).toEqual(
      ids(await reservations(ec2, args.one('--subnet-id'))),
    );
  },

  /**
   * The subnet holds an explicit reservation of the block, the command printed its ID (what §9 deletes), and
   * the block is one of the EgressGateway's `ips` (§7).
   */
  'ec2 create-subnet-cidr-reservation': async ({ args, stdout }, { ec2, world, doc }) => {
    const subnetId = args.one('--subnet-id');
    expect([world.subnetA.id, world.subnetB.id]).toContain(subnetId);
    const cidr = args.one('--cidr');
    const held = (await reservations(ec2, subnetId)).filter((r) => r.Cidr === cidr);
    expect(held).toHaveLength(1);
    expect(held[0]!.ReservationType).toBe('explicit');
    expect(stdout.trim()).toBe(held[0]!.SubnetCidrReservationId);
    expect(gatewayIPs(doc)).toContain(cidr);
  },

  /** It prints EC2's IPv4 addresses per interface of the type, and the quick start states the same number. */
  'ec2 describe-instance-types': async ({ args, stdout }, { ec2, doc }) => {
    const type = args.one('--instance-types');
    const r = await ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: [type as _InstanceType] }));
    const perInterface = r.InstanceTypes?.[0]?.NetworkInfo?.Ipv4AddressesPerInterface;
    expect(perInterface).toBeGreaterThan(0);
    expect(stdout.trim()).toBe(String(perInterface));
    const stated = new RegExp(`\`${type.replaceAll('.', '\\.')}\`: (\\d+)`).exec(doc);
    expect(stated?.[1], `the quick start states the IPv4 addresses per ENI of ${type}`).toBe(
      String(perInterface),
    );
  },

  /** The node security group lets its members reach each other on the port, and it is one the chart uses. */
  'ec2 authorize-security-group-ingress': async ({ args }, { ec2, world }) => {
    const group = args.one('--group-id');
    expect(group).toBe(world.nodeSecurityGroup);
    const protocol = args.one('--protocol');
    const port = Number(args.one('--port'));
    expect(chartPorts()[protocol as 'udp' | 'tcp'], `the chart's ${protocol} port`).toBe(port);
    const sg = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [group] }))).SecurityGroups![0]!;
    const rule = (sg.IpPermissions ?? []).find(
      (p) => p.IpProtocol === protocol && p.FromPort === port && p.ToPort === port,
    );
    expect(rule?.UserIdGroupPairs?.map((g) => g.GroupId)).toContain(args.one('--source-group'));
  },

  /** `VPC_CIDRS` is every IPv4 CIDR of the VPC, comma-separated, as `agent.clusterCIDRs={…}` wants them. */
  'ec2 describe-vpcs': async ({ args, stdout }, { ec2, world }) => {
    const vpcId = args.one('--vpc-ids');
    expect(vpcId).toBe(world.vpcId);
    const vpc = (await ec2.send(new DescribeVpcsCommand({ VpcIds: [vpcId] }))).Vpcs![0]!;
    const cidrs = (vpc.CidrBlockAssociationSet ?? []).map((a) => a.CidrBlock);
    expect(cidrs).toEqual(world.vpcCidrs);
    expect(stdout.trim()).toBe(world.vpcCidrs.join(','));
  },

  /** It prints the ENI that holds the egress IP and that ENI's instance. */
  'ec2 describe-network-interfaces': async ({ args, stdout }, { ec2, world }) => {
    const filter = args.one('--filters');
    const ip = /^Name=addresses\.private-ip-address,Values=(.+)$/.exec(filter)?.[1];
    expect(ip).toBe(world.egressIP);
    const r = await ec2.send(
      new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'vpc-id', Values: [world.vpcId] }] }),
    );
    const holders = (r.NetworkInterfaces ?? []).filter((n) =>
      (n.PrivateIpAddresses ?? []).some((p) => p.PrivateIpAddress === ip),
    );
    expect(holders.map((n) => n.NetworkInterfaceId)).toEqual([world.holder.eniId]);
    expect(stdout.trim().split(/\s+/)).toEqual([world.holder.eniId, world.holder.instanceId]);
  },

  /** The instance is stopping or stopped. */
  'ec2 stop-instances': async ({ args }, { ec2 }) => {
    const id = args.one('--instance-ids');
    const r = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    expect(['stopping', 'stopped']).toContain(r.Reservations?.[0]?.Instances?.[0]?.State?.Name);
  },

  /** It printed the allocation ID of a VPC Elastic IP that exists. */
  'ec2 allocate-address': async ({ stdout }, { ec2 }) => {
    const id = stdout.trim();
    expect(id).toMatch(/^eipalloc-/);
    const r = await ec2.send(new DescribeAddressesCommand({ AllocationIds: [id] }));
    expect(r.Addresses?.map((a) => a.Domain)).toEqual(['vpc']);
  },

  /** The reservation (an ID §3 printed) is gone from both subnets. */
  'ec2 delete-subnet-cidr-reservation': async ({ args }, { ec2, world }) => {
    const id = args.one('--subnet-cidr-reservation-id');
    expect(id).toMatch(/^scr-/);
    for (const s of [world.subnetA, world.subnetB]) {
      expect((await reservations(ec2, s.id)).map((r) => r.SubnetCidrReservationId)).not.toContain(id);
    }
  },

  /** The Elastic IP is released. */
  'ec2 release-address': async ({ args }, { ec2 }) => {
    const id = args.one('--allocation-id');
    expect(id).toMatch(/^eipalloc-/);
    const r = await ec2.send(
      new DescribeAddressesCommand({ Filters: [{ Name: 'allocation-id', Values: [id] }] }),
    );
    expect(r.Addresses ?? []).toEqual([]);
  },
};
