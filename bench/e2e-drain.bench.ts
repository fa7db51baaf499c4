/**
 * @module
 * A rolling replacement of every gateway node in the cloud in a box (test/e2e/rolling.ts): LocalStack as AWS,
 * a real kube-apiserver, two controller replicas and six agents as processes, a 20 req/s probe in each of two
 * selected pods, one egress IP per zone. Each trial replaces the four gateway nodes one after the other,
 * first drained (cordon, IPs handed over make-before-break, power off, Node deleted, a new node joins), then,
 * as the comparison, without the drain (power off and delete: a failover per node, what a drain was before
 * planned moves). Needs root; prints a note and returns nothing otherwise.
 *
 * Trials: `E2E_TRIALS` (default 5) rolls per mode. The controllers probe the agents every 500 ms with 4
 * misses (as test/e2e/drain.test.ts): on a shared machine the box's fast probes (100 ms, 3 misses) fail agents
 * that are only slow, and a replaced node then never comes back ready. Detection barely matters here: the
 * failover mode deletes the Node with the power cut, and the controller moves its IPs on the deletion.
 */
import { loadavg } from 'node:os';
import {
  BOX_POLICY,
  type CloudBox,
  cliUnavailable,
  describeRoll,
  GATEWAY_NODES,
  netnsUnavailable,
  type ProbeRun,
  ROLL_IPS,
  type RollMode,
  type RollResult,
  rollGatewayNodes,
  startCloudBox,
  waitForHolder,
  waitForSteadyTraffic,
} from '../test/e2e/index.ts';
import type { Bench, BenchResult } from './types.ts';
import { median } from './types.ts';

const EXPECTED = new Set<string>(ROLL_IPS);
const ROBUST_PROBES = ['--probe-interval', '500ms', '--probe-misses', '4', '--probe-damping', '3s'];
const range = (xs: readonly number[]) =>
  `min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)}`;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

const bench: Bench = async () => {
  const why = (await netnsUnavailable()) ?? (await cliUnavailable());
  if (why) {
    process.stderr.write(`e2e-drain: skipped (${why})\n`);
    return [];
  }
  const trials = Number(process.env['E2E_TRIALS'] ?? 5);
  let box: CloudBox | undefined;
  let probes: ProbeRun | undefined;
  const rolls: Record<RollMode, RollResult[]> = { drain: [], failover: [] };
  const loadBefore = load();
  try {
    box = await startCloudBox({ provider: 'aws', controllerFlags: ROBUST_PROBES });
    await box.kube.setPolicyIPs(BOX_POLICY.namespace, BOX_POLICY.name, ROLL_IPS);
    for (const ip of ROLL_IPS) await waitForHolder(box, ip);
    probes = box.startProbes();
    await waitForSteadyTraffic(probes, EXPECTED, { consecutive: 20 });
    for (const mode of ['drain', 'failover'] as const) {
      for (let i = 0; i < trials; i++) {
        const r = await rollGatewayNodes(box, probes, {
          mode,
          nodes: GATEWAY_NODES,
          expected: EXPECTED,
          gateway: BOX_POLICY.gateway,
        });
        process.stderr.write(`  ${mode} roll ${i + 1}: ${describeRoll(r)}\n`);
        rolls[mode].push(r);
      }
    }
    const doubles = await box.doubleHeldIps();
    if (doubles.length > 0) throw new Error(`IPs on two ENIs: ${doubles.join(', ')}`);
  } finally {
    await probes?.stop();
    await box?.stop();
  }
  const loadNote = `load average before ${loadBefore}, after ${load()}`;
  const rows: BenchResult[] = [];
  for (const mode of ['drain', 'failover'] as const) {
    const rs = rolls[mode];
    const failed = rs.map((r) => r.failed);
    const slowest = rs.map((r) => r.slowestMs);
    const worst = rs.map((r) => r.worstMs);
    const movesOk = rs.every((r) => r.moves === r.expectedMoves);
    const label =
      mode === 'drain' ? 'drained first (planned moves)' : 'without the drain (a failover per node)';
    rows.push({
      name: `e2e-drain: failed probe requests per rolling replacement of the 4 gateway nodes, ${label}`,
      value: median(failed),
      unit: 'requests',
      trials: rs.length,
      ...(mode === 'drain' ? { target: '0', ok: failed.every((f) => f === 0) } : {}),
      note: `${range(failed)} of ${median(rs.map((r) => r.requests))} requests per roll (both pods); worst outage window median ${median(worst).toFixed(0)} ms (${range(worst)}); moves = IPs the replaced nodes held in every roll: ${movesOk ? 'yes' : 'NO'} (${rs.map((r) => `${r.moves}/${r.expectedMoves}`).join(', ')}); ${loadNote}`,
    });
    rows.push({
      name: `e2e-drain: slowest good request per roll, ${label}`,
      value: Math.round(median(slowest)),
      unit: 'ms',
      trials: rs.length,
      ...(mode === 'drain' ? { target: '< 1000 ms', ok: slowest.every((s) => s < 1000) } : {}),
      note: `${range(slowest)}; a request over 1 s counts as failed (the probe's timeout); per node that held an IP, median ${median(rs.flatMap((r) => r.turns.filter((t) => t.held.length > 0).map((t) => t.handOverMs))).toFixed(0)} ms ${mode === 'drain' ? 'from the cordon to the handover over (the node may go)' : 'from the power cut to the VPC delivering its IP elsewhere'}`,
    });
  }
  return rows;
};

export default bench;
