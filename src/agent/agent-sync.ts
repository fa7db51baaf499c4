/**
 * @module
 * One agent's sync loop over a {@link Dataplane}: decide (pure), plan against what the kernel holds, apply.
 * The kernel is read back on the first sync, after any failure, and on every periodic resync; in between,
 * the last applied state stands in for it, so adding one pod costs one small `nft` transaction.
 *
 * ```
 *             sync(inputs)
 *   known? ──no──► observe() ─┐
 *     │yes                    ▼
 *     └──────────► planChanges(known, desired) ─► apply ─ok─► known = desired
 *                                                   │fail
 *                                                   └──────► known = unknown (observe next time), rethrow
 *   resync() forgets `known`, so drift made by others is repaired.
 * ```
 */
import type { Logger } from '../log.ts';
import type { AgentInputs } from './agent-inputs.ts';
import type { Change, Dataplane, DataplaneState } from './dataplane.ts';
import { DesiredCache } from './desired-cache.ts';
import { type DesiredResult, desiredState } from './desired-state.ts';
import type { AgentMetrics } from './metrics.ts';
import { SETS } from './nft-model.ts';
import { planChanges, planCleanup } from './plan-changes.ts';
import type { DataplaneSettings } from './settings.ts';

/** Thrown when a sync fails; `cause` is the dataplane's error. */
export class SyncError extends Error {
  override readonly name = 'SyncError';
}

/** What one sync did. */
export interface SyncOutcome {
  readonly changes: readonly Change[];
  readonly result: DesiredResult;
}

/** Drives one dataplane towards the desired state. */
export class AgentSync {
  readonly #dataplane: Dataplane;
  readonly #settings: DataplaneSettings;
  readonly #metrics: AgentMetrics | undefined;
  readonly #logger: Logger | undefined;
  #known: DataplaneState | undefined;
  #lastOk = 0;
  readonly #cache = new DesiredCache();

  constructor(options: {
    dataplane: Dataplane;
    settings: DataplaneSettings;
    metrics?: AgentMetrics;
    logger?: Logger;
  }) {
    this.#dataplane = options.dataplane;
    this.#settings = options.settings;
    this.#metrics = options.metrics;
    this.#logger = options.logger;
  }

  /** Milliseconds since the epoch of the last successful sync (0 before the first). */
  get lastSuccess(): number {
    return this.#lastOk;
  }

  /** Makes the next sync read the kernel again. */
  resync(): void {
    this.#known = undefined;
    this.#cache.reset();
  }

  /** Computes and programs the desired state for `inputs`. */
  async sync(inputs: AgentInputs): Promise<SyncOutcome> {
    const start = performance.now();
    try {
      const result = desiredState(inputs, this.#settings, this.#cache);
      const base = this.#known ?? (await this.#dataplane.observe({ repairSettings: true }));
      const changes = planChanges(base, result.desired, result.delta);
      this.#known = undefined;
      await this.#dataplane.apply(changes);
      this.#known = result.desired;
      this.#lastOk = Date.now();
      this.#record(result, changes, (performance.now() - start) / 1000);
      if (changes.length > 0) {
        this.#logger?.info(
          { changes: changes.map((c) => c.kind), notes: result.notes },
          'dataplane programmed',
        );
      }
      return { changes, result };
    } catch (err) {
      this.#known = undefined;
      this.#cache.reset();
      this.#metrics?.syncErrors.inc();
      this.#metrics?.syncDuration.observe({ result: 'error' }, (performance.now() - start) / 1000);
      throw new SyncError(`dataplane sync failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Removes everything the agent owns (reads the kernel first; writes no kernel setting). */
  async cleanup(): Promise<readonly Change[]> {
    const changes = planCleanup(await this.#dataplane.observe());
    await this.#dataplane.apply(changes);
    this.#known = undefined;
    return changes;
  }

  #record(result: DesiredResult, changes: readonly Change[], seconds: number): void {
    const m = this.#metrics;
    if (!m) return;
    m.syncDuration.observe({ result: 'ok' }, seconds);
    for (const c of changes) m.changes.inc({ kind: c.kind });
    const d = result.desired;
    let pods = 0;
    let dst = 0;
    for (const [name, elements] of Object.entries(d.nft.sets)) {
      if (name.endsWith('_pods4')) pods += elements.size;
      else if (name.endsWith('_dst4') || name.endsWith('_exc4')) dst += elements.size;
    }
    m.nftElements.set({ set: 'pods' }, pods);
    m.nftElements.set({ set: 'destinations' }, dst);
    m.nftElements.set({ set: 'cluster' }, d.nft.sets[SETS.cluster]?.size ?? 0);
    m.rules.set(d.rules.length);
    m.egressIpsHeld.set(d.addresses.length);
    m.podsSteered.set([...result.podsByIp.values()].reduce((a, b) => a + b, 0));
    m.podsWithoutIp.set(result.podsWithoutIp);
    m.lastSuccess.set(this.#lastOk / 1000);
  }
}
