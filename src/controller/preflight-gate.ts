/**
 * @module
 * The gateway's `Preflight` condition: the checks `cloud-egress doctor` makes, for the gateway's nodes: the
 * cluster's own (cluster-checks.ts: cluster CIDRs found), then the provider's preflight (contract.ts `preflight`)
 * given the cluster's facts (whether the Amazon VPC CNI runs, which the AWS checks of a managed ENI and of the
 * source/destination check depend on). They run at most once per interval, and again when the gateway's
 * generation or its set of nodes changes, never in a pass that changes IPs in the cloud (a failover does not wait
 * for permission listings). The checks cost the cloud reads (Azure: a permissions listing per NIC, subnet and
 * route table) and two API list calls (cluster-facts.ts), so they are not run on every reconcile; between runs the
 * condition keeps the last answer. A provider without checks gets no condition (and no list calls).
 *
 * ```
 * pass without cloud changes ─► due? (never run / interval passed / generation or nodes changed)
 *        │ no ─► last answer                 │ yes ─► the cluster's facts (cluster-facts.ts), then
 *        │                                   │        clusterChecks(facts) + provider.preflight(nodes, facts)
 *        │                                   │         ├─ checks ─► Preflight True PreflightPassed
 *        │                                   │         │            or False PreflightFailed (each failed check, fix)
 *        │                                   │         └─ throws ─► Preflight Unknown PreflightError
 * pass with cloud changes ─► last answer
 * ```
 */
import { CONDITION, REASON } from '../api/conditions.ts';
import type { CloudProvider, NodeRef, PreflightCheck } from '../provider/contract.ts';
import { type ClusterFacts, clusterChecks } from './cluster-checks.ts';
import { type ConditionInput, truncateMessage } from './conditions.ts';

/** How often a gateway's preflight runs at most, by default: 10 minutes. */
export const DEFAULT_PREFLIGHT_INTERVAL_MS = 10 * 60_000;

/**
 * The longest `Preflight` message: each failed check with its fix takes some 300 characters, so a few nodes' fit
 * (the schema allows 32768; `cloud-egress doctor` prints every check in full).
 */
export const PREFLIGHT_MESSAGE_MAX = 4096;

/** One failed check in one line: `node: check: message (fix: ...)`. */
export function describeCheck(check: PreflightCheck): string {
  const where = check.node ? `${check.node}: ` : '';
  return `${where}${check.check}: ${check.message}${check.fix ? ` (fix: ${check.fix})` : ''}`;
}

/** The `Preflight` condition for the checks (pure). */
export function preflightCondition(
  result: { readonly checks: readonly PreflightCheck[] } | { readonly error: string },
  gen: { observedGeneration?: number },
): ConditionInput {
  if ('error' in result) {
    return {
      type: CONDITION.Preflight,
      status: 'Unknown',
      reason: REASON.PreflightError,
      message: truncateMessage(`the preflight checks could not run: ${result.error}`),
      ...gen,
    };
  }
  const failed = result.checks.filter((c) => !c.ok);
  return failed.length === 0
    ? {
        type: CONDITION.Preflight,
        status: 'True',
        reason: REASON.PreflightPassed,
        message: `${result.checks.length} checks passed`,
        ...gen,
      }
    : {
        type: CONDITION.Preflight,
        status: 'False',
        reason: REASON.PreflightFailed,
        message: truncateMessage(
          `${failed.length} of ${result.checks.length} checks failed: ${failed.map(describeCheck).join('; ')}`,
          PREFLIGHT_MESSAGE_MAX,
        ),
        ...gen,
      };
}

interface Run {
  readonly at: number;
  readonly fingerprint: string;
  readonly condition: Omit<ConditionInput, 'observedGeneration'>;
}

/** Runs and remembers each gateway's preflight; see the module comment. */
export class PreflightGate {
  readonly #intervalMs: number;
  readonly #runs = new Map<string, Run>();
  readonly #now: () => number;

  constructor(intervalMs = DEFAULT_PREFLIGHT_INTERVAL_MS, now: () => number = Date.now) {
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  /**
   * The gateway's `Preflight` condition: run now when due and `mayRun`, else the last one (undefined when it
   * never ran, or the provider has no checks). `cluster` reads the cluster's facts; it is called only for a run.
   */
  async condition(
    gateway: string,
    generation: number | undefined,
    provider: CloudProvider,
    nodes: readonly NodeRef[],
    mayRun: boolean,
    cluster: () => Promise<ClusterFacts>,
  ): Promise<ConditionInput | undefined> {
    const gen = generation !== undefined ? { observedGeneration: generation } : {};
    if (!provider.preflight) return undefined;
    const fingerprint = `${provider.name}|${generation}|${nodes
      .map((n) => `${n.name}=${n.providerID}`)
      .sort()
      .join(',')}`;
    const last = this.#runs.get(gateway);
    const due = !last || last.fingerprint !== fingerprint || this.#now() - last.at >= this.#intervalMs;
    if (!due || !mayRun) return last ? { ...last.condition, ...gen } : undefined;
    let condition: ConditionInput;
    try {
      const facts = await cluster();
      const checks = [...clusterChecks(facts), ...(await provider.preflight(nodes, undefined, facts))];
      condition = preflightCondition({ checks }, gen);
    } catch (err) {
      condition = preflightCondition({ error: err instanceof Error ? err.message : String(err) }, gen);
    }
    const { observedGeneration: _, ...kept } = condition;
    this.#runs.set(gateway, { at: this.#now(), fingerprint, condition: kept });
    return condition;
  }

  /** Forgets a deleted gateway. */
  forget(gateway: string): void {
    this.#runs.delete(gateway);
  }
}
