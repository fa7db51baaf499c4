/**
 * @module
 * The reconcilers' writes to the API server: status (only when it differs) and the finalizer. Each write is
 * remembered in {@link FreshObjects}, so the next reconcile reads it even while the informer cache lags.
 */
import pMap from 'p-map';
import { FINALIZER } from '../api/annotations.ts';
import type { EgressObject, KubeApi } from '../kube/kube-api.ts';
import { withFinalizer, withoutFinalizer } from '../kube/objects.ts';
import type { FreshObjects } from './fresh-objects.ts';

/**
 * Status writes in flight at once per reconcile: a failover that moves the IPs of many policies writes their
 * statuses side by side (one PATCH each), not one after the other.
 */
export const STATUS_WRITES_AT_ONCE = 8;

/** True when `status` differs from the object's stored status (so writing it changes something). */
export function statusChanged<T extends EgressObject>(obj: T, status: NonNullable<T['status']>): boolean {
  return JSON.stringify(obj.status) !== JSON.stringify(status);
}

/** Writes status and finalizers; see the module comment. */
export class ObjectWriter {
  readonly #api: Pick<KubeApi, 'patchStatus' | 'setFinalizers'>;
  readonly #fresh: FreshObjects;

  constructor(api: Pick<KubeApi, 'patchStatus' | 'setFinalizers'>, fresh: FreshObjects) {
    this.#api = api;
    this.#fresh = fresh;
  }

  /** Writes `status` when it differs; returns the stored object (`obj` itself when nothing was written). */
  async writeStatus<T extends EgressObject>(
    obj: T,
    status: NonNullable<T['status']>,
  ): Promise<T | undefined> {
    if (!statusChanged(obj, status)) return obj;
    const after = await this.#api.patchStatus(obj, status);
    this.#fresh.remember(obj, after);
    return after;
  }

  /**
   * Runs `write` for each item, {@link STATUS_WRITES_AT_ONCE} at a time (the status writes of many policies
   * go side by side); resolves with the results in the order of `items`.
   */
  sideBySide<T, R>(items: readonly T[], write: (item: T, index: number) => Promise<R>): Promise<R[]> {
    return pMap(items, write, { concurrency: STATUS_WRITES_AT_ONCE });
  }

  /** Adds the project's finalizer if missing; returns the stored object. */
  async addFinalizer<T extends EgressObject>(obj: T): Promise<T> {
    const { finalizers, changed } = withFinalizer(obj, FINALIZER);
    if (!changed) return obj;
    const after = await this.#api.setFinalizers(obj, finalizers);
    this.#fresh.remember(obj, after);
    return after ?? obj;
  }

  /** Removes the project's finalizer if present (the API server may then delete the object). */
  async removeFinalizer<T extends EgressObject>(obj: T): Promise<void> {
    const { finalizers, changed } = withoutFinalizer(obj, FINALIZER);
    if (!changed) return;
    const after = await this.#api.setFinalizers(obj, finalizers);
    this.#fresh.remember(obj, after);
  }
}
