/**
 * @module
 * A cloud that lies, the way clouds do under load or partition: the knobs and the memory of past answers that
 * the test clouds share (the in-memory cloud here; the AWS fault proxy and the GCP and Azure emulators in test/).
 *
 * | lie          | what the cloud does                                                                   |
 * |--------------|---------------------------------------------------------------------------------------|
 * | lost write   | answers success and changes nothing                                                   |
 * | late write   | answers success at once and applies the change `delayMs` later                        |
 * | stale read   | answers a read with what it answered for the same read at least `ageMs` ago (the      |
 * |              | oldest answer it kept, when none is that old; a fresh one, when it kept none)         |
 *
 * Each lie is told to the next `times` writes (or reads), in the order set; {@link Lies.clear} stops new lies
 * (late writes already answered still land). A stale read can only repeat what the cloud said before, so a
 * cloud records its read answers in an {@link AnswerHistory} while it may be asked to lie about them.
 */

/** What one write meets. */
export type WriteLie =
  | { readonly kind: 'honest' }
  | { readonly kind: 'lost' }
  | { readonly kind: 'late'; readonly delayMs: number };

/** The lies a cloud tells, counted down as writes and reads come. */
export class Lies {
  #lost = 0;
  #late: { times: number; delayMs: number }[] = [];
  #stale: { times: number; ageMs: number }[] = [];
  #recording = false;
  readonly #landing = new Set<Promise<void>>();
  /** Lies told so far, by kind. */
  readonly told = { lost: 0, late: 0, stale: 0 };

  /** The next `times` writes answer success and change nothing. */
  loseWrites(times: number): void {
    this.#lost += times;
  }

  /** The next `times` writes (after any lost ones) are applied `delayMs` after their answer. */
  delayWrites(times: number, delayMs: number): void {
    this.#late.push({ times, delayMs });
  }

  /** The next `times` reads answer what the same read was answered at least `ageMs` ago. */
  staleReads(times: number, ageMs: number): void {
    this.#recording = true;
    this.#stale.push({ times, ageMs });
  }

  /** Keeps read answers from now on, so that a later stale read has earlier answers to repeat. */
  record(): void {
    this.#recording = true;
  }

  /** Whether read answers should be recorded (a stale read may be asked for). */
  get recording(): boolean {
    return this.#recording;
  }

  /** Whether a lie is still to be told. */
  get armed(): boolean {
    return this.#lost > 0 || this.#late.length > 0 || this.#stale.length > 0;
  }

  /** Stops every lie not yet told. */
  clear(): void {
    this.#lost = 0;
    this.#late = [];
    this.#stale = [];
  }

  /** What the next write meets (counts it down). */
  nextWrite(): WriteLie {
    if (this.#lost > 0) {
      this.#lost--;
      this.told.lost++;
      return { kind: 'lost' };
    }
    const late = this.#late[0];
    if (!late) return { kind: 'honest' };
    if (--late.times <= 0) this.#late.shift();
    this.told.late++;
    return { kind: 'late', delayMs: late.delayMs };
  }

  /** Runs `apply` (a late write landing) after `delayMs`; {@link settled} waits for it. */
  land(delayMs: number, apply: () => void): void {
    const landing = new Promise<void>((resolve) => setTimeout(resolve, delayMs)).then(apply);
    this.#landing.add(landing);
    void landing.catch(() => {}).finally(() => this.#landing.delete(landing));
  }

  /** Resolves once every late write told so far has landed. */
  async settled(): Promise<void> {
    while (this.#landing.size > 0) await Promise.allSettled([...this.#landing]);
  }

  /** How old the next read's answer is to be, in ms; 0 for a fresh one (counts it down). */
  nextReadAge(): number {
    const stale = this.#stale[0];
    if (!stale) return 0;
    if (--stale.times <= 0) this.#stale.shift();
    this.told.stale++;
    return stale.ageMs;
  }
}

/**
 * Read answers by request, each with when it was given (`performance.now()`), kept for `keepMs`; an answer equal
 * to the last one of its request is not kept again (the earlier time stands for both).
 */
export class AnswerHistory<V> {
  readonly #answers = new Map<string, { at: number; value: V }[]>();
  readonly #keepMs: number;
  readonly #equal: (a: V, b: V) => boolean;

  constructor(options: { keepMs?: number; equal?: (a: V, b: V) => boolean } = {}) {
    this.#keepMs = options.keepMs ?? 60_000;
    this.#equal = options.equal ?? Object.is;
  }

  /** Keeps `value` as the answer to `key` given at `at`. */
  record(key: string, value: V, at = performance.now()): void {
    const list = this.#answers.get(key) ?? [];
    const last = list.at(-1);
    if (last && this.#equal(last.value, value)) return;
    list.push({ at, value });
    // Keep the newest answer older than the window too: it is what a read that far back was told.
    const cutoff = at - this.#keepMs;
    while (list.length > 1 && list[1]!.at <= cutoff) list.shift();
    this.#answers.set(key, list);
  }

  /**
   * The newest answer to `key` given at least `ageMs` before `now`; the oldest kept when none is that old;
   * undefined when none was kept.
   */
  stale(key: string, ageMs: number, now = performance.now()): V | undefined {
    const list = this.#answers.get(key);
    if (!list || list.length === 0) return undefined;
    const before = now - ageMs;
    let found = list[0]!.value;
    for (const entry of list) {
      if (entry.at > before) break;
      found = entry.value;
    }
    return found;
  }

  /** Forgets every answer. */
  clear(): void {
    this.#answers.clear();
  }
}
