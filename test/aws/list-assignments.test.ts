/**
 * @module
 * `listAssignments` of the AWS provider against LocalStack (EC2 fidelity patches on) behind the counting proxy
 * of fault-proxy.ts: it reports what EC2 holds (IPs this installation claims, their Elastic IPs, nothing of
 * another installation or tool) in a few batched calls per region, retries throttled reads, and still answers
 * right for a node whose ENI was deleted or replaced after the provider resolved it.
 */
import { AllocateAddressCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../localstack/localstack.ts';
import { createAwsProviderTuned } from '../../providers/aws/index.ts';
import type { CloudAssignment, CloudProvider, NodeRef } from '../../src/provider/contract.ts';
import { type FaultProxy, startFaultProxy } from './fault-proxy.ts';
import {
  assignAsOtherTool,
  attachTaggedEni,
  createVpc,
  deleteAttachedEni,
  freeIPsIn,
  runInstance,
  secondaryIPs,
  testEc2Client,
  type Vpc,
  type WorldInstance,
} from './world.ts';

describe('AWS listAssignments on LocalStack', () => {
  let ls: LocalStack;
  let proxy: FaultProxy;
  let ec2: EC2Client;
  let vpc: Vpc;
  const make = (owner: string, extra: { interfaceTag?: string } = {}): CloudProvider =>
    createAwsProviderTuned(
      { owner, endpoint: proxy.endpoint, ...extra },
      {
        credentials: ls.credentials,
        retry: { retries: 4, baseDelayMs: 10, throttledBaseDelayMs: 40, maxDelayMs: 500 },
      },
    );
  /** The calls the proxy counted, by EC2 Action. */
  const counted = () => Object.fromEntries(proxy.calls());
  const ok = async (provider: CloudProvider, ip: string, node: NodeRef, publicAddress?: string) => {
    const res = await provider.apply({
      changes: [{ kind: 'assign', ip, node, ...(publicAddress ? { publicAddress } : {}) }],
    });
    expect(res.outcomes[0]?.ok, `assign ${ip} to ${node.name}`).toBe(true);
  };

  beforeAll(async () => {
    ls = await startLocalStack();
    proxy = await startFaultProxy(ls.endpoint);
    ec2 = testEc2Client(ls);
    vpc = await createVpc(ec2, ['us-east-1a', 'us-east-1b']);
  });
  afterAll(async () => {
    ec2?.destroy();
    await proxy?.close();
    await ls?.stop();
  });

  describe('four gateway nodes in two subnets', () => {
    let nodes: WorldInstance[];
    let mine: CloudProvider;
    let expected: CloudAssignment[];

    beforeAll(async () => {
      const [s1, s2] = vpc.subnets;
      nodes = [
        await runInstance(ec2, s1!, 'gw-a', 'm5.large'),
        await runInstance(ec2, s1!, 'gw-b', 'm5.large'),
        await runInstance(ec2, s2!, 'gw-c', 'm5.large'),
        await runInstance(ec2, s2!, 'gw-d', 'm5.large'),
      ];
      const [a, b, c, d] = nodes as [WorldInstance, WorldInstance, WorldInstance, WorldInstance];
      mine = make('list-mine');
      const theirs = make('list-theirs');
      const [a1, a2, b1] = await freeIPsIn(ec2, vpc.vpcId, s1!.cidr, 3, 100);
      const [c1, c2, d1] = await freeIPsIn(ec2, vpc.vpcId, s2!.cidr, 3, 100);
      const allocated = await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
      const allocationId = allocated.AllocationId!;

      await ok(mine, a1!, a.ref, allocationId);
      await ok(mine, a2!, a.ref);
      await ok(mine, b1!, b.ref);
      await ok(theirs, c1!, c.ref);
      await assignAsOtherTool(ec2, c.eniId, [c2!]);
      await ok(mine, d1!, d.ref);
      expect(await secondaryIPs(ec2, a.eniId)).toEqual([a1, a2].sort());
      expect(await secondaryIPs(ec2, c.eniId)).toEqual([c1, c2].sort());

      const on = (n: WorldInstance, ip: string, publicAddress?: string): CloudAssignment => ({
        ip,
        node: n.ref.name,
        interfaceId: n.eniId,
        // The Elastic IP's own address, as status shows it (`publicAddresses[].publicIp`).
        ...(publicAddress ? { publicAddress, publicIp: allocated.PublicIp! } : {}),
      });
      // Per node in the order asked, each node's IPs sorted; c holds only IPs that are not ours.
      expected = [
        ...[on(a, a1!, allocationId), on(a, a2!)].sort((x, y) => (x.ip < y.ip ? -1 : 1)),
        on(b, b1!),
        on(d, d1!),
      ];
      expect((await theirs.listAssignments(nodes.map((n) => n.ref))).map((l) => [l.ip, l.node])).toEqual([
        [c1, 'gw-c'],
      ]);
      // `mine` has put IPs on a, b and d only: resolve c too, so every node is one it has seen.
      await mine.describeNode(c.ref);
    });

    it('reports the claimed IPs and their Elastic IPs in three EC2 calls for nodes already resolved', async () => {
      proxy.resetCounts();
      expect(await mine.listAssignments(nodes.map((n) => n.ref))).toEqual(expected);
      expect(counted()).toEqual({ DescribeNetworkInterfaces: 1, DescribeSubnets: 1, DescribeAddresses: 1 });
    });

    it('reads nodes it has not seen with one DescribeInstances each and the same three calls', async () => {
      proxy.resetCounts();
      expect(await make('list-mine').listAssignments(nodes.map((n) => n.ref))).toEqual(expected);
      expect(counted()).toEqual({
        DescribeInstances: 4,
        DescribeNetworkInterfaces: 1,
        DescribeSubnets: 1,
        DescribeAddresses: 1,
      });
    });

    it('retries a throttled batched read', async () => {
      proxy.resetCounts();
      proxy.inject({ action: 'DescribeNetworkInterfaces', fault: 'throttle', times: 1 });
      proxy.inject({ action: 'DescribeAddresses', fault: 'error500', times: 1 });
      try {
        expect(await mine.listAssignments(nodes.map((n) => n.ref))).toEqual(expected);
      } finally {
        proxy.clearFaults();
      }
      expect(proxy.injected().get('throttle')).toBe(1);
      expect(proxy.injected().get('error500')).toBe(1);
    });

    it('makes no DescribeAddresses when no node holds an IP of ours', async () => {
      const c = nodes[2]!;
      proxy.resetCounts();
      expect(await mine.listAssignments([c.ref])).toEqual([]);
      expect(counted()).toEqual({ DescribeNetworkInterfaces: 1, DescribeSubnets: 1 });
    });
  });

  it('answers right for nodes whose ENI was replaced or deleted after they were resolved', async () => {
    const subnet = vpc.subnets[0]!;
    const taggedEni = (node: WorldInstance) => attachTaggedEni(ec2, node, 'egress', 'list');
    const replaced = await runInstance(ec2, subnet, 'eni-replaced', 'm5.large');
    const kept = await runInstance(ec2, subnet, 'eni-kept', 'm5.large');
    const lost = await runInstance(ec2, subnet, 'eni-lost', 'm5.large');
    const [first, keptEni, lostEni] = [
      await taggedEni(replaced),
      await taggedEni(kept),
      await taggedEni(lost),
    ];
    const provider = make('list-tagged', { interfaceTag: 'egress=list' });
    const [ipR, ipK, ipL] = await freeIPsIn(ec2, vpc.vpcId, subnet.cidr, 3, 150);
    await ok(provider, ipR!, replaced.ref);
    await ok(provider, ipK!, kept.ref);
    await ok(provider, ipL!, lost.ref);
    const refs = [replaced.ref, kept.ref, lost.ref];
    expect((await provider.listAssignments(refs)).map((l) => [l.ip, l.interfaceId])).toEqual([
      [ipR, first.id],
      [ipK, keptEni.id],
      [ipL, lostEni.id],
    ]);

    // The first node's tagged ENI is replaced and its IP put back on the new one (the claim sits on the
    // subnet, so it is still ours); the third node's tagged ENI is gone for good.
    await deleteAttachedEni(ec2, first);
    const second = await taggedEni(replaced);
    await assignAsOtherTool(ec2, second.id, [ipR!]);
    await deleteAttachedEni(ec2, lostEni);

    proxy.resetCounts();
    const lists = await provider.listAssignments(refs);
    expect(lists).toEqual([
      { ip: ipR, node: 'eni-replaced', interfaceId: second.id },
      { ip: ipK, node: 'eni-kept', interfaceId: keptEni.id },
    ]);
    // Only the two nodes whose ENI was missing are resolved again.
    expect(proxy.calls().get('DescribeInstances')).toBe(2);

    // The new resolution is cached: the next listing is batched again (only the node without an egress ENI,
    // which has no resolution to cache, is looked up once more: DescribeInstances and its tagged-ENI search).
    proxy.resetCounts();
    expect(await provider.listAssignments(refs)).toEqual(lists);
    expect(counted()).toEqual({
      DescribeInstances: 1,
      DescribeNetworkInterfaces: 2,
      DescribeSubnets: 1,
      DescribeAddresses: 1,
    });
  });
});
