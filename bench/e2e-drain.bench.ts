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
import {
  BOX_POLICY,
  type CloudBox,
  cliUnavailable,
  GATEWAY_NODES,
  netnsUnavailable,
  type ProbeRun,
  processBoxRoll,
  ROLL_IPS,
  type RollMode,
  type RollResult,
  startCloudBox,
  waitForHolder,
  waitForSteadyTraffic,
} from '../test/e2e/index.ts';
import { loadNote, rollRows, rollsPerMode } from './roll-rows.ts';
import type { Bench } from './types.ts';

const EXPECTED = new Set<string>(ROLL_IPS);
const ROBUST_PROBES = ['--probe-interval', '500ms', '--probe-misses', '4', '--probe-damping', '3s'];

const bench: Bench = async () => {
  const why = (await netnsUnavailable()) ?? (await cliUnavailable());
  if (why) {
    process.stderr.write(`e2e-drain: skipped (${why})\n`);
    return [];
  }
  const trials = Number(process.env['E2E_TRIALS'] ?? 5);
  let box: CloudBox | undefined;
  let probes: ProbeRun | undefined;
  let rolls: Record<RollMode, RollResult[]> = { drain: [], failover: [] };
  const loadBefore = loadNote();
  try {
    box = await startCloudBox({ provider: 'aws', controllerFlags: ROBUST_PROBES });
    await box.kube.setPolicyIPs(BOX_POLICY.namespace, BOX_POLICY.name, ROLL_IPS);
    for (const ip of ROLL_IPS) await waitForHolder(box, ip);
    probes = box.startProbes();
    await waitForSteadyTraffic(probes, EXPECTED, { consecutive: 20 });
    rolls = await rollsPerMode(
      processBoxRoll(box),
      probes,
      { nodes: GATEWAY_NODES, expected: EXPECTED, gateway: BOX_POLICY.gateway },
      trials,
    );
    const doubles = await box.doubleHeldIps();
    if (doubles.length > 0) throw new Error(`IPs on two ENIs: ${doubles.join(', ')}`);
  } finally {
    await probes?.stop();
    await box?.stop();
  }
  return rollRows(
    'e2e-drain',
    'the 4 gateway nodes',
    rolls,
    `load average before ${loadBefore}, after ${loadNote()}`,
  );
};

export default bench;
