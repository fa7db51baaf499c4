/**
 * @module
 * The mass failover on AWS, at a size LocalStack holds: 250 egress IPs on 6 gateway nodes (c8i.16xlarge, 64
 * IPv4 addresses per ENI: about 42 each) fail at once and move to 6 spare nodes, with the controller on a real
 * kube-apiserver and the AWS provider on LocalStack behind the counting fault proxy (test/aws/fault-proxy.ts).
 * One ENI holds at most 63 secondary IPv4 addresses on the largest types, so 250 IPs of failed nodes are
 * several nodes' worth on AWS; the test VPC's subnets are /24s, so the nodes and IPs are in two subnets of one
 * zone (3 holders and 3 spares, 125 IPs, in each).
 *
 * ```
 * 5 policies x 50 IPs ─► 6 nodes (group A) Ready; 6 spare nodes (group B) join (no failback: nothing moves)
 * trial: group holding the IPs NotReady ─► all 250 Ready on the other group ─► back Ready; groups swap
 *   counted per failover: EC2 calls per Action (the proxy), API writes (the API server's /metrics)
 * throttled: the same, with the first 3 AssignPrivateIpAddresses answered RequestLimitExceeded: the calls'
 *   arrival times show the provider's pacing (retry back-off with jitter) and it still converges
 * ```
 *
 * EC2's per-account buckets (providers/aws/token-bucket.ts): AssignPrivateIpAddresses 100 burst / 5 per s,
 * describe 100 / 20 per s. The rows say how much of them one failover takes.
 *
 * `npm run bench controller-scale-aws`
 */

import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLocalStack } from '../localstack/localstack.ts';
import { createAwsProviderTuned } from '../providers/aws/index.ts';
import { EC2_RATE_LIMITS } from '../providers/aws/token-bucket.ts';
import { ANNOTATIONS } from '../src/api/annotations.ts';
import { createVpc, freeIPsIn, runInstance, startFaultProxy, testEc2Client } from '../test/aws/index.ts';
import { ControllerWorld, eventually, startControlPlane, testSettings } from '../test/controller/index.ts';
import { parseApiMetrics, requestsBetween, writes } from './api-metrics.ts';
import { type BenchResult, median } from './types.ts';

const PER_SUBNET = 3;
const SUBNETS = 2;
const NODES = PER_SUBNET * SUBNETS;
const POLICIES = 5;
const IPS = 250;
const TRIALS = 5;
const THROTTLED_TRIALS = 3;
const THROTTLES = 3;

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
const range = (xs: readonly number[]) =>
  `min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)}`;
const perAction = (calls: ReadonlyMap<string, number>) =>
  [...calls]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([a, c]) => `${a} ${c}`)
    .join(', ');

export default async function bench(): Promise<BenchResult[]> {
  const controlPlane = await startControlPlane();
  const ls = await startLocalStack();
  const proxy = await startFaultProxy(ls.endpoint);
  const ec2 = testEc2Client(ls);
  const world = new ControllerWorld(controlPlane.kubeConfig, await controlPlane.newNamespace('scale-aws'));
  const reading = async () =>
    parseApiMetrics((await controlPlane.kubectl(['get', '--raw', '/metrics'])).stdout);
  try {
    const vpc = await createVpc(ec2, ['us-east-1a', 'us-east-1a']);
    const pool: string[] = [];
    for (const subnet of vpc.subnets)
      pool.push(...(await freeIPsIn(ec2, vpc.vpcId, subnet.cidr, IPS / SUBNETS, 100)));
    const group = (g: string) => Array.from({ length: NODES }, (_, i) => `${g}${i}`);
    const addGroup = async (g: string) => {
      for (const [i, short] of group(g).entries()) {
        const subnet = vpc.subnets[i % SUBNETS]!;
        await world.addInstanceNode(short, await runInstance(ec2, subnet, world.node(short), 'c8i.16xlarge'));
      }
    };
    await addGroup('a');
    const gw = await world.createGateway(
      'gw',
      { ips: pool, namespaceSelector: {} },
      { [ANNOTATIONS.endpoint]: proxy.endpoint, [ANNOTATIONS.region]: ls.region },
    );
    const failovers: number[] = [];
    await world.startController({
      settings: testSettings({ resyncPeriodMs: 600_000 }),
      maker: (_name, settings) => createAwsProviderTuned(settings, { credentials: ls.credentials }),
      onFailover: (_node, ms) => failovers.push(ms),
    });
    for (let p = 0; p < POLICIES; p++)
      await world.createPolicy(`p${p}`, { gatewayName: gw, count: IPS / POLICIES });
    const allReadyOn = (nodes: readonly string[]) => {
      const names = new Set(nodes.map((n) => world.node(n)));
      return eventually(
        `${IPS} IPs Ready on ${nodes.join(', ')}`,
        async () => {
          let ready = 0;
          for (let p = 0; p < POLICIES; p++) {
            for (const a of (await world.getPolicy(`p${p}`))?.status?.assignments ?? [])
              if (a.state === 'Ready' && a.node && names.has(a.node)) ready++;
          }
          return ready === IPS;
        },
        { timeoutMs: 180_000, intervalMs: 50 },
      );
    };
    await allReadyOn(group('a'));
    await addGroup('b');
    await sleep(1000);

    interface Trial {
      readonly ms: number;
      readonly calls: ReadonlyMap<string, number>;
      readonly writes: number;
      readonly assignArrivals: readonly number[];
    }
    let holders = group('a');
    let spares = group('b');
    const failover = async (throttle: boolean): Promise<Trial> => {
      const recorded = failovers.length;
      const before = await reading();
      proxy.resetCounts();
      if (throttle) proxy.inject({ action: 'AssignPrivateIpAddresses', fault: 'throttle', times: THROTTLES });
      await Promise.all(holders.map((n) => world.setNodeReady(n, { ready: false })));
      await allReadyOn(spares);
      while (failovers.length < recorded + NODES) await sleep(50);
      for (const c of world.controllers) await c.idle();
      const calls = new Map(proxy.calls());
      const assignArrivals = proxy.arrivals('AssignPrivateIpAddresses');
      const after = await reading();
      proxy.clearFaults();
      const ms = Math.max(...failovers.slice(recorded));
      await Promise.all(holders.map((n) => world.setNodeReady(n, { ready: true })));
      await sleep(1500);
      for (const c of world.controllers) await c.idle();
      [holders, spares] = [spares, holders];
      return { ms, calls, writes: writes(requestsBetween(before, after), ['nodes']), assignArrivals };
    };
    await failover(false); // warm-up: the provider describes the spares for the first time
    const plain: Trial[] = [];
    for (let t = 0; t < TRIALS; t++) plain.push(await failover(false));
    const throttled: Trial[] = [];
    for (let t = 0; t < THROTTLED_TRIALS; t++) throttled.push(await failover(true));

    const last = plain.at(-1)!;
    const assign = median(plain.map((t) => t.calls.get('AssignPrivateIpAddresses') ?? 0));
    const describe = median(
      plain.map((t) => [...t.calls].filter(([a]) => a.startsWith('Describe')).reduce((n, [, c]) => n + c, 0)),
    );
    const d = median(plain.map((t) => t.ms));
    const gaps = (t: Trial) =>
      t.assignArrivals
        .slice(1)
        .map((at, i) => at - t.assignArrivals[i]!)
        .map((g) => g.toFixed(0))
        .join('/');
    const dt = median(throttled.map((t) => t.ms));
    const a = EC2_RATE_LIMITS.AssignPrivateIpAddresses;
    const r = EC2_RATE_LIMITS.describe;
    return [
      {
        name: `controller scale (AWS on LocalStack): ${NODES} nodes holding ${IPS} IPs fail at once -> all Ready on ${NODES} others (real API server)`,
        value: Math.round(d),
        unit: 'ms',
        trials: TRIALS,
        target: '<= 2000 ms',
        ok: d <= 2000,
        note: `detection -> all Ready (slowest node); ${range(plain.map((t) => t.ms))}; API writes ${median(plain.map((t) => t.writes))} (${POLICIES} policies); load ${load()}`,
      },
      {
        name: `controller scale (AWS on LocalStack): EC2 calls per ${IPS}-IP failover`,
        value: assign,
        unit: 'AssignPrivateIpAddresses',
        trials: TRIALS,
        note: `${describe} Describe*; last: ${perAction(last.calls)}; of the account's buckets: Assign ${assign} of ${a.burst} burst (${a.refillPerSecond}/s), describe ${describe} of ${r.burst} (${r.refillPerSecond}/s)`,
      },
      {
        name: `controller scale (AWS on LocalStack): the same failover with the first ${THROTTLES} AssignPrivateIpAddresses answered RequestLimitExceeded`,
        value: Math.round(dt),
        unit: 'ms',
        trials: THROTTLED_TRIALS,
        note: `detection -> all Ready; ${range(throttled.map((t) => t.ms))}; Assign calls ${throttled.map((t) => t.calls.get('AssignPrivateIpAddresses') ?? 0).join(', ')}; ms between Assign arrivals: ${throttled.map(gaps).join(' | ')}; load ${load()}`,
      },
    ];
  } finally {
    await world.close();
    ec2.destroy();
    await proxy.close();
    await ls.stop();
    await controlPlane.stop();
  }
}
