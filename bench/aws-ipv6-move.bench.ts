/**
 * @module
 * The AWS IPv6 move window: `AssignIpv6Addresses` has no AllowReassignment, so the provider moves an IPv6 egress
 * address by `UnassignIpv6Addresses` on the old ENI, then `AssignIpv6Addresses` on the new one
 * (providers/aws/assign-attempt.ts). Between the two the address is on no ENI and its traffic is lost. Measured
 * against LocalStack behind the counting proxy of test/aws/fault-proxy.ts, which logs when each interface write
 * arrived and was answered. The window lies between the gap between the two calls (unassign answered → assign
 * sent) and its upper bound (unassign sent → assign answered); the upper bound is the row's value. The same
 * move of an IPv4 address is one `AssignPrivateIpAddresses` with AllowReassignment: no window.
 *
 * Modelled: the same move with every EC2 call answered `MODELLED_CALL_MS` later (AWS publishes no latency for
 * these calls; 300 ms is an assumption, as in aws-move.bench.ts), so the figure is labelled modelled.
 *
 * `npm run bench aws-ipv6`
 */
import { startLocalStack } from '../localstack/localstack.ts';
import { createAwsProviderTuned } from '../providers/aws/index.ts';
import { canonicalIp } from '../src/net/ip.ts';
import {
  createDualStackSubnet,
  freeIPsIn,
  runInstance,
  startFaultProxy,
  testEc2Client,
} from '../test/aws/index.ts';
import { type BenchResult, median } from './types.ts';

const TRIALS = 10;
const MODELLED_TRIALS = 3;
/** The assumed time of one EC2 call for the modelled rows (see the module comment). */
const MODELLED_CALL_MS = 300;

const spread = (xs: readonly number[]) =>
  `min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)}`;

/** Runs the benchmark. */
export default async function awsIpv6MoveBench(): Promise<BenchResult[]> {
  const ls = await startLocalStack();
  const proxy = await startFaultProxy(ls.endpoint);
  const direct = testEc2Client(ls);
  try {
    const subnet = await createDualStackSubnet(direct, 251);
    const a = await runInstance(direct, subnet, 'v6-a', 'm5.large');
    const b = await runInstance(direct, subnet, 'v6-b', 'm5.large');
    const provider = createAwsProviderTuned(
      { owner: 'bench', endpoint: proxy.endpoint },
      { credentials: ls.credentials },
    );
    const ip6 = canonicalIp(subnet.ipv6.replace('::/64', '::e9'));
    const [ip4] = await freeIPsIn(direct, subnet.vpcId, subnet.cidr, 1, 100);

    /** Moves `ip` from a to b (seeded on a first); the move's time and its interface writes. */
    const move = async (ip: string) => {
      const seeded = await provider.apply({ changes: [{ kind: 'assign', ip, node: a.ref }] });
      if (!seeded.outcomes.every((o) => o.ok)) throw new Error(`seeding ${ip} on a failed`);
      proxy.resetCounts();
      const start = performance.now();
      const moved = await provider.apply({ changes: [{ kind: 'assign', ip, node: b.ref, from: a.ref }] });
      const took = performance.now() - start;
      if (!moved.outcomes.every((o) => o.ok)) throw new Error(`moving ${ip} failed`);
      const writes = [...proxy.interfaceWrites()];
      const back = await provider.apply({ changes: [{ kind: 'release', ip, node: b.ref }] });
      if (!back.outcomes.every((o) => o.ok)) throw new Error(`releasing ${ip} failed`);
      return { took, writes };
    };
    /** The window of an IPv6 move: [gap between the calls, unassign sent → assign answered]. */
    const window = (writes: readonly { interfaceId: string; startedAt: number; endedAt: number }[]) => {
      const off = writes.find((w) => w.interfaceId === a.eniId);
      const on = writes.find((w) => w.interfaceId === b.eniId);
      if (!off || !on || writes.length !== 2) {
        throw new Error(`expected one write per ENI, got ${JSON.stringify(writes)}`);
      }
      return { low: Math.max(0, on.startedAt - off.endedAt), high: on.endedAt - off.startedAt };
    };

    const v6 = { took: [] as number[], low: [] as number[], high: [] as number[] };
    const v4: number[] = [];
    let v4Writes = 0;
    for (let trial = 0; trial <= TRIALS; trial++) {
      const six = await move(ip6);
      const four = await move(ip4!);
      if (trial === 0) continue; // warm-up
      const w = window(six.writes);
      v6.took.push(six.took);
      v6.low.push(w.low);
      v6.high.push(w.high);
      v4.push(four.took);
      v4Writes = Math.max(v4Writes, four.writes.length);
    }
    const modelled: number[] = [];
    for (let trial = 0; trial < MODELLED_TRIALS; trial++) {
      proxy.inject({
        action: '*',
        fault: 'latency',
        times: Number.POSITIVE_INFINITY,
        latencyMs: MODELLED_CALL_MS,
      });
      try {
        modelled.push(window((await move(ip6)).writes).high);
      } finally {
        proxy.clearFaults();
      }
    }

    const what = 'AWS: move one egress IP between two ENIs (LocalStack)';
    return [
      {
        name: `${what}, IPv6: window with the address on no ENI (unassign then assign), upper bound`,
        value: median(v6.high),
        unit: 'ms',
        trials: TRIALS,
        note: `${spread(v6.high)}; lower bound (gap between the calls) median ${median(v6.low).toFixed(1)} ms; the whole move median ${median(v6.took).toFixed(1)} ms (${spread(v6.took)}), reads included`,
      },
      {
        name: `${what}, IPv4 beside it: the whole move (one AssignPrivateIpAddresses, AllowReassignment)`,
        value: median(v4),
        unit: 'ms',
        trials: TRIALS,
        note: `${spread(v4)}; ${v4Writes} interface write per move, so no window: the address is on one ENI or the other`,
      },
      {
        name: `${what}, IPv6: window upper bound, modelled (every EC2 call ${MODELLED_CALL_MS} ms)`,
        value: median(modelled),
        unit: 'ms',
        trials: MODELLED_TRIALS,
        note: `${spread(modelled)}; about two calls' time: the unassign's and the assign's (an assumed call time, not a measured one)`,
      },
    ];
  } finally {
    await proxy.close();
    await ls.stop();
  }
}
