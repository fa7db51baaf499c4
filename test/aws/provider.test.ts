/**
 * @module
 * AWS provider features beyond the shared contract, against LocalStack (EC2 fidelity patches on): Elastic IPs
 * that follow their private IP, an egress ENI chosen by tag, cloud-picked IPs, IPv6 moves, two installations
 * sharing ENIs, and the registry entry. Every case reads EC2's own state back.
 */
import {
  AllocateAddressCommand,
  AssignPrivateIpAddressesCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeAddressesCommand,
  type EC2Client,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../localstack/localstack.ts';
import { createAwsProviderTuned } from '../../providers/aws/index.ts';
import { silentLogger } from '../../src/log.ts';
import { canonicalIp, cidrContains } from '../../src/net/ip.ts';
import type { CloudProvider, ClusterProbe } from '../../src/provider/contract.ts';
import { providerFactory } from '../../src/provider/registry.ts';
import { deniedByDocumentedPolicies } from './iam/documented-policies.ts';
import { documentedGatewayTag, readEc2Facts } from './iam/ec2-facts.ts';
import { ec2Recorder } from './iam/ec2-recorder.ts';
import {
  attachTaggedEni,
  createDualStackSubnet,
  createVpc,
  deleteAttachedEni,
  describeEni,
  freeIPsIn,
  runInstance,
  secondaryIPs,
  tagNoManage,
  testEc2Client,
  type Vpc,
} from './world.ts';

describe('AWS provider on LocalStack', () => {
  let ls: LocalStack;
  let ec2: EC2Client;
  let vpc: Vpc;
  // Every request the providers send is judged against the documented IAM policies at the end.
  const recorder = ec2Recorder();
  const make = (
    owner: string,
    extra: { interfaceTag?: string; interface?: string } = {},
    cluster?: ClusterProbe,
  ): CloudProvider =>
    createAwsProviderTuned(
      { owner, endpoint: ls.endpoint, ...extra },
      { credentials: ls.credentials, plugins: recorder.plugins(owner), ...(cluster ? { cluster } : {}) },
    );
  /** A cluster where the Amazon VPC CNI runs (`runs`), counting the questions. */
  const vpcCni = (runs: boolean | Error) => {
    const probe = {
      asked: 0,
      async vpcCni() {
        probe.asked += 1;
        if (runs instanceof Error) throw runs;
        return runs;
      },
    };
    return probe;
  };

  beforeAll(async () => {
    ls = await startLocalStack();
    ec2 = testEc2Client(ls);
    vpc = await createVpc(ec2, ['us-east-1a']);
  });
  afterAll(async () => {
    ec2?.destroy();
    await ls?.stop();
  });

  it('associates an Elastic IP with the egress IP and the EIP follows the IP when it moves', async () => {
    const a = await runInstance(ec2, vpc.subnets[0]!, 'eip-a', 'm5.large');
    const b = await runInstance(ec2, vpc.subnets[0]!, 'eip-b', 'm5.large');
    const provider = make('eip');
    const [ip] = await freeIPsIn(ec2, vpc.vpcId, a.subnet, 1, 100);
    const eip = await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
    const allocationId = eip.AllocationId!;
    const read = async () =>
      (await ec2.send(new DescribeAddressesCommand({ AllocationIds: [allocationId] }))).Addresses![0]!;

    const first = await provider.apply({
      changes: [{ kind: 'assign', ip: ip!, node: a.ref, publicAddress: allocationId }],
    });
    expect(first.outcomes.every((o) => o.ok)).toBe(true);
    expect(await read()).toMatchObject({ NetworkInterfaceId: a.eniId, PrivateIpAddress: ip });

    const moved = await provider.apply({
      changes: [{ kind: 'assign', ip: ip!, node: b.ref, from: a.ref, publicAddress: allocationId }],
    });
    expect(moved.outcomes.every((o) => o.ok)).toBe(true);
    expect(await read()).toMatchObject({ NetworkInterfaceId: b.eniId, PrivateIpAddress: ip });
    expect(await secondaryIPs(ec2, a.eniId)).toEqual([]);
    expect(await provider.listAssignments([a.ref, b.ref])).toEqual([
      { ip, node: 'eip-b', interfaceId: b.eniId, publicAddress: allocationId, publicIp: eip.PublicIp },
    ]);
  });

  it('puts egress IPs on the ENI selected by tag, not on the primary ENI', async () => {
    const node = await runInstance(ec2, vpc.subnets[0]!, 'tagged', 'm5.large');
    const egressEni = (await attachTaggedEni(ec2, node, 'egress', 'true')).id;
    const provider = make('tagged', { interfaceTag: 'egress=true' });
    expect((await provider.describeNode(node.ref)).interfaceId).toBe(egressEni);
    const [ip] = await freeIPsIn(ec2, vpc.vpcId, node.subnet, 1, 120);
    expect(
      (await provider.apply({ changes: [{ kind: 'assign', ip: ip!, node: node.ref }] })).outcomes[0]?.ok,
    ).toBe(true);
    expect(await secondaryIPs(ec2, egressEni)).toEqual([ip]);
    expect(await secondaryIPs(ec2, node.eniId)).toEqual([]);

    const untagged = make('tagged', { interfaceTag: 'egress=nowhere' });
    await expect(untagged.describeNode(node.ref)).rejects.toMatchObject({ kind: 'notFound' });
  });

  it('by default puts no egress IP on a primary ENI the VPC CNI manages, naming the fixes; tagged no_manage, a chosen index or no VPC CNI, it does', async () => {
    const node = await runInstance(ec2, vpc.subnets[0]!, 'managed', 'm5.large');
    const [ip1, ip2, ip3] = await freeIPsIn(ec2, vpc.vpcId, node.subnet, 3, 170);
    const assign = (p: CloudProvider, ip: string) =>
      p.apply({ changes: [{ kind: 'assign', ip, node: node.ref }] });

    // The default with aws-node running: refused before any write, the fix in the error.
    const probe = vpcCni(true);
    const refusing = make('managed', {}, probe);
    const described = await refusing.describeNode(node.ref);
    expect(described.interfaceId).toBe(node.eniId);
    expect(described.refusal).toMatch(
      new RegExp(
        `^node ${node.ref.name}: no egress IPs go on ${node.eniId}, the primary ENI of ${node.instanceId}, by default: .* \\(fix: .*cloud\\.interface\\.index=0\\)$`,
      ),
    );
    const refused = await assign(refusing, ip1!);
    expect(refused.outcomes[0]).toMatchObject({
      ok: false,
      error: { kind: 'terminal', code: 'ManagedInterface' },
    });
    expect(await secondaryIPs(ec2, node.eniId)).toEqual([]);
    // The preflight names it with the same fix (and the doctor prints it).
    expect(
      await refusing.preflight!([node.ref], undefined, { vpcCni: true, agentReturnPath: 'tunnel' }),
    ).toContainEqual({
      check: 'VPC CNI',
      node: node.ref.name,
      ok: false,
      message: expect.stringMatching(
        /ipamd .* may give an egress IP to a pod or release it; so by default no egress IP goes on it, and those it holds move off it$/,
      ),
      fix: expect.stringMatching(
        /cloud\.interface\.tag and agent\.egressInterface .*; or keep egress IPs on this ENI anyway with cloud\.interface\.index=0$/,
      ),
    });

    // The user's own choice of the primary ENI is taken as given, without asking the cluster.
    const chosen = vpcCni(true);
    expect((await assign(make('managed', { interface: '0' }, chosen), ip1!)).outcomes[0]?.ok).toBe(true);
    expect(chosen.asked).toBe(0);
    expect(await secondaryIPs(ec2, node.eniId)).toEqual([ip1]);
    // What the refused ENI holds is still listed, and released: IPs placed there before move off it.
    expect((await refusing.listAssignments([node.ref])).map((a) => [a.ip, a.interfaceId])).toEqual([
      [ip1, node.eniId],
    ]);
    const released = await refusing.apply({ changes: [{ kind: 'release', ip: ip1!, node: node.ref }] });
    expect(released.outcomes[0]?.ok).toBe(true);
    expect(await secondaryIPs(ec2, node.eniId)).toEqual([]);

    // Without the VPC CNI the default is the primary ENI; once the VPC CNI runs, the cached resolution is made
    // again and the refusal applies.
    let running = false;
    const later = make('managed', {}, { vpcCni: async () => running });
    expect((await assign(later, ip2!)).outcomes[0]?.ok).toBe(true);
    expect(await secondaryIPs(ec2, node.eniId)).toEqual([ip2]);
    expect((await later.describeNode(node.ref)).refusal).toBeUndefined();
    running = true;
    expect((await later.describeNode(node.ref)).refusal).toMatch(/no egress IPs go on/);

    // The cluster unable to say: retried as transient, nothing written.
    const unknown = make('managed', {}, vpcCni(new Error('pods is forbidden')));
    await expect(unknown.describeNode(node.ref)).rejects.toMatchObject({
      kind: 'transient',
      message: expect.stringContaining('whether the Amazon VPC CNI runs could not be read'),
    });

    // Tagged node.k8s.amazonaws.com/no_manage=true, ipamd leaves the ENI alone: the default takes it.
    await tagNoManage(ec2, node.eniId);
    const tagged = make('managed', {}, vpcCni(true));
    expect((await assign(tagged, ip3!)).outcomes[0]?.ok).toBe(true);
    expect(await secondaryIPs(ec2, node.eniId)).toEqual([ip2, ip3].sort());
  });

  it('resolves a node again when the ENI it remembered is gone (the tagged ENI was replaced)', async () => {
    const node = await runInstance(ec2, vpc.subnets[0]!, 'replaced', 'm5.large');
    const taggedEni = () => attachTaggedEni(ec2, node, 'egress', 'yes');
    const first = await taggedEni();
    const provider = make('replaced', { interfaceTag: 'egress=yes' });
    const [ip1, ip2] = await freeIPsIn(ec2, vpc.vpcId, node.subnet, 2, 200);
    expect(
      (await provider.apply({ changes: [{ kind: 'assign', ip: ip1!, node: node.ref }] })).outcomes[0]?.ok,
    ).toBe(true);
    expect(await secondaryIPs(ec2, first.id)).toEqual([ip1]);

    await deleteAttachedEni(ec2, first);
    const second = await taggedEni();
    const moved = await provider.apply({ changes: [{ kind: 'assign', ip: ip2!, node: node.ref }] });
    expect(moved.outcomes[0]?.ok).toBe(true);
    expect(await secondaryIPs(ec2, second.id)).toEqual([ip2]);
    expect((await provider.describeNode(node.ref)).interfaceId).toBe(second.id);
    expect((await provider.listAssignments([node.ref])).map((l) => [l.ip, l.interfaceId])).toEqual([
      [ip2, second.id],
    ]);
  });

  it('lets EC2 pick IPs for an allocation, reports them and owns them', async () => {
    const node = await runInstance(ec2, vpc.subnets[0]!, 'alloc', 'm5.large');
    const provider = make('alloc');
    const result = await provider.apply({ changes: [{ kind: 'allocate', count: 3, node: node.ref }] });
    const [outcome] = result.outcomes;
    expect(outcome?.ok).toBe(true);
    const allocated = outcome?.ok ? [...(outcome.allocated ?? [])].sort() : [];
    expect(allocated).toHaveLength(3);
    for (const ip of allocated) expect(cidrContains(node.subnet, ip)).toBe(true);
    expect(await secondaryIPs(ec2, node.eniId)).toEqual(allocated);
    expect((await provider.listAssignments([node.ref])).map((l) => l.ip)).toEqual(allocated);
  });

  it('never touches the IPs of another installation sharing the ENIs', async () => {
    const a = await runInstance(ec2, vpc.subnets[0]!, 'share-a', 'm5.large');
    const b = await runInstance(ec2, vpc.subnets[0]!, 'share-b', 'm5.large');
    const mine = make('cluster-1');
    const theirs = make('cluster-2');
    const [ip1, ip2] = await freeIPsIn(ec2, vpc.vpcId, a.subnet, 2, 140);
    await mine.apply({ changes: [{ kind: 'assign', ip: ip1!, node: a.ref }] });
    await theirs.apply({ changes: [{ kind: 'assign', ip: ip2!, node: a.ref }] });
    expect((await mine.listAssignments([a.ref])).map((l) => l.ip)).toEqual([ip1]);
    expect((await theirs.listAssignments([a.ref])).map((l) => l.ip)).toEqual([ip2]);
    const steal = await mine.apply({ changes: [{ kind: 'assign', ip: ip2!, node: b.ref, from: a.ref }] });
    expect(steal.outcomes[0]).toMatchObject({ ok: false, error: { kind: 'terminal' } });
    const release = await mine.apply({ changes: [{ kind: 'release', ip: ip1!, node: a.ref }] });
    expect(release.outcomes[0]?.ok).toBe(true);
    expect(await secondaryIPs(ec2, a.eniId)).toEqual([ip2]);
    expect(await secondaryIPs(ec2, b.eniId)).toEqual([]);
    expect((await theirs.listAssignments([a.ref])).map((l) => l.ip)).toEqual([ip2]);
  });

  it('moves an IPv6 egress address by releasing it on the old ENI, then assigning it on the new one', async () => {
    const subnet = await createDualStackSubnet(ec2, 250);
    const subnet64 = subnet.ipv6;
    const a = await runInstance(ec2, subnet, 'v6-a', 'm5.large');
    const b = await runInstance(ec2, subnet, 'v6-b', 'm5.large');
    const provider = make('v6');
    expect((await provider.describeNode(a.ref)).subnets).toEqual(['10.250.1.0/24', subnet64]);
    // The block's text may carry leading zeros (e.g. `0f00`): the provider compares addresses, not texts.
    const ip = subnet64.replace('::/64', '::e9');
    const canonical = canonicalIp(ip);
    const v6Of = async (eniId: string) =>
      (await describeEni(ec2, eniId)).Ipv6Addresses?.map((x) => canonicalIp(x.Ipv6Address!)) ?? [];

    expect((await provider.apply({ changes: [{ kind: 'assign', ip, node: a.ref }] })).outcomes[0]?.ok).toBe(
      true,
    );
    expect(await v6Of(a.eniId)).toEqual([canonical]);
    const moved = await provider.apply({ changes: [{ kind: 'assign', ip, node: b.ref, from: a.ref }] });
    expect(moved.outcomes[0]?.ok).toBe(true);
    expect(await v6Of(a.eniId)).toEqual([]);
    expect(await v6Of(b.eniId)).toEqual([canonical]);
    expect((await provider.listAssignments([a.ref, b.ref])).map((l) => [l.ip, l.node])).toEqual([
      [canonical, 'v6-b'],
    ]);
    expect((await provider.apply({ changes: [{ kind: 'release', ip, node: b.ref }] })).outcomes[0]?.ok).toBe(
      true,
    );
    expect(await v6Of(b.eniId)).toEqual([]);
  });

  it('keeps owning an IP after the node that first held it is terminated (the claim sits on the subnet)', async () => {
    const a = await runInstance(ec2, vpc.subnets[0]!, 'doomed', 'm5.large');
    const b = await runInstance(ec2, vpc.subnets[0]!, 'survivor', 'm5.large');
    const provider = make('survive');
    const [ip] = await freeIPsIn(ec2, vpc.vpcId, a.subnet, 1, 180);
    expect(
      (await provider.apply({ changes: [{ kind: 'assign', ip: ip!, node: a.ref }] })).outcomes[0]?.ok,
    ).toBe(true);
    const moved = await provider.apply({ changes: [{ kind: 'assign', ip: ip!, node: b.ref, from: a.ref }] });
    expect(moved.outcomes[0]?.ok).toBe(true);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [a.instanceId] }));
    expect((await provider.listAssignments([a.ref, b.ref])).map((l) => [l.ip, l.node])).toEqual([
      [ip, 'survivor'],
    ]);
    const released = await provider.apply({ changes: [{ kind: 'release', ip: ip!, node: b.ref }] });
    expect(released.outcomes[0]?.ok).toBe(true);
    expect(await secondaryIPs(ec2, b.eniId)).toEqual([]);
  });

  it('treats an IP held in another VPC with the same CIDR as free (private IPs are unique per VPC only)', async () => {
    const sameCidr = async () => {
      const v = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.251.0.0/16' }));
      const s = await ec2.send(
        new CreateSubnetCommand({
          VpcId: v.Vpc!.VpcId!,
          CidrBlock: '10.251.1.0/24',
          AvailabilityZone: 'us-east-1a',
        }),
      );
      return { id: s.Subnet!.SubnetId!, cidr: '10.251.1.0/24', zone: 'us-east-1a' };
    };
    const ours = await runInstance(ec2, await sameCidr(), 'vpc-ours', 'm5.large');
    const theirs = await runInstance(ec2, await sameCidr(), 'vpc-theirs', 'm5.large');
    const ip = '10.251.1.77';
    await ec2.send(
      new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: theirs.eniId, PrivateIpAddresses: [ip] }),
    );
    const result = await make('other-vpc').apply({ changes: [{ kind: 'assign', ip, node: ours.ref }] });
    expect(result.outcomes[0]?.ok).toBe(true);
    expect(await secondaryIPs(ec2, ours.eniId)).toEqual([ip]);
    expect(await secondaryIPs(ec2, theirs.eniId)).toEqual([ip]);
  });

  it('refuses an interface setting that is not a device index, touching nothing', async () => {
    const node = await runInstance(ec2, vpc.subnets[0]!, 'bad-setting', 'm5.large');
    const provider = createAwsProviderTuned(
      { owner: 'bad', endpoint: ls.endpoint, interface: 'eth1' },
      { credentials: ls.credentials },
    );
    await expect(provider.describeNode(node.ref)).rejects.toMatchObject({ kind: 'terminal' });
    const [ip] = await freeIPsIn(ec2, vpc.vpcId, node.subnet, 1, 160);
    const result = await provider.apply({ changes: [{ kind: 'assign', ip: ip!, node: node.ref }] });
    expect(result.outcomes[0]).toMatchObject({ ok: false, error: { kind: 'terminal' } });
    expect(await secondaryIPs(ec2, node.eniId)).toEqual([]);
  });

  it('is registered as "aws" and takes credentials from the SDK default chain (here: the environment)', async () => {
    const node = await runInstance(ec2, vpc.subnets[0]!, 'registry', 'm5.large');
    const saved = { id: process.env['AWS_ACCESS_KEY_ID'], secret: process.env['AWS_SECRET_ACCESS_KEY'] };
    process.env['AWS_ACCESS_KEY_ID'] = ls.credentials.accessKeyId;
    process.env['AWS_SECRET_ACCESS_KEY'] = ls.credentials.secretAccessKey;
    try {
      const factory = await providerFactory('aws');
      const provider = await factory(
        { owner: 'registry', endpoint: ls.endpoint },
        { logger: silentLogger() },
      );
      expect(provider.name).toBe('aws');
      const [ip] = await freeIPsIn(ec2, vpc.vpcId, node.subnet, 1, 170);
      expect(
        (await provider.apply({ changes: [{ kind: 'assign', ip: ip!, node: node.ref }] })).outcomes[0]?.ok,
      ).toBe(true);
      expect(await secondaryIPs(ec2, node.eniId)).toEqual([ip]);
    } finally {
      for (const [key, value] of [
        ['AWS_ACCESS_KEY_ID', saved.id],
        ['AWS_SECRET_ACCESS_KEY', saved.secret],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  it('made only requests the documented IAM policies allow (this world tags no ENI: the tag is assumed)', async () => {
    expect(recorder.requests.length).toBeGreaterThan(0);
    const facts = await readEc2Facts(ec2, ls.region, documentedGatewayTag);
    expect(await deniedByDocumentedPolicies(recorder.requests, facts)).toEqual([]);
  });
});
