/**
 * @module
 * Read-your-writes over informer caches. After the controller writes an object, its informer may still
 * hold the older version for a moment; a reconcile that read the older status would, for example, allocate
 * a policy's IPs afresh. This remembers each object as written and the resourceVersions it replaced, and
 * serves the written object while the cache still holds one of those.
 */

type Versioned = {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  kind?: string;
};

const keyOf = (obj: Versioned) => `${obj.kind}/${obj.metadata?.namespace ?? ''}/${obj.metadata?.name}`;

/** See the module comment. */
export class FreshObjects {
  readonly #written = new Map<string, { obj: Versioned; stale: Set<string> }>();

  /** Records that `before` was written and the API server returned `after`. */
  remember(before: Versioned, after: Versioned | undefined): void {
    const key = keyOf(before);
    if (!after) {
      this.#written.delete(key);
      return;
    }
    const entry = this.#written.get(key);
    const stale =
      entry && entry.obj.metadata?.resourceVersion === before.metadata?.resourceVersion
        ? entry.stale
        : new Set<string>();
    if (before.metadata?.resourceVersion) stale.add(before.metadata.resourceVersion);
    this.#written.set(key, { obj: after, stale });
  }

  /** The newest known version of `obj` (the written one while the cache lags). */
  resolve<T extends Versioned>(obj: T): T {
    const key = keyOf(obj);
    const entry = this.#written.get(key);
    if (!entry) return obj;
    if (obj.metadata?.resourceVersion && entry.stale.has(obj.metadata.resourceVersion)) return entry.obj as T;
    this.#written.delete(key);
    return obj;
  }

  /** Forgets an object (deleted). */
  forget(obj: Versioned): void {
    this.#written.delete(keyOf(obj));
  }
}
