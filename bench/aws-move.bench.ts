/**
 * @module
 * AWS failover cost: 50 egress IPs move off a dead gateway node onto 2 nodes, against LocalStack (EC2 fidelity
 * patches on) behind the counting proxy of test/aws/fault-proxy.ts. Compares the provider (one
 * AssignPrivateIpAddresses with AllowReassignment per target ENI) with a release-then-assign-per-IP design
 * (what CNCC does on AWS: Unassign on the old ENI, then Assign on the new one, per IP). Counts the EC2 calls of
 * every kind too, reads included, for a provider that has seen the nodes before and for a new one.
 *
 * Modelled outage: the same move with every EC2 call answered `MODELLED_CALL_MS` later by the proxy. AWS publishes
 * no latency for these calls; 300 ms is an assumption (the slow end of what EC2 API calls commonly take), so the
 * figure is labelled modelled. An IP is on no ENI for none of it: AllowReassignment moves it in one call.
 *
 * `npm run bench aws`
 */
import { AssignPrivateIpAddressesCommand, UnassignPrivateIpAddressesCommand } from '@aws-sdk/client-ec2';
import { startLocalStack } from '../localstack/localstack.ts';
import { createAwsProviderTuned } from '../providers/aws/index.ts';
import type { Change } from '../src/provider/contract.ts';
import {
  createVpc,
  freeIPsIn,
  holdersInVpc,
  resetEnis,
  runInstance,
  secondaryIPs,
  startFaultProxy,
  testEc2Client,
} from '../test/aws/index.ts';
import { type BenchResult, median } from './types.ts';

const IPS = 50;
const TRIALS = 5;
const MODELLED_TRIALS = 3;
/** The assumed time of one EC2 call for the modelled rows (see the module comment). */
const MODELLED_CALL_MS = 300;

const total = (calls: ReadonlyMap<string, number>) => [...calls.values()].reduce((n, c) => n + c, 0);
const perAction = (calls: ReadonlyMap<string, number>) =>
  [...calls]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([a, c]) => `${a} ${c}`)
    .join(', ');

/** Runs the benchmark. */
export default async function awsMoveBench(): Promise<BenchResult[]> {
  const ls = await startLocalStack();
  const proxy = await startFaultProxy(ls.endpoint);
  const direct = testEc2Client(ls);
  const viaProxy = testEc2Client({ ...ls, endpoint: proxy.endpoint });
  try {
    const vpc = await createVpc(direct, ['us-east-1a']);
    const subnet = vpc.subnets[0]!;
    // c8i.16xlarge takes 64 IPv4 addresses per ENI, enough for 50 secondaries; m5.4xlarge takes 30.
    const dead = await runInstance(direct, subnet, 'dead', 'c8i.16xlarge');
    const targets = [
      await runInstance(direct, subnet, 'gw-1', 'm5.4xlarge'),
      await runInstance(direct, subnet, 'gw-2', 'm5.4xlarge'),
    ];
    const all = [dead, ...targets];
    const provider = createAwsProviderTuned(
      { owner: 'bench', endpoint: proxy.endpoint },
      { credentials: ls.credentials },
    );
    const ips = await freeIPsIn(direct, vpc.vpcId, subnet.cidr, IPS);
    const moves: Change[] = ips.map((ip, i) => ({
      kind: 'assign',
      ip,
      node: targets[i % 2]!.ref,
      from: dead.ref,
    }));

    const seed = async () => {
      await resetEnis(
        direct,
        all.map((n) => n.eniId),
      );
      const res = await provider.apply({
        changes: ips.map((ip) => ({ kind: 'assign', ip, node: dead.ref })),
      });
      if (!res.outcomes.every((o) => o.ok)) throw new Error('seeding the dead node failed');
      proxy.resetCounts();
    };
    const verify = async () => {
      if ((await secondaryIPs(direct, dead.eniId)).length !== 0) throw new Error('IPs left on the dead node');
      const holders = await holdersInVpc(direct, vpc.vpcId);
      for (const ip of ips)
        if (holders.get(ip)?.length !== 1) throw new Error(`${ip} is not on exactly one ENI`);
    };

    const providerTimes: number[] = [];
    let providerCalls: ReadonlyMap<string, number> = new Map();
    for (let trial = 0; trial <= TRIALS; trial++) {
      await seed();
      const start = performance.now();
      const res = await provider.apply({ changes: moves });
      const took = performance.now() - start;
      if (!res.outcomes.every((o) => o.ok)) throw new Error('the move failed');
      await verify();
      if (trial > 0) providerTimes.push(took);
      providerCalls = new Map(proxy.calls());
    }
    const mutating = [...providerCalls].filter(([a]) => !a.startsWith('Describe'));
    const modelledTimes: number[] = [];
    for (let trial = 0; trial < MODELLED_TRIALS; trial++) {
      await seed();
      proxy.inject({
        action: '*',
        fault: 'latency',
        times: Number.POSITIVE_INFINITY,
        latencyMs: MODELLED_CALL_MS,
      });
      const start = performance.now();
      const res = await provider.apply({ changes: moves });
      modelledTimes.push(performance.now() - start);
      proxy.clearFaults();
      if (!res.outcomes.every((o) => o.ok)) throw new Error('the modelled move failed');
      await verify();
    }
    // The first move of a provider that has not seen the nodes yet (a controller just elected leader).
    await seed();
    const cold = createAwsProviderTuned(
      { owner: 'bench', endpoint: proxy.endpoint },
      { credentials: ls.credentials },
    );
    if (!(await cold.apply({ changes: moves })).outcomes.every((o) => o.ok))
      throw new Error('the move failed');
    await verify();
    const coldCalls = new Map(proxy.calls());

    const naiveTimes: number[] = [];
    let naiveCalls = 0;
    for (let trial = 0; trial <= TRIALS; trial++) {
      await seed();
      const start = performance.now();
      for (const [i, ip] of ips.entries()) {
        await viaProxy.send(
          new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: dead.eniId, PrivateIpAddresses: [ip] }),
        );
        await viaProxy.send(
          new AssignPrivateIpAddressesCommand({
            NetworkInterfaceId: targets[i % 2]!.eniId,
            PrivateIpAddresses: [ip],
          }),
        );
      }
      const took = performance.now() - start;
      await verify();
      if (trial > 0) naiveTimes.push(took);
      naiveCalls = proxy.mutatingCalls();
    }

    const what = `AWS: move ${IPS} IPs off a dead node onto 2 nodes (LocalStack)`;
    return [
      {
        name: `${what}: mutating EC2 calls, provider`,
        value: mutating.reduce((n, [, c]) => n + c, 0),
        unit: 'calls',
        target: '<= 2',
        ok: mutating.reduce((n, [, c]) => n + c, 0) <= 2,
        note: `${mutating.map(([a, c]) => `${a} ${c}`).join(', ')} (AllowReassignment, one per target ENI); claims sit on the subnet, so a move writes no tag; counted at the proxy`,
      },
      {
        name: `${what}: EC2 calls of every kind, provider`,
        value: total(providerCalls),
        unit: 'calls',
        note: `${perAction(providerCalls)}; reads included, nodes seen before (the steady state), counted at the proxy`,
      },
      {
        name: `${what}: EC2 calls of every kind, provider's first move`,
        value: total(coldCalls),
        unit: 'calls',
        note: `${perAction(coldCalls)}; a new provider (nodes not seen yet)`,
      },
      {
        name: `${what}: mutating EC2 calls, release-then-assign per IP`,
        value: naiveCalls,
        unit: 'calls',
        target: `${2 * IPS}`,
        ok: naiveCalls === 2 * IPS,
        note: 'Unassign + Assign per IP, no ownership tags',
      },
      {
        name: `${what}: wall time, provider`,
        value: median(providerTimes),
        unit: 'ms',
        trials: TRIALS,
        note: `min ${Math.min(...providerTimes).toFixed(0)}, max ${Math.max(...providerTimes).toFixed(0)}; reads included`,
      },
      {
        name: `${what}: the move with ${MODELLED_CALL_MS} ms an EC2 call (modelled)`,
        value: median(modelledTimes) / 1000,
        unit: 's',
        trials: MODELLED_TRIALS,
        note: `modelled, not measured on AWS: every call answered ${MODELLED_CALL_MS} ms later at the proxy (an assumption; AWS publishes none); min ${(Math.min(...modelledTimes) / 1000).toFixed(2)}, max ${(Math.max(...modelledTimes) / 1000).toFixed(2)}; mutating calls ${mutating.reduce((n, [, c]) => n + c, 0)}; no IP is on no ENI (AllowReassignment moves it in one call)`,
      },
      {
        name: `${what}: wall time, release-then-assign per IP`,
        value: median(naiveTimes),
        unit: 'ms',
        trials: TRIALS,
        note: `min ${Math.min(...naiveTimes).toFixed(0)}, max ${Math.max(...naiveTimes).toFixed(0)}; sequential, no reads`,
      },
    ];
  } finally {
    direct.destroy();
    viaProxy.destroy();
    await proxy.close();
    await ls.stop();
  }
}
