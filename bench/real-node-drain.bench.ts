/**
 * @module
 * A rolling replacement of both gateway nodes of the real-node box (test/cluster/, test/e2e/rolling.ts with
 * test/cluster/real-roll.ts): kubelet nodes, cloud-egress from `helm install`, two probe pods of a Deployment at
 * 20 req/s each, LocalStack as AWS. Each trial replaces gw-a1 and then gw-a2, first drained (`kubectl drain`,
 * the IP handed over make-before-break, power cut, `kubectl delete node`, the kubelet boots and registers a new
 * Node), then, as the comparison, without the drain (power cut and Node deleted at once: a failover per node).
 * The box's controller probes (500 ms, 4 misses) as in its suites. Needs root; prints a note and returns
 * nothing otherwise.
 *
 * Trials: `E2E_TRIALS` (default 5) rolls per mode.
 */
import {
  BOX_POLICY,
  type RealBox,
  realBoxRoll,
  realNodeUnavailable,
  startSettledRealBox,
} from '../test/cluster/index.ts';
import type { RollMode, RollResult } from '../test/e2e/index.ts';
import { loadNote, rollRows, rollsPerMode } from './roll-rows.ts';
import type { Bench } from './types.ts';

const EXPECTED = new Set<string>(BOX_POLICY.egressIPs);
const GATEWAY_NODES = ['gw-a1', 'gw-a2'];

const bench: Bench = async () => {
  const why = await realNodeUnavailable();
  if (why) {
    process.stderr.write(`real-node-drain: skipped (${why})\n`);
    return [];
  }
  const trials = Number(process.env['E2E_TRIALS'] ?? 5);
  let rolls: Record<RollMode, RollResult[]> = { drain: [], failover: [] };
  let box: RealBox | undefined;
  const loadBefore = loadNote();
  try {
    box = await startSettledRealBox();
    rolls = await rollsPerMode(
      realBoxRoll(box),
      box,
      { nodes: GATEWAY_NODES, expected: EXPECTED, gateway: BOX_POLICY.gateway, timeoutMs: 180_000 },
      trials,
    );
    const doubles = await box.doubleHeldIps();
    if (doubles.length > 0) throw new Error(`IPs on two ENIs: ${doubles.join(', ')}`);
  } finally {
    await box?.stop();
  }
  return rollRows(
    'real-node-drain',
    'the 2 gateway nodes (kubelets, kubectl drain)',
    rolls,
    `load average before ${loadBefore}, after ${loadNote()}`,
  );
};

export default bench;
