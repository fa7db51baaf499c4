/**
 * @module
 * A keyed mutex: work under the same key runs one at a time, in arrival order; different keys run in
 * parallel. Every cloud provider holds one per network interface (CNCC's per-NIC locks): an interface's
 * read-modify-write must not interleave with another (on GCP the second fails with 412, on Azure with
 * 409 AnotherOperationInProgress, on AWS two batches would race on the ENI's free slots).
 */

/** Serialises async work per key. */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<unknown>>();

  /** Runs `work` once every earlier `run` with the same key has settled. */
  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const before = this.#tails.get(key) ?? Promise.resolve();
    const result = before.then(work, work);
    const tail = result.catch(() => undefined);
    this.#tails.set(key, tail);
    try {
      return await result;
    } finally {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}
