/**
 * @module
 * The table rows of a rolling-replacement benchmark (test/e2e/rolling.ts), shared by the process box's
 * `e2e-drain` and the real-node box's `real-node-drain`: per mode, failed requests per roll (target 0 when
 * drained first) and the slowest good request (target under 1 s, the probe's timeout).
 */
import { loadavg } from 'node:os';
import {
  describeRoll,
  type ProbeSamples,
  type RollMode,
  type RollOptions,
  type RollResult,
  type RollTarget,
  rollGatewayNodes,
} from '../test/e2e/index.ts';
import type { BenchResult } from './types.ts';
import { median } from './types.ts';

/** The load average, for notes. */
export const loadNote = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

/** `trials` rolls drained first, then `trials` without the drain, each logged to stderr as it ends. */
export async function rollsPerMode(
  target: RollTarget,
  probes: ProbeSamples,
  options: Omit<RollOptions, 'mode'>,
  trials: number,
): Promise<Record<RollMode, RollResult[]>> {
  const rolls: Record<RollMode, RollResult[]> = { drain: [], failover: [] };
  for (const mode of ['drain', 'failover'] as const) {
    for (let i = 0; i < trials; i++) {
      const r = await rollGatewayNodes(target, probes, { ...options, mode });
      process.stderr.write(`  ${mode} roll ${i + 1}: ${describeRoll(r)} (load ${loadNote()})\n`);
      rolls[mode].push(r);
    }
  }
  return rolls;
}

const range = (xs: readonly number[]) =>
  `min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)}`;

/**
 * Rows for `rolls` of `bench` (the row names' prefix) over `what` (e.g. "the 4 gateway nodes"); `note` ends
 * every failed-requests row (the load).
 */
export function rollRows(
  bench: string,
  what: string,
  rolls: Readonly<Record<RollMode, readonly RollResult[]>>,
  note: string,
): BenchResult[] {
  const rows: BenchResult[] = [];
  for (const mode of ['drain', 'failover'] as const) {
    const rs = rolls[mode];
    if (rs.length === 0) continue;
    const failed = rs.map((r) => r.failed);
    const slowest = rs.map((r) => r.slowestMs);
    const worst = rs.map((r) => r.worstMs);
    const movesOk = rs.every((r) => r.moves === r.expectedMoves);
    const label =
      mode === 'drain' ? 'drained first (planned moves)' : 'without the drain (a failover per node)';
    rows.push({
      name: `${bench}: failed probe requests per rolling replacement of ${what}, ${label}`,
      value: median(failed),
      unit: 'requests',
      trials: rs.length,
      ...(mode === 'drain' ? { target: '0', ok: failed.every((f) => f === 0) } : {}),
      note: `${range(failed)} of ${median(rs.map((r) => r.requests))} requests per roll (both pods); worst outage window median ${median(worst).toFixed(0)} ms (${range(worst)}); moves = IPs the replaced nodes held in every roll: ${movesOk ? 'yes' : 'NO'} (${rs.map((r) => `${r.moves}/${r.expectedMoves}`).join(', ')}); ${note}`,
    });
    rows.push({
      name: `${bench}: slowest good request per roll, ${label}`,
      value: Math.round(median(slowest)),
      unit: 'ms',
      trials: rs.length,
      ...(mode === 'drain' ? { target: '< 1000 ms', ok: slowest.every((s) => s < 1000) } : {}),
      note: `${range(slowest)}; a request over 1 s counts as failed (the probe's timeout); per node that held an IP, median ${median(rs.flatMap((r) => r.turns.filter((t) => t.held.length > 0).map((t) => t.handOverMs))).toFixed(0)} ms ${mode === 'drain' ? 'from the drain to the handover over (the node may go)' : 'from the power cut to the VPC delivering its IP elsewhere'}`,
    });
  }
  return rows;
}
