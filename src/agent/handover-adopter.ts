/**
 * @module
 * Runs the adoption of half-open connections (`handover-flows.ts`) while this node is a gateway of a planned
 * move: the agent does not see the cloud's move itself, so while the move is under way it adopts every
 * interval, and stops when the move is over.
 *
 * ```
 *            update(ips ≠ ∅)                      update(∅) or stop()
 *   idle ───────────────────► adopting ──────────────────────────────► idle
 *                              │  ▲   adopt(ips) now, then every intervalMs (one run at a time;
 *                              └──┘   a failure is logged and the next tick tries again)
 *                          update(ips') replaces the IPs
 * ```
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
}

/** See the module comment. */
export class HandoverAdopter {
  readonly #o: HandoverAdopterOptions;
  #ips: readonly string[] = [];
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(options: HandoverAdopterOptions) {
    this.#o = options;
  }

  /** The egress IPs of the moves under way in which this node is a gateway (none: stop adopting). */
  update(ips: readonly string[]): void {
    if (this.#stopped) return;
    const starting = this.#ips.length === 0 && ips.length > 0;
    this.#ips = [...ips];
    if (ips.length === 0) this.#clear();
    else if (starting) void this.#tick();
  }

  /** Stops adopting and waits for a run under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#ips = [];
    this.#clear();
    await this.#running;
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
