/**
 * @module
 * Egress outage on a hard gateway kill, end to end in the cloud in a box (test/e2e/): LocalStack as AWS, a
 * real kube-apiserver, two `cloud-egress controller` replicas and six agents as processes in network
 * namespaces, and a 20 req/s probe in each of two selected pods. Each trial cuts the power of the node that
 * holds the egress IP (NIC down, every process on it killed) and measures the longest run of failed
 * requests any pod saw until traffic flowed again from the same egress IP; then the node comes back and
 * the next trial kills the new holder. Needs root; prints a note and returns nothing otherwise.
 *
 * Trials: `E2E_TRIALS` (default 10). `E2E_PROBE_INTERVAL` (e.g. `100ms`) overrides the controllers' agent
 * probe interval (default the box's 100 ms, with 3 misses: a 300 ms detection time).
 */
import {
  BOX_POLICY,
  type CloudBox,
  cliUnavailable,
  killAndMeasure,
  netnsUnavailable,
  type ProbeRun,
  startCloudBox,
  summarize,
  waitForHolder,
  waitForSteadyTraffic,
} from '../test/e2e/index.ts';
import type { Bench, BenchResult } from './types.ts';

const EXPECTED = new Set<string>(BOX_POLICY.egressIPs);
const IP = BOX_POLICY.egressIPs[0];

const bench: Bench = async () => {
  const why = (await netnsUnavailable()) ?? (await cliUnavailable());
  if (why) {
    process.stderr.write(`e2e-failover: skipped (${why})\n`);
    return [];
  }
  const trials = Number(process.env['E2E_TRIALS'] ?? 10);
  let box: CloudBox | undefined;
  let probes: ProbeRun | undefined;
  const outages: number[] = [];
  const failedRequests: number[] = [];
  const detection: number[] = [];
  const cloudMove: number[] = [];
  const dataplane: number[] = [];
  try {
    const interval = process.env['E2E_PROBE_INTERVAL'];
    box = await startCloudBox({
      provider: 'aws',
      ...(interval ? { controllerFlags: ['--probe-interval', interval] } : {}),
    });
    await waitForHolder(box, IP);
    probes = box.startProbes();
    await waitForSteadyTraffic(probes, EXPECTED);
    for (let i = 0; i < trials; i++) {
      const holder = box.deliveredTo(IP)!;
      const result = await killAndMeasure(box, probes, [holder], EXPECTED, { timeoutMs: 30_000 });
      const windows = [...result.windows.values()].flat();
      if (windows.some((w) => w.open)) throw new Error(`trial ${i + 1}: traffic did not come back`);
      outages.push(result.worstMs);
      if (result.detectedAt !== undefined) detection.push(result.detectedAt - result.killAt);
      if (result.detectedAt !== undefined && result.movedAt !== undefined) {
        cloudMove.push(result.movedAt - result.detectedAt);
      }
      if (result.movedAt !== undefined && windows.length > 0) {
        dataplane.push(Math.max(...windows.map((w) => w.to)) - result.movedAt);
      }
      failedRequests.push(windows.reduce((n, w) => n + w.samples, 0));
      process.stderr.write(
        `  trial ${i + 1}: ${holder} -> ${result.holderAfter}: outage ${result.worstMs.toFixed(0)} ms\n`,
      );
      const backAt = Date.now();
      await box.recoverNode(holder);
      // The recovered node must answer probes through the damping period before it may hold the IP again.
      await waitForSteadyTraffic(probes, EXPECTED, { after: backAt, consecutive: 20 });
      await new Promise((r) => setTimeout(r, 4000));
    }
    const doubles = await box.doubleHeldIps();
    if (doubles.length > 0) throw new Error(`IPs on two ENIs: ${doubles.join(', ')}`);
  } finally {
    await probes?.stop();
    await box?.stop();
  }
  const s = summarize(outages);
  const vpc = box.net.vpc.stats;
  const rows: BenchResult[] = [
    {
      name: 'e2e: egress outage on a hard gateway kill (box, 20 req/s probe, worst pod per trial)',
      value: Math.round(s.median),
      unit: 'ms',
      trials: s.n,
      target: '<= 600 ms median',
      ok: s.median <= 600,
      note: `max ${s.max.toFixed(0)} ms (target <= 1000: ${s.max <= 1000 ? 'yes' : 'NO'}); Cilium Enterprise ~3 s (1 s health check), OVN-Kubernetes 5-11 s, Antrea ~4-6 s`,
    },
    {
      name: 'e2e: failed probe requests per kill (both pods)',
      value: summarize(failedRequests).median,
      unit: 'requests',
      trials: s.n,
      note: `outage = kill to the first good request; parts (medians): detection ${summarize(detection).median.toFixed(0)} ms (kill to "node failed"), cloud move ${summarize(cloudMove).median.toFixed(0)} ms ("node failed" to the VPC delivering the IP elsewhere: controller, AssignPrivateIpAddresses, VPC sync), agents and probe ${summarize(dataplane).median.toFixed(0)} ms (VPC change to the first good request); VPC router: DescribeNetworkInterfaces median ${vpc.describeMedianMs.toFixed(0)} ms, apply median ${vpc.applyMedianMs.toFixed(0)} ms (polled every 50 ms)`,
    },
  ];
  return rows;
};

export default bench;
