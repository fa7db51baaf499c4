/**
 * @module
 * The AWS provider under injected faults (test/aws/fault-proxy.ts in front of LocalStack): after throttling,
 * 500s, latency and dropped connections on each call it makes, the provider converges, an IP is never on two
 * ENIs, and no IP is left behind (checked with `DescribeNetworkInterfaces` straight against LocalStack).
 */
import { AssignPrivateIpAddressesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../localstack/localstack.ts';
import { claimedIPs } from '../../providers/aws/eni.ts';
import { createAwsProviderTuned } from '../../providers/aws/index.ts';
import type { Change, CloudProvider } from '../../src/provider/contract.ts';
import { type FaultProxy, type FaultRule, startFaultProxy } from './fault-proxy.ts';
import {
  createVpc,
  freeIPsIn,
  holdersInVpc,
  resetEnis,
  runInstance,
  secondaryIPs,
  subnetTags,
  testEc2Client,
  type Vpc,
  type WorldInstance,
} from './world.ts';

const OWNER = 'faults';

describe('AWS provider under injected faults', () => {
  let ls: LocalStack;
  let proxy: FaultProxy;
  let ec2: EC2Client;
  let vpc: Vpc;
  let a: WorldInstance;
  let b: WorldInstance;
  let provider: CloudProvider;
  let impatient: CloudProvider;
  /** A provider that has not resolved any node yet (its first move reads DescribeInstances). */
  let fresh: () => CloudProvider;

  beforeAll(async () => {
    ls = await startLocalStack();
    proxy = await startFaultProxy(ls.endpoint);
    ec2 = testEc2Client(ls);
    vpc = await createVpc(ec2, ['us-east-1a']);
    a = await runInstance(ec2, vpc.subnets[0]!, 'node-a', 'm5.large');
    b = await runInstance(ec2, vpc.subnets[0]!, 'node-b', 'm5.large');
    const settings = { owner: OWNER, endpoint: proxy.endpoint };
    const fast = { baseDelayMs: 10, throttledBaseDelayMs: 40, maxDelayMs: 500 };
    fresh = () =>
      createAwsProviderTuned(settings, {
        credentials: ls.credentials,
        requestTimeoutMs: 3000,
        retry: { retries: 8, ...fast },
      });
    provider = fresh();
    impatient = createAwsProviderTuned(settings, {
      credentials: ls.credentials,
      retry: { retries: 2, ...fast },
    });
  });
  afterAll(async () => {
    ec2?.destroy();
    await proxy?.close();
    await ls?.stop();
  });
  beforeEach(async () => {
    proxy.clearFaults();
    await resetEnis(ec2, [a.eniId, b.eniId]);
    proxy.resetCounts();
  });

  /** The cloud holds exactly `expected` (ENI -> IPs), each IP on one ENI, each tagged as ours. */
  async function expectCloud(expected: ReadonlyMap<WorldInstance, readonly string[]>) {
    for (const [inst, ips] of expected) {
      expect(await secondaryIPs(ec2, inst.eniId), `secondary IPs of ${inst.ref.name}`).toEqual(
        [...ips].sort(),
      );
      const claimed = claimedIPs(await subnetTags(ec2, inst.subnetId), OWNER);
      for (const ip of ips) expect(claimed.has(ip), `ownership claim on ${ip}`).toBe(true);
    }
    for (const [ip, enis] of await holdersInVpc(ec2, vpc.vpcId)) {
      expect(enis, `ENIs holding ${ip}`).toHaveLength(1);
    }
  }

  async function seedOnA(count: number): Promise<string[]> {
    const ips = await freeIPsIn(ec2, vpc.vpcId, a.subnet, count);
    const seeded = await provider.apply({ changes: ips.map((ip) => ({ kind: 'assign', ip, node: a.ref })) });
    expect(seeded.outcomes.every((o) => o.ok)).toBe(true);
    proxy.resetCounts();
    return ips;
  }

  const moveFaults: { title: string; rule: FaultRule }[] = [
    {
      title: 'throttling of AssignPrivateIpAddresses',
      rule: { action: 'AssignPrivateIpAddresses', fault: 'throttle', times: 2 },
    },
    {
      title: '500s from AssignPrivateIpAddresses',
      rule: { action: 'AssignPrivateIpAddresses', fault: 'error500', times: 2 },
    },
    {
      title: 'a dropped connection before AssignPrivateIpAddresses arrives',
      rule: { action: 'AssignPrivateIpAddresses', fault: 'dropBefore', times: 1 },
    },
    {
      title: 'a lost response after AssignPrivateIpAddresses was carried out',
      rule: { action: 'AssignPrivateIpAddresses', fault: 'dropAfter', times: 2 },
    },
    {
      title: 'throttling of DescribeNetworkInterfaces',
      rule: { action: 'DescribeNetworkInterfaces', fault: 'throttle', times: 3 },
    },
    {
      title: 'a dropped DescribeInstances',
      rule: { action: 'DescribeInstances', fault: 'dropBefore', times: 1 },
    },
    {
      title: 'latency on every call',
      rule: { action: '*', fault: 'latency', latencyMs: 150, times: Number.POSITIVE_INFINITY },
    },
  ];

  for (const { title, rule } of moveFaults) {
    it(`a move of 4 IPs converges after ${title}`, async () => {
      const ips = await seedOnA(4);
      proxy.inject(rule);
      const changes: Change[] = ips.map((ip) => ({ kind: 'assign', ip, node: b.ref, from: a.ref }));
      // A new provider: it resolves the nodes, so faults on DescribeInstances are met too.
      const result = await fresh().apply({ changes });
      proxy.clearFaults();
      expect(proxy.injected().get(rule.fault) ?? 0).toBeGreaterThan(0);
      expect(result.outcomes.filter((o) => !o.ok)).toEqual([]);
      await expectCloud(
        new Map([
          [a, []],
          [b, ips],
        ]),
      );
    });
  }

  it('a move of claimed IPs by a provider that knows the nodes: one round of reads, no holder lookup, one assign', async () => {
    const ips = await seedOnA(4);
    // `provider` resolved both nodes before (seedOnA and earlier tests): no DescribeInstances now.
    await provider.describeNode(b.ref);
    proxy.resetCounts();
    const result = await provider.apply({
      changes: ips.map((ip) => ({ kind: 'assign', ip, node: b.ref, from: a.ref })),
    });
    expect(result.outcomes.filter((o) => !o.ok)).toEqual([]);
    expect(Object.fromEntries(proxy.calls())).toEqual({
      DescribeNetworkInterfaces: 1,
      DescribeSubnets: 1,
      AssignPrivateIpAddresses: 1,
    });
    // The ENI and the subnet are read together, not one after the other.
    const [eniRead] = proxy.arrivals('DescribeNetworkInterfaces');
    const [subnetRead] = proxy.arrivals('DescribeSubnets');
    const [assign] = proxy.arrivals('AssignPrivateIpAddresses');
    expect(Math.max(eniRead!, subnetRead!)).toBeLessThan(assign!);
    await expectCloud(
      new Map([
        [a, []],
        [b, ips],
      ]),
    );
  });

  it("the holder of an IP we do not claim is still looked up, and another tool's IP is not taken", async () => {
    const [ip] = await freeIPsIn(ec2, vpc.vpcId, a.subnet, 1);
    await ec2.send(
      new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: a.eniId, PrivateIpAddresses: [ip!] }),
    );
    proxy.resetCounts();
    const result = await provider.apply({ changes: [{ kind: 'assign', ip: ip!, node: b.ref }] });
    expect(result.outcomes[0]).toMatchObject({ ok: false, error: { kind: 'terminal' } });
    expect(proxy.calls().get('DescribeNetworkInterfaces')).toBe(2);
    expect(proxy.mutatingCalls()).toBe(0);
    expect(await secondaryIPs(ec2, a.eniId)).toEqual([ip]);
    expect(await secondaryIPs(ec2, b.eniId)).toEqual([]);
  });

  for (const fault of ['error500', 'dropAfter'] as const) {
    it(`a first assignment converges after ${fault} on CreateTags (the claim)`, async () => {
      const ips = await freeIPsIn(ec2, vpc.vpcId, a.subnet, 4);
      proxy.inject({ action: 'CreateTags', fault, times: 1 });
      const result = await provider.apply({
        changes: ips.map((ip) => ({ kind: 'assign', ip, node: a.ref })),
      });
      expect(proxy.injected().get(fault)).toBe(1);
      expect(result.outcomes.filter((o) => !o.ok)).toEqual([]);
      await expectCloud(new Map([[a, ips]]));
    });
  }

  for (const fault of ['dropAfter', 'error500', 'throttle'] as const) {
    it(`a release converges after ${fault} on UnassignPrivateIpAddresses`, async () => {
      const ips = await seedOnA(3);
      proxy.inject({ action: 'UnassignPrivateIpAddresses', fault, times: 1 });
      const result = await provider.apply({
        changes: ips.map((ip) => ({ kind: 'release', ip, node: a.ref })),
      });
      expect(proxy.injected().get(fault)).toBe(1);
      expect(result.outcomes.filter((o) => !o.ok)).toEqual([]);
      await expectCloud(new Map([[a, []]]));
    });
  }

  it('an allocation whose response was lost is not repeated: exactly the asked count, all owned', async () => {
    proxy.inject({
      action: 'AssignPrivateIpAddresses',
      fault: 'dropAfter',
      times: 1,
      withParam: 'SecondaryPrivateIpAddressCount',
    });
    const result = await provider.apply({ changes: [{ kind: 'allocate', count: 3, node: a.ref }] });
    expect(proxy.injected().get('dropAfter')).toBe(1);
    const [outcome] = result.outcomes;
    expect(outcome?.ok).toBe(true);
    const allocated = outcome?.ok ? [...(outcome.allocated ?? [])] : [];
    expect(allocated).toHaveLength(3);
    await expectCloud(new Map([[a, allocated]]));
  });

  it('throttling that outlasts the retries fails the move as throttled and leaves the IPs where they were', async () => {
    const ips = await seedOnA(2);
    proxy.inject({ action: 'AssignPrivateIpAddresses', fault: 'throttle', times: Number.POSITIVE_INFINITY });
    const result = await impatient.apply({
      changes: ips.map((ip) => ({ kind: 'assign', ip, node: b.ref, from: a.ref })),
    });
    proxy.clearFaults();
    expect(result.outcomes.map((o) => !o.ok && o.error.kind)).toEqual(['throttled', 'throttled']);
    expect(proxy.mutatingCalls('AssignPrivateIpAddresses')).toBe(3);
    await expectCloud(
      new Map([
        [a, ips],
        [b, []],
      ]),
    );
    // Once the throttling stops, the same plan converges.
    const again = await provider.apply({
      changes: ips.map((ip) => ({ kind: 'assign', ip, node: b.ref, from: a.ref })),
    });
    expect(again.outcomes.every((o) => o.ok)).toBe(true);
    await expectCloud(
      new Map([
        [a, []],
        [b, ips],
      ]),
    );
  });

  it('the client-side token bucket spaces mutating calls to the configured rate', async () => {
    const ips = await seedOnA(1);
    const limited = createAwsProviderTuned(
      { owner: OWNER, endpoint: proxy.endpoint },
      {
        credentials: ls.credentials,
        rateLimits: { AssignPrivateIpAddresses: { burst: 1, refillPerSecond: 1 } },
      },
    );
    // Four moves back and forth: four AssignPrivateIpAddresses, at most one a second after the burst of one.
    for (const [to, from] of [
      [b, a],
      [a, b],
      [b, a],
      [a, b],
    ] as const) {
      const res = await limited.apply({
        changes: [{ kind: 'assign', ip: ips[0]!, node: to.ref, from: from.ref }],
      });
      expect(res.outcomes[0]?.ok).toBe(true);
    }
    const at = proxy.arrivals('AssignPrivateIpAddresses');
    expect(at).toHaveLength(4);
    expect(at[3]! - at[0]!).toBeGreaterThanOrEqual(3 * 1000 - 20);
    await expectCloud(
      new Map([
        [a, ips],
        [b, []],
      ]),
    );
  });
});
