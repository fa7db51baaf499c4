/**
 * @module
 * The reconcilers' writes to the API server: status (only when it differs) and the finalizer. Each write is
 * remembered in {@link FreshObjects}, so the next reconcile reads it even while the informer cache lags.
 */
import { isDeepStrictEqual } from 'node:util';
import pMap from 'p-map';
import { FINALIZER } from '../api/annotations.ts';
import type { EgressObject, KubeApi } from '../kube/kube-api.ts';
import { withFinalizer, withoutFinalizer } from '../kube/objects.ts';
import type { FreshObjects } from './fresh-objects.ts';

/**
 * Status writes in flight at once per reconcile: a failover that moves the IPs of many policies writes their
 * statuses side by side (one PATCH each), not one after the other. 64: a node of a big gateway holds IPs of
 * dozens of policies (the scale benchmark's: 50 at 1x, 200 at 4x); 8 at a time made their writes take six
 * rounds, 32 two rounds per phase at 1x.
 */
export const STATUS_WRITES_AT_ONCE = 64;

/** `value` as JSON would carry it: undefined fields dropped, Dates as strings. */
const asJson = (value: unknown): unknown =>
  value === undefined ? undefined : JSON.parse(JSON.stringify(value));

/**
 * True when `status` differs from the object's stored status (so writing it changes something). Compared as
 * JSON values, whatever the order of their keys: the API server hands objects back with their keys sorted,
 * the decide-* modules build them in their own order, and a write that changes nothing is still a request
 * (every resync would write every status again).
 */
export function statusChanged<T extends EgressObject>(obj: T, status: NonNullable<T['status']>): boolean {
  return !isDeepStrictEqual(asJson(obj.status), asJson(status));
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

  /**
   * {@link addFinalizer} on each of `objs`, side by side ({@link STATUS_WRITES_AT_ONCE} at a time); the stored
   * objects in the order of `objs`. A gateway admits all its policies on its first pass: one after the other,
   * 25 of them took 25 round trips.
   */
  addFinalizers<T extends EgressObject>(objs: readonly T[]): Promise<T[]> {
    return this.sideBySide(objs, (obj) => this.addFinalizer(obj));
  }

  /** Removes the project's finalizer if present (the API server may then delete the object). */
  async removeFinalizer<T extends EgressObject>(obj: T): Promise<void> {
    const { finalizers, changed } = withoutFinalizer(obj, FINALIZER);
    if (!changed) return;
    const after = await this.#api.setFinalizers(obj, finalizers);
    this.#fresh.remember(obj, after);
  }
}
