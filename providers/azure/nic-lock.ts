/**
 * @module
 * A keyed lock: work for one key runs one at a time, in arrival order; different keys run in parallel.
 * The Azure provider keys it by NIC resource ID, so no two read-modify-writes of a NIC overlap (ARM answers
 * a second write with 409 AnotherOperationInProgress; CNCC added the same lock for that reason).
 */

/** Serialises async work per key. */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<unknown>>();

  /** Runs `work` after every earlier `run` with the same key has settled. */
  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const current = previous.then(work, work);
    const tail = current.catch(() => undefined);
    this.#tails.set(key, tail);
    try {
      return await current;
    } finally {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}
