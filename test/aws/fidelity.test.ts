/**
 * @module
 * The EC2 fidelity patches (localstack/ec2_fidelity.py): each case states what the Amazon EC2 API Reference
 * documents and checks LocalStack does it. The same cases run against LocalStack without the patches and must
 * fail there, which proves each patch is needed.
 */
import {
  AllocateAddressCommand,
  AssignPrivateIpAddressesCommand,
  AssociateAddressCommand,
  DescribeAddressesCommand,
  DescribeNetworkInterfacesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../localstack/localstack.ts';
import { bigIntToIp, cidrRange } from '../../src/net/ip.ts';
import {
  createVpc,
  freeIPsIn,
  holdersInVpc,
  runInstance,
  secondaryIPs,
  testEc2Client,
  type Vpc,
} from './world.ts';

type Case = (ec2: EC2Client, vpc: Vpc) => Promise<void>;

async function pair(ec2: EC2Client, vpc: Vpc, type = 'm5.large') {
  const subnet = vpc.subnets[0]!;
  return [await runInstance(ec2, subnet, 'a', type), await runInstance(ec2, subnet, 'b', type)] as const;
}

/** The documented behaviour, one function per patch. */
const CASES: Record<string, Case> = {
  /**
   * API_AssignPrivateIpAddresses.html, AllowReassignment: "Indicates whether to allow an IP address that is
   * already assigned to another network interface or instance to be reassigned to the specified network
   * interface." Without it, an address in use fails; errors-overview.html: InvalidIPAddress.InUse, "The
   * specified IP address is already in use."
   */
  'AssignPrivateIpAddresses honours AllowReassignment': async (ec2, vpc) => {
    const [a, b] = await pair(ec2, vpc);
    const [ip] = await freeIPsIn(ec2, vpc.vpcId, a.subnet, 1);
    await ec2.send(
      new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: a.eniId, PrivateIpAddresses: [ip!] }),
    );
    await ec2.send(
      new AssignPrivateIpAddressesCommand({
        NetworkInterfaceId: b.eniId,
        PrivateIpAddresses: [ip!],
        AllowReassignment: true,
      }),
    );
    expect(await secondaryIPs(ec2, a.eniId)).toEqual([]);
    expect(await secondaryIPs(ec2, b.eniId)).toEqual([ip]);

    const refused = ec2.send(
      new AssignPrivateIpAddressesCommand({
        NetworkInterfaceId: a.eniId,
        PrivateIpAddresses: [ip!],
        AllowReassignment: false,
      }),
    );
    await expect(refused).rejects.toMatchObject({ name: 'InvalidIPAddress.InUse' });
    expect(await secondaryIPs(ec2, a.eniId)).toEqual([]);
    expect(await secondaryIPs(ec2, b.eniId)).toEqual([ip]);
  },

  /**
   * API_AssignPrivateIpAddresses.html: a reassignment moves the address; the cloud never shows it on two
   * interfaces. Every DescribeNetworkInterfaces answer taken while it moves back and forth, and while two
   * callers race to take it, shows it on exactly one interface.
   */
  'a moving address is on one ENI in every answer, even under concurrent calls': async (ec2, vpc) => {
    const subnet = vpc.subnets[0]!;
    const enis = [
      ...(await pair(ec2, vpc)),
      await runInstance(ec2, subnet, 'c', 'm5.large'),
      await runInstance(ec2, subnet, 'd', 'm5.large'),
    ].map((i) => i.eniId);
    const [ip] = await freeIPsIn(ec2, vpc.vpcId, subnet.cidr, 1);
    const take = (eni: string) =>
      ec2.send(
        new AssignPrivateIpAddressesCommand({
          NetworkInterfaceId: eni,
          PrivateIpAddresses: [ip!],
          AllowReassignment: true,
        }),
      );
    await take(enis[0]!);
    let moving = true;
    const answers: number[] = [];
    const watch = async () => {
      while (moving) answers.push((await holdersInVpc(ec2, vpc.vpcId)).get(ip!)?.length ?? 0);
    };
    const watchers = Promise.all([watch(), watch()]);
    // Two callers at a time take it to different interfaces.
    for (let round = 0; round < 150; round++) {
      await Promise.all([take(enis[round % 4]!), take(enis[(round + 1) % 4]!)]);
    }
    moving = false;
    await watchers;
    expect(answers.length).toBeGreaterThan(10);
    expect(answers.filter((n) => n !== 1)).toEqual([]);
    expect((await holdersInVpc(ec2, vpc.vpcId)).get(ip!)).toHaveLength(1);
  },

  /**
   * API_DescribeNetworkInterfaces.html, filter `addresses.private-ip-address`: "The private IPv4 addresses
   * associated with the network interface" (all of them, not only the primary).
   */
  'the addresses.private-ip-address filter matches secondary IPs': async (ec2, vpc) => {
    const [a] = await pair(ec2, vpc);
    const [ip] = await freeIPsIn(ec2, vpc.vpcId, a.subnet, 1);
    await ec2.send(
      new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: a.eniId, PrivateIpAddresses: [ip!] }),
    );
    const res = await ec2.send(
      new DescribeNetworkInterfacesCommand({
        Filters: [{ Name: 'addresses.private-ip-address', Values: [ip!] }],
      }),
    );
    expect(res.NetworkInterfaces?.map((n) => n.NetworkInterfaceId)).toEqual([a.eniId]);
  },

  /**
   * API_AssociateAddress.html, PrivateIpAddress: "The primary or secondary private IP address to associate
   * with the Elastic IP address." API_AssignPrivateIpAddresses.html: "When you move a secondary private IP
   * address to another network interface, any Elastic IP address that is associated with the IP address is
   * also moved."
   */
  'AssociateAddress honours PrivateIpAddress (and the EIP moves with its IP)': async (ec2, vpc) => {
    const [a, b] = await pair(ec2, vpc);
    const [ip] = await freeIPsIn(ec2, vpc.vpcId, a.subnet, 1);
    await ec2.send(
      new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: a.eniId, PrivateIpAddresses: [ip!] }),
    );
    const eip = await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
    await ec2.send(
      new AssociateAddressCommand({
        AllocationId: eip.AllocationId,
        NetworkInterfaceId: a.eniId,
        PrivateIpAddress: ip,
      }),
    );
    const read = async () =>
      (await ec2.send(new DescribeAddressesCommand({ AllocationIds: [eip.AllocationId!] }))).Addresses![0]!;
    expect(await read()).toMatchObject({ NetworkInterfaceId: a.eniId, PrivateIpAddress: ip });

    await ec2.send(
      new AssignPrivateIpAddressesCommand({
        NetworkInterfaceId: b.eniId,
        PrivateIpAddresses: [ip!],
        AllowReassignment: true,
      }),
    );
    expect(await read()).toMatchObject({ NetworkInterfaceId: b.eniId, PrivateIpAddress: ip });
  },

  /**
   * AvailableIpPerENI.html: an instance type has a maximum number of IPv4 addresses per network interface
   * (t3.micro: 2, the primary included); errors-overview.html: PrivateIpAddressLimitExceeded, "You've reached
   * the limit on the number of private IP addresses that you can assign to the specified network interface
   * for that type of instance."
   */
  'the per-ENI IPv4 limit of the instance type is enforced': async (ec2, vpc) => {
    const [a] = await pair(ec2, vpc, 't3.micro');
    const ips = await freeIPsIn(ec2, vpc.vpcId, a.subnet, 2);
    const over = ec2.send(
      new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: a.eniId, PrivateIpAddresses: ips }),
    );
    await expect(over).rejects.toMatchObject({ name: 'PrivateIpAddressLimitExceeded' });
    expect(await secondaryIPs(ec2, a.eniId)).toEqual([]);
    await ec2.send(
      new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: a.eniId, PrivateIpAddresses: [ips[0]!] }),
    );
    expect(await secondaryIPs(ec2, a.eniId)).toEqual([ips[0]]);
  },

  /**
   * subnet-sizing.html: "The first four IP addresses and the last IP address in each subnet CIDR block are not
   * available for your use, and they cannot be assigned to a resource." Asked for by name, they are refused
   * (InvalidParameterValue); the next address is assignable.
   */
  'the addresses AWS reserves in a subnet cannot be assigned': async (ec2, vpc) => {
    const [a] = await pair(ec2, vpc);
    const range = cidrRange(a.subnet);
    const at = (offset: bigint) => bigIntToIp(range.start + offset, 4);
    const last = bigIntToIp(range.end, 4);
    for (const ip of [at(1n), at(2n), at(3n), last]) {
      const refused = await ec2
        .send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: a.eniId, PrivateIpAddresses: [ip] }))
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      expect(await secondaryIPs(ec2, a.eniId), `${ip} assigned`).toEqual([]);
      expect(refused).toMatchObject({ name: 'InvalidParameterValue' });
    }
    const [free] = await freeIPsIn(ec2, vpc.vpcId, a.subnet, 1);
    await ec2.send(
      new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: a.eniId, PrivateIpAddresses: [free!] }),
    );
    expect(await secondaryIPs(ec2, a.eniId)).toEqual([free]);
  },
};

describe.each([
  { patches: true, title: 'LocalStack with the EC2 fidelity patches behaves as AWS documents' },
  { patches: false, title: 'LocalStack without the patches does not (each patch is needed)' },
])('$title', ({ patches }) => {
  let ls: LocalStack;
  let ec2: EC2Client;
  beforeAll(async () => {
    ls = await startLocalStack({ patches });
    ec2 = testEc2Client(ls);
  });
  afterAll(async () => {
    ec2?.destroy();
    await ls?.stop();
  });

  for (const [title, run] of Object.entries(CASES)) {
    it(title, async () => {
      const vpc = await createVpc(ec2, ['us-east-1a']);
      if (patches) await run(ec2, vpc);
      // Unpatched, a documented expectation fails (not a set-up error).
      else await expect(run(ec2, vpc)).rejects.toMatchObject({ name: 'AssertionError' });
    });
  }
});
