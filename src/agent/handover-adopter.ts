/**
 * @module
 * Runs the adoption of half-open connections (`handover-flows.ts`) while this node is a gateway of a planned
 * move: the agent does not see the cloud's move itself, so while the move is under way it adopts every
 * interval, and stops when the move is over.
 *
 * ```
 *            update(ips ≠ ∅)                      update(∅) or stop()
 *   idle ───────────────────► adopting ──────────────────────────────► idle
 *        tracking(true)        │  ▲   adopt(ips) now, then every intervalMs     tracking(false)
 *                              └──┘   (one run at a time; a failure is logged and the next tick tries again)
 *                          update(ips') replaces the IPs
 * ```
 *
 * `tracking` (the dataplane's liberal TCP window tracking, `handoverTracking`) is called in order, one call at a
 * time; `stop()` waits for the last.
 */
import type { Logger } from '../log.ts';

/** Options of a {@link HandoverAdopter}. */
export interface HandoverAdopterOptions {
  /** Adopts the half-open connections SNATed to `ips`; resolves with how many it adopted. */
  readonly adopt: (ips: readonly string[]) => Promise<number>;
  /** Time between two adoptions while a move is under way. */
  readonly intervalMs: number;
  readonly logger?: Logger;
  /** Called with the count of each adoption that adopted some. */
  readonly onAdopted?: (count: number) => void;
  /** Turns the node's handover tracking on when adopting starts and off when it ends. */
  readonly tracking?: (on: boolean) => Promise<void>;
}

/** See the module comment. */
export class HandoverAdopter {
  readonly #o: HandoverAdopterOptions;
  #ips: readonly string[] = [];
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #tracking: Promise<void> = Promise.resolve();

  constructor(options: HandoverAdopterOptions) {
    this.#o = options;
  }

  /** The egress IPs of the moves under way in which this node is a gateway (none: stop adopting). */
  update(ips: readonly string[]): void {
    if (this.#stopped) return;
    const starting = this.#ips.length === 0 && ips.length > 0;
    const ending = this.#ips.length > 0 && ips.length === 0;
    this.#ips = [...ips];
    if (starting) this.#track(true);
    if (ending) this.#track(false);
    if (ips.length === 0) this.#clear();
    else if (starting) void this.#tick();
  }

  /** Stops adopting and waits for a run under way. */
  async stop(): Promise<void> {
    const wasAdopting = this.#ips.length > 0;
    this.#stopped = true;
    this.#ips = [];
    this.#clear();
    await this.#running;
    if (wasAdopting) this.#track(false);
    await this.#tracking;
  }

  #track(on: boolean): void {
    const tracking = this.#o.tracking;
    if (!tracking) return;
    this.#tracking = this.#tracking
      .then(() => tracking(on))
      .catch((err: unknown) => {
        this.#o.logger?.warn({ err, on }, 'could not switch the handover tracking of TCP windows');
      });
  }

  #clear(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #tick(): Promise<void> {
    this.#timer = undefined;
    if (this.#running || this.#ips.length === 0) return;
    const ips = this.#ips;
    this.#running = this.#o
      .adopt(ips)
      .then(
        (count) => {
          if (count > 0) {
            this.#o.logger?.info(
              { egressIps: ips, count },
              'adopted half-open connections of a planned move',
            );
            this.#o.onAdopted?.(count);
          }
        },
        (err: unknown) => {
          this.#o.logger?.warn({ err, egressIps: ips }, 'could not adopt the connections of a planned move');
        },
      )
      .finally(() => {
        this.#running = undefined;
        if (this.#ips.length > 0 && !this.#stopped) {
          this.#timer = setTimeout(() => void this.#tick(), this.#o.intervalMs);
          this.#timer.unref();
        }
      });
    await this.#running;
  }
}
