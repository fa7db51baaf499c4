/**
 * @module
 * Outage windows from a probe's samples, pure. A sample is good when it got an answer whose source IP is
 * one of the expected egress IPs; a window is a run of consecutive bad samples (by send order), and its
 * length is the time from the first bad request's send to the next good one's (bad samples × the interval,
 * when the probe keeps its rate). A window still open at the end lasts until the last sample.
 *
 * ```
 * good good BAD BAD BAD good ...      window = sentAt(good after) - sentAt(first BAD)
 * ```
 */

/** One probe request. */
export interface ProbeSample {
  readonly seq: number;
  /** Epoch ms when the request was sent. */
  readonly sentAt: number;
  /** Time to the answer or the failure. */
  readonly ms: number;
  /** The source IP the echo server saw (absent on failure). */
  readonly source?: string;
  readonly error?: string;
}

/** A run of bad samples. */
export interface OutageWindow {
  /** Send time of the first bad sample. */
  readonly from: number;
  /** Send time of the first good sample after it (or of the last sample when none came). */
  readonly to: number;
  readonly ms: number;
  /** Bad samples in the window. */
  readonly samples: number;
  /** True when no good sample followed. */
  readonly open: boolean;
  /** What the bad samples were: error messages and unexpected source IPs, with counts. */
  readonly causes: Readonly<Record<string, number>>;
}

/** True when `sample` answered from one of `expected`. */
export function isGood(sample: ProbeSample, expected: ReadonlySet<string>): boolean {
  return sample.source !== undefined && expected.has(sample.source);
}

/** The outage windows of `samples` (any order; sorted by seq here). */
export function outageWindows(
  samples: readonly ProbeSample[],
  expected: ReadonlySet<string>,
): OutageWindow[] {
  const sorted = [...samples].sort((a, b) => a.seq - b.seq);
  const windows: OutageWindow[] = [];
  let start: ProbeSample | undefined;
  let count = 0;
  let causes: Record<string, number> = {};
  for (const s of sorted) {
    if (isGood(s, expected)) {
      if (start)
        windows.push({
          from: start.sentAt,
          to: s.sentAt,
          ms: s.sentAt - start.sentAt,
          samples: count,
          open: false,
          causes,
        });
      start = undefined;
      count = 0;
      causes = {};
      continue;
    }
    start ??= s;
    count++;
    const cause = s.source !== undefined ? `source ${s.source}` : (s.error ?? 'unknown');
    causes[cause] = (causes[cause] ?? 0) + 1;
  }
  if (start) {
    const last = sorted.at(-1)!;
    windows.push({
      from: start.sentAt,
      to: last.sentAt,
      ms: last.sentAt - start.sentAt,
      samples: count,
      open: true,
      causes,
    });
  }
  return windows;
}

/** Source IPs seen outside `expected`, with counts (node IPs, pod IPs, other egress IPs). */
export function unexpectedSources(
  samples: readonly ProbeSample[],
  expected: ReadonlySet<string>,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples) {
    if (s.source !== undefined && !expected.has(s.source)) out.set(s.source, (out.get(s.source) ?? 0) + 1);
  }
  return out;
}

/** Median and max of a list of numbers (0 for an empty list). */
export function summarize(values: readonly number[]): { median: number; max: number; n: number } {
  if (values.length === 0) return { median: 0, max: 0, n: 0 };
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, max: s.at(-1)!, n: s.length };
}
