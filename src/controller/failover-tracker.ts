/**
 * @module
 * Failover timing: from a gateway node detected failed to every one of its IPs Ready on another node (the
 * `cloud_egress_failover_duration_seconds` metric and the `onFailover` hook). Fed by the health prober's
 * verdicts and by each gateway pass's outcome once its policies' statuses are stored; it decides nothing
 * about placement.
 *
 * ```
 * node failed        ─► remember when, and its IPs: as the last reconciles left them, and as the policies'
 *                       statuses say (a reconcile may still be finishing when the failure is detected)
 * node recovered     ─► forget it (no failover to time)
 * statuses stored    ─► (a gateway pass stored its policies' final statuses; its own status comes after)
 *                       remember where its IPs are and whether Ready; every failing node whose IPs are all
 *                       Ready elsewhere is done: reported with the time since its failure (a node that held
 *                       no IP is dropped unreported)
 * ```
 */
import type { AnyEgressPolicy } from '../api/egress-policy.ts';

/** A failover that completed. */
export interface CompletedFailover {
  readonly node: string;
  /** How many IPs moved. */
  readonly ips: number;
  /** Since the node was detected failed, in ms. */
  readonly ms: number;
}

interface Failing {
  readonly at: number;
  readonly ips: readonly string[];
}

interface Location {
  readonly node: string;
  readonly ready: boolean;
}

/** See the module comment. */
export class FailoverTracker {
  /** Per gateway: where its IPs are, and whether Ready, after its last reconcile. */
  readonly #ipLocation = new Map<string, Map<string, Location>>();
  readonly #failing = new Map<string, Failing>();
  readonly #now: () => number;

  /** `now`: a monotonic clock in ms (default `performance.now`). */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** `node` was detected failed; `policies` are every policy (their statuses may name its IPs). */
  nodeFailed(node: string, policies: readonly AnyEgressPolicy[]): void {
    const ips = new Set(
      [...this.#ipLocation.values()].flatMap((m) =>
        [...m].filter(([, loc]) => loc.node === node).map(([ip]) => ip),
      ),
    );
    for (const p of policies) {
      for (const a of p.status?.assignments ?? []) {
        if (a.ip && a.node === node) ips.add(a.ip);
      }
    }
    this.#failing.set(node, { at: this.#now(), ips: [...ips] });
  }

  /** `node` may hold IPs again. */
  nodeRecovered(node: string): void {
    this.#failing.delete(node);
  }

  /**
   * Gateway `gateway` was reconciled: the cloud holds its IPs as `held` (IP -> node), `ready` of them Ready.
   * Returns the failovers this completes.
   */
  reconciled(
    gateway: string,
    held: ReadonlyMap<string, string>,
    ready: ReadonlySet<string>,
  ): CompletedFailover[] {
    this.#ipLocation.set(
      gateway,
      new Map([...held].map(([ip, node]) => [ip, { node, ready: ready.has(ip) }])),
    );
    const completed: CompletedFailover[] = [];
    for (const [node, failing] of this.#failing) {
      const done = failing.ips.every((ip) => {
        const loc = this.#locate(ip);
        return loc !== undefined && loc.node !== node && loc.ready;
      });
      if (!done) continue;
      this.#failing.delete(node);
      if (failing.ips.length === 0) continue;
      completed.push({ node, ips: failing.ips.length, ms: this.#now() - failing.at });
    }
    return completed;
  }

  #locate(ip: string): Location | undefined {
    for (const m of this.#ipLocation.values()) if (m.has(ip)) return m.get(ip);
    return undefined;
  }
}
