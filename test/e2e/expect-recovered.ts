/**
 * @module
 * The failover suites' one verdict on a kill (test/e2e/failover.test.ts, test/cluster/failover.test.ts): every
 * probe recovered and no outage window was longer than the bound.
 */
import { expect } from 'vitest';
import type { FailoverResult } from './scenario.ts';

/** Generous bound for one hard failover in CI (the benchmarks measure the real figures). */
export const OUTAGE_BOUND_MS = 8000;

/** Every probe recovered after `r`, each outage within `boundMs`; logs the worst. */
export function expectRecovered(label: string, r: FailoverResult, boundMs = OUTAGE_BOUND_MS): void {
  for (const [pod, windows] of r.windows) {
    expect(
      windows.filter((w) => w.open),
      `${label}: ${pod} never recovered`,
    ).toEqual([]);
    for (const w of windows) expect(w.ms, `${label}: ${pod} outage`).toBeLessThan(boundMs);
  }
  console.log(`${label}: worst outage ${r.worstMs.toFixed(0)} ms, IP now on ${r.holderAfter}`);
}
