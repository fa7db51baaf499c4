/**
 * @module
 * The shape every benchmark module returns. `bench/run.ts` loads each `bench/*.bench.ts`, runs its default
 * export and prints one table.
 */

/** One measured row. */
export interface BenchResult {
  /** What was measured, e.g. "scheduler: full plan 5,000 nodes / 20,000 IPs / 10,000 policies". */
  readonly name: string;
  /** The median (or the count, for call counts). */
  readonly value: number;
  /** Unit of `value`: "ms", "calls", "%", ... */
  readonly unit: string;
  /** Number of trials the median is over. */
  readonly trials?: number;
  /** The target, as text, e.g. "<= 100 ms". */
  readonly target?: string;
  /** Whether the target holds. */
  readonly ok?: boolean;
  /** Anything else worth a column: min/max, ratio, anchor. */
  readonly note?: string;
}

/** A benchmark module's default export. It may return [] with a note printed when it cannot run here. */
export type Bench = () => Promise<BenchResult[]>;

/** Median of a list of numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs `fn` `trials` times (after `warmup` untimed runs) and returns the durations in ms. */
export async function timeTrials(
  trials: number,
  fn: () => unknown | Promise<unknown>,
  warmup = 1,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < trials; i++) {
    const start = performance.now();
    await fn();
    out.push(performance.now() - start);
  }
  return out;
}
