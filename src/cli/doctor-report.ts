/**
 * @module
 * Pure: what `cloud-egress doctor` prints for each gateway's preflight, and whether anything failed.
 *
 * ```
 * gateway prod (provider azure, 2 nodes)
 *   ok    aks-nodepool1-vmss000000  permission Microsoft.Network/routeTables/write: held on route table rt-aks
 *   FAIL  aks-nodepool1-vmss000001  IP forwarding: off for aks-nodepool1-nic: it cannot send from a routed egress IP
 *         fix: turn on enableIPForwarding in the scale set's network profile
 * ```
 */
import type { PreflightCheck } from '../provider/contract.ts';

/** One gateway's preflight, as the doctor found it. */
export type GatewayPreflight =
  | {
      readonly gateway: string;
      readonly provider: string;
      readonly nodes: number;
      /** The checks, or undefined when the provider has none. */
      readonly checks: readonly PreflightCheck[] | undefined;
    }
  /** The gateway could not be checked at all (no provider, the preflight threw). */
  | { readonly gateway: string; readonly problem: string; readonly fix?: string };

/** The lines of `checks`, node names aligned, each failure followed by its fix. */
function checkLines(checks: readonly PreflightCheck[]): string[] {
  const lines: string[] = [];
  const width = Math.max(0, ...checks.map((c) => (c.node ?? '').length));
  for (const c of checks) {
    lines.push(`  ${c.ok ? 'ok  ' : 'FAIL'}  ${(c.node ?? '').padEnd(width)}  ${c.check}: ${c.message}`);
    if (!c.ok && c.fix) lines.push(`        ${' '.repeat(width)}  fix: ${c.fix}`);
  }
  return lines;
}

/** The report's text and whether a check failed (the exit code); `cluster` checks come first. */
export function formatDoctorReport(
  results: readonly GatewayPreflight[],
  cluster: readonly PreflightCheck[] = [],
): { text: string; failed: boolean } {
  const lines: string[] = [];
  let failed = cluster.some((c) => !c.ok);
  if (cluster.length > 0) lines.push('cluster', ...checkLines(cluster));
  if (results.length === 0) lines.push('no EgressGateway found');
  for (const r of results) {
    if ('problem' in r) {
      failed = true;
      lines.push(`gateway ${r.gateway}`, `  FAIL  ${r.problem}`, ...(r.fix ? [`        fix: ${r.fix}`] : []));
      continue;
    }
    lines.push(`gateway ${r.gateway} (provider ${r.provider}, ${r.nodes} node${r.nodes === 1 ? '' : 's'})`);
    if (r.checks === undefined) {
      lines.push(`  -     provider ${r.provider} has no preflight checks`);
      continue;
    }
    if (r.checks.some((c) => !c.ok)) failed = true;
    lines.push(...checkLines(r.checks));
  }
  const failures = results.reduce(
    (n, r) => n + ('problem' in r ? 1 : (r.checks ?? []).filter((c) => !c.ok).length),
    cluster.filter((c) => !c.ok).length,
  );
  lines.push('', failed ? `${failures} check(s) failed` : 'every check passed');
  return { text: `${lines.join('\n')}\n`, failed };
}
