/**
 * @module
 * When a gateway is read again to verify what was written (verify-writes.ts): after every pass that wrote to
 * the cloud, at growing intervals, so that a lost write, a late one or a stale read is found within a fraction
 * of a second and again over the next seconds, not at the next resync. Pure steps, one state per gateway:
 *
 * ```
 *   pass wrote planned changes ───────────────────────────────► step 0: verify after firstMs
 *   pass found disagreements (repaired them) ─► step + 1 (capped at the last): verify after firstMs · 2^step
 *   pass agreed, nothing written ─► step + 1; past maxMs ─► done (nothing scheduled; the resync remains)
 *   pass agreed, not verifying ─► nothing
 * ```
 *
 * With the defaults (250 ms, up to 4 s) a write is verified 5 times over 7.75 s; a repair that keeps failing
 * (the cloud keeps lying) is retried every 4 s until a read agrees. A deleted gateway keeps its finalizer until
 * its verification is done (gateway-reconciler.ts), so a late write found in that time is released too.
 */

/** The intervals of verification. */
export interface VerificationTimings {
  /** The first read after a write, in ms. */
  readonly firstMs: number;
  /** The longest interval; the last verification is this long after the one before. */
  readonly maxMs: number;
}

/** 250 ms, doubling up to 4 s. */
export const DEFAULT_VERIFICATION: VerificationTimings = { firstMs: 250, maxMs: 4000 };

/** What a pass did, as the schedule sees it. */
export interface PassResult {
  /** It wrote changes the plan wanted (not only repairs). */
  readonly wrote: boolean;
  /** Its read disagreed with what was written (it repaired). */
  readonly disagreed: boolean;
}

/** A verification to come: the step and the delay. */
export interface NextVerification {
  readonly step: number;
  readonly delayMs: number;
}

const delayOf = (step: number, t: VerificationTimings) => t.firstMs * 2 ** step;

/** The verification after a pass, from the one that was scheduled (`previous`); see the module diagram. */
export function nextVerification(
  previous: number | undefined,
  pass: PassResult,
  timings: VerificationTimings = DEFAULT_VERIFICATION,
): NextVerification | undefined {
  if (pass.wrote) return { step: 0, delayMs: timings.firstMs };
  if (pass.disagreed) {
    let step = previous === undefined ? 0 : previous + 1;
    while (step > 0 && delayOf(step, timings) > timings.maxMs) step--;
    return { step, delayMs: delayOf(step, timings) };
  }
  if (previous === undefined) return undefined;
  const step = previous + 1;
  return delayOf(step, timings) > timings.maxMs ? undefined : { step, delayMs: delayOf(step, timings) };
}

/** The schedule of every gateway (the reconciler's memory between passes). */
export class VerificationSchedule {
  readonly #steps = new Map<string, number>();
  readonly #timings: VerificationTimings;

  constructor(timings: VerificationTimings = DEFAULT_VERIFICATION) {
    this.#timings = timings;
  }

  /** Records the pass over `gateway` and returns when to verify it next (undefined: no verification due). */
  after(gateway: string, pass: PassResult): number | undefined {
    const next = nextVerification(this.#steps.get(gateway), pass, this.#timings);
    if (next) this.#steps.set(gateway, next.step);
    else this.#steps.delete(gateway);
    return next?.delayMs;
  }

  /** Forgets a gateway that is gone. */
  forget(gateway: string): void {
    this.#steps.delete(gateway);
  }
}
