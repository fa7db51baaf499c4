/**
 * @module
 * Steps shared by the failover tests, the benchmark and the demo: wait until traffic flows from the egress
 * IP, kill nodes, and measure the outage the probes saw.
 *
 * ```
 * waitForSteadyTraffic ─► killAt = now ─► killNode(victims...) ─► wait until every probe has
 * `consecutive` good samples in a row sent after killAt ─► outage windows of samples sent after killAt - 1 s
 * ```
 */
import { EventuallyTimeoutError, eventually } from '../support/eventually.ts';
import type { NetworkBox } from './network-box.ts';
import { isGood, type OutageWindow, outageWindows, type ProbeSample } from './outage.ts';
import type { AppliedEvent } from './vpc-sync.ts';

/** What the scenarios need of a box: the process box (cloud-box.ts) and the real-node box (test/cluster/). */
export interface FailoverBox {
  readonly net: NetworkBox;
  /** A power cut of the node. */
  killNode(name: string): Promise<void>;
  /** When a controller replica first logged `node` as failed at or after `since` (epoch ms). */
  detectedAt(node: string, since: number): number | undefined;
  /** The node the VPC delivers `ip` to right now. */
  deliveredTo(ip: string): string | undefined;
}

/** Probe samples per pod, as they arrive. */
export interface ProbeSamples {
  readonly samples: ReadonlyMap<string, ProbeSample[]>;
}

/** True when the last `n` samples of every pod are good. */
export function steady(probes: ProbeSamples, expected: ReadonlySet<string>, n: number, after = 0): boolean {
  for (const samples of probes.samples.values()) {
    const recent = samples
      .filter((s) => s.sentAt >= after)
      .sort((a, b) => a.seq - b.seq)
      .slice(-n);
    if (recent.length < n || !recent.every((s) => isGood(s, expected))) return false;
  }
  return true;
}

/** Waits until every probe's last `consecutive` samples (sent after `after`) answered from an egress IP. */
export async function waitForSteadyTraffic(
  probes: ProbeSamples,
  expected: ReadonlySet<string>,
  options: { consecutive?: number; timeoutMs?: number; after?: number } = {},
): Promise<void> {
  const n = options.consecutive ?? 10;
  await eventually(
    `traffic to flow steadily from ${[...expected].join(', ')} (the last sample of each pod)`,
    async () => Object.fromEntries([...probes.samples].map(([pod, s]) => [pod, s.at(-1) ?? 'no samples'])),
    { until: () => steady(probes, expected, n, options.after ?? 0), timeoutMs: options.timeoutMs ?? 60_000 },
  );
}

/** The node the VPC delivers `ip` to, waiting until there is one. */
export async function waitForHolder(
  box: Pick<FailoverBox, 'deliveredTo'>,
  ip: string,
  timeoutMs = 60_000,
): Promise<string> {
  return eventually(`a node to hold ${ip}`, async () => box.deliveredTo(ip), { timeoutMs });
}

/** What one failover did. */
export interface FailoverResult {
  /** Epoch ms of the kill. */
  readonly killAt: number;
  /** Outage windows per pod (samples sent from 1 s before the kill on). */
  readonly windows: ReadonlyMap<string, OutageWindow[]>;
  /** The longest window over all pods (0 when none). */
  readonly worstMs: number;
  /** Where the IP is delivered afterwards. */
  readonly holderAfter: string | undefined;
  /** Epoch ms when a controller declared the first victim failed (from its log). */
  readonly detectedAt: number | undefined;
  /** Epoch ms when the VPC router started delivering the IP to another node (the cloud had moved it). */
  readonly movedAt: number | undefined;
}

/** Samples of a pod sent at or after `from`. */
export function samplesSince(samples: readonly ProbeSample[], from: number): ProbeSample[] {
  return samples.filter((s) => s.sentAt >= from);
}

/**
 * Kills `victims` at once and waits until every probe has `consecutive` good samples sent after the kill;
 * returns the windows. `pods` limits the measurement to surviving pods (default every probed pod). `ip` is the
 * private IP whose move the VPC shows (default the first of `expected`; another when the probes see a public one).
 */
export async function killAndMeasure(
  box: FailoverBox,
  probes: ProbeSamples,
  victims: readonly string[],
  expected: ReadonlySet<string>,
  options: { consecutive?: number; timeoutMs?: number; pods?: readonly string[]; ip?: string } = {},
): Promise<FailoverResult> {
  const ip = options.ip ?? [...expected][0]!;
  const before = box.net.vpc.delivery.get(ip);
  let movedAt: number | undefined;
  const onApplied = (event: AppliedEvent) => {
    const now = event.delivery.get(ip);
    if (movedAt === undefined && now !== undefined && now !== before) {
      movedAt = performance.timeOrigin + event.appliedAt;
    }
  };
  box.net.vpc.on('applied', onApplied);
  const killAt = Date.now();
  await Promise.all(victims.map((v) => box.killNode(v)));
  const watched = options.pods ?? [...probes.samples.keys()];
  const n = options.consecutive ?? 10;
  const recovered = async () =>
    watched.every((pod) => {
      const recent = samplesSince(probes.samples.get(pod) ?? [], killAt)
        .sort((a, b) => a.seq - b.seq)
        .slice(-n);
      return recent.length === n && recent.every((s) => isGood(s, expected));
    });
  // A probe that has not recovered by the timeout is measured as it is: its window stays open to the end.
  await eventually('every probe to recover', recovered, { timeoutMs: options.timeoutMs ?? 30_000 }).catch(
    (err: unknown) => {
      if (!(err instanceof EventuallyTimeoutError)) throw err;
    },
  );
  // Let requests in flight land, so that no late failure is missed.
  await new Promise((r) => setTimeout(r, 1100));
  const windows = new Map<string, OutageWindow[]>();
  let worstMs = 0;
  for (const pod of watched) {
    const list = outageWindows(samplesSince(probes.samples.get(pod) ?? [], killAt - 1000), expected);
    windows.set(pod, list);
    for (const w of list) worstMs = Math.max(worstMs, w.ms);
  }
  box.net.vpc.off('applied', onApplied);
  const detectedAt = victims
    .map((v) => box.detectedAt(v, killAt))
    .filter((t) => t !== undefined)
    .sort()[0];
  return { killAt, windows, worstMs, holderAfter: box.deliveredTo(ip), detectedAt, movedAt };
}
