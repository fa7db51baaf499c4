/**
 * @module
 * The hard-kill trials both end-to-end benchmarks run (the process box, e2e-failover.bench.ts, and the
 * real-node box, real-node-failover.bench.ts): each trial cuts the power of the node that holds the egress
 * IP, measures the longest run of failed requests any probe saw until traffic flowed again from the same
 * IP, brings the node back and waits out the flap damping; then the rows of the table, with the outage's
 * parts (detection, cloud move, dataplane) and the machine's load.
 */
import { loadavg } from 'node:os';
import {
  type FailoverBox,
  killAndMeasure,
  type ProbeSamples,
  summarize,
  waitForHolder,
  waitForSteadyTraffic,
} from '../test/e2e/index.ts';
import type { BenchResult } from './types.ts';

/** What the trials need of a box. */
export interface HardKillBox extends FailoverBox {
  recoverNode(name: string): Promise<void>;
  doubleHeldIps(): Promise<string[]>;
}

/** The measurements of a series of trials (ms). */
export interface HardKillResult {
  readonly outages: number[];
  readonly failedRequests: number[];
  readonly detection: number[];
  readonly cloudMove: number[];
  readonly dataplane: number[];
  /** 1-minute load average at each kill. */
  readonly load: number[];
}

/**
 * Runs `trials` hard kills of the holder of `ip` (default the first of `expected`; the private IP when the probes
 * see a public one), recovering the node after each. `pods` limits the measured outage to those probes (the
 * samples' keys; default every probe), e.g. one family's probes in dual stack.
 */
export async function hardKillTrials(
  box: HardKillBox,
  probes: ProbeSamples,
  expected: ReadonlySet<string>,
  trials: number,
  ip: string = [...expected][0]!,
  pods?: readonly string[],
): Promise<HardKillResult> {
  const r: HardKillResult = {
    outages: [],
    failedRequests: [],
    detection: [],
    cloudMove: [],
    dataplane: [],
    load: [],
  };
  for (let i = 0; i < trials; i++) {
    const holder = await waitForHolder(box, ip, 60_000);
    r.load.push(loadavg()[0]!);
    const result = await killAndMeasure(box, probes, [holder], expected, {
      timeoutMs: 30_000,
      ip,
      ...(pods ? { pods } : {}),
    });
    const windows = [...result.windows.values()].flat();
    if (windows.some((w) => w.open)) throw new Error(`trial ${i + 1}: traffic did not come back`);
    r.outages.push(result.worstMs);
    if (result.detectedAt !== undefined) r.detection.push(result.detectedAt - result.killAt);
    if (result.detectedAt !== undefined && result.movedAt !== undefined) {
      r.cloudMove.push(result.movedAt - result.detectedAt);
    }
    if (result.movedAt !== undefined && windows.length > 0) {
      r.dataplane.push(Math.max(...windows.map((w) => w.to)) - result.movedAt);
    }
    r.failedRequests.push(windows.reduce((n, w) => n + w.samples, 0));
    process.stderr.write(
      `  trial ${i + 1}: ${holder} -> ${result.holderAfter}: outage ${result.worstMs.toFixed(0)} ms (load ${loadavg()[0]!.toFixed(1)})\n`,
    );
    const backAt = Date.now();
    await box.recoverNode(holder);
    // The recovered node must answer probes through the damping period before it may hold the IP again.
    await waitForSteadyTraffic(probes, expected, { after: backAt, consecutive: 20, timeoutMs: 120_000 });
    await new Promise((res) => setTimeout(res, 4000));
  }
  const doubles = await box.doubleHeldIps();
  if (doubles.length > 0) throw new Error(`IPs on two ENIs: ${doubles.join(', ')}`);
  return r;
}

/** The table rows of a series: outage (median, max vs the targets) and failed requests with the parts. */
export function hardKillRows(
  box: string,
  r: HardKillResult,
  vpc: { describeMedianMs: number; applyMedianMs: number },
  extraNote = '',
): BenchResult[] {
  const s = summarize(r.outages);
  const med = (xs: readonly number[]) => summarize(xs).median.toFixed(0);
  const load = summarize(r.load);
  return [
    {
      name: `e2e: egress outage on a hard gateway kill (${box}, 20 req/s probe, worst pod per trial)`,
      value: Math.round(s.median),
      unit: 'ms',
      trials: s.n,
      target: '<= 600 ms median',
      ok: s.median <= 600,
      note: `max ${s.max.toFixed(0)} ms (target <= 1000: ${s.max <= 1000 ? 'yes' : 'NO'}); load average at the kills: median ${load.median.toFixed(1)}, max ${load.max.toFixed(1)} on 2 CPUs${extraNote}; Cilium Enterprise ~3 s (1 s health check), OVN-Kubernetes 5-11 s, Antrea ~4-6 s`,
    },
    {
      name: `e2e: failed probe requests per kill (${box}, both pods)`,
      value: summarize(r.failedRequests).median,
      unit: 'requests',
      trials: s.n,
      note: `outage = kill to the first good request; parts (medians): detection ${med(r.detection)} ms (kill to "node failed"), cloud move ${med(r.cloudMove)} ms ("node failed" to the VPC delivering the IP elsewhere: controller, AssignPrivateIpAddresses, VPC sync), agents and probe ${med(r.dataplane)} ms (VPC change to the first good request); VPC router: DescribeNetworkInterfaces median ${vpc.describeMedianMs.toFixed(0)} ms, apply median ${vpc.applyMedianMs.toFixed(0)} ms (polled every 50 ms)`,
    },
  ];
}
