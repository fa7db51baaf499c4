/**
 * @module
 * A keyed work queue for level-triggered reconcilers (client-go's workqueue, pepr's per-key queue).
 *
 * Keys, not objects, are queued: a reconcile reads the latest state itself. Rules:
 *
 * | rule                 | how                                                                            |
 * |----------------------|--------------------------------------------------------------------------------|
 * | dedupe               | a key waiting in the queue is queued once, however often it is added           |
 * | one in flight        | a key added while it is reconciling is marked dirty and runs again afterwards  |
 * | per-key backoff      | a failing key is retried after `backoffDelay(failures)`, capped at `maxDelayMs` |
 * | never drop           | failures retry forever (capped); only a {@link TerminalError} stops retries    |
 * | requeue after        | a result `{ requeueAfterMs }` adds the key again after that delay              |
 * | fair                 | keys of one priority run in the order they were first added, up to             |
 * |                      | `concurrency` at once                                                          |
 * | urgent first         | an `urgent` key (a node failed: failover) runs before every `normal` one (a    |
 * |                      | resync, an edit); added urgent while queued normal, it moves behind the urgent |
 * |                      | keys; added urgent while running, it runs again urgent; none in flight stops   |
 *
 * State of one key (queued and dirty carry the key's priority, the higher one of the adds):
 *
 * ```
 *            add                  worker picks             reconcile ok / terminal
 *   (idle) ───────► queued ────────────────────► running ─────────────────────────► idle
 *     ▲            (urgent│normal)                │  │ add() while running: dirty
 *     │               ▲ timer fires (normal)      │  ▼
 *     │            waiting ◄──── error: backoff ───┘  running(dirty) ── done ──► queued
 *     └── forget ─────┘  (add() while waiting: the timer is cancelled and the key queued now)
 * ```
 */
import { type BackoffOptions, backoffDelay } from '../kube/backoff.ts';

/** What a reconcile may ask for besides success. */
export interface ReconcileResult {
  /** Reconcile the key again after this many ms (e.g. to poll), without counting a failure. */
  readonly requeueAfterMs?: number;
}

/**
 * How soon a queued key runs: `urgent` keys before every `normal` one. Urgent is for work a user waits on
 * within a second (a node failed and its IPs move); everything else is normal, so a resync of every gateway
 * does not queue ahead of a failover.
 */
export type Priority = 'urgent' | 'normal';

/** A reconcile function: the key only; it reads the current state itself. */
export type ReconcileFn = (key: string) => Promise<ReconcileResult | undefined>;

/** An error that retrying cannot fix: logged and counted, the key is not retried until added again. */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
}

/** Options of a {@link WorkQueue}. */
export interface WorkQueueOptions {
  /** Reconciles one key. */
  readonly reconcile: ReconcileFn;
  /** Keys reconciled at once (different keys only). Default 4. */
  readonly concurrency?: number;
  /** Per-key retry backoff. Default 5 ms doubling up to 30 s, 20 % jitter. */
  readonly backoff?: BackoffOptions;
  /** Called after every reconcile, with the error when it failed (metrics, logs). */
  readonly onResult?: (event: {
    key: string;
    durationMs: number;
    error?: unknown;
    retryInMs?: number;
  }) => void;
}

const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 5, maxMs: 30_000, jitter: 0.2 };

/** A keyed work queue; see the module comment for its rules. */
export class WorkQueue {
  readonly #reconcile: ReconcileFn;
  readonly #concurrency: number;
  readonly #backoff: BackoffOptions;
  readonly #onResult: WorkQueueOptions['onResult'];
  /** Keys ready to run, urgent ones first; each in order (a Set keeps insertion order and dedupes). */
  readonly #queued = { urgent: new Set<string>(), normal: new Set<string>() };
  readonly #running = new Map<string, Promise<void>>();
  /** Keys added while running, with the priority to queue them with when they finish. */
  readonly #dirty = new Map<string, Priority>();
  readonly #failures = new Map<string, number>();
  readonly #timers = new Map<string, { at: number; timer: ReturnType<typeof setTimeout> }>();
  #stopped = false;
  #idleWaiters: (() => void)[] = [];

  constructor(options: WorkQueueOptions) {
    this.#reconcile = options.reconcile;
    this.#concurrency = Math.max(1, options.concurrency ?? 4);
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#onResult = options.onResult;
  }

  /**
   * Queues `key` now (deduplicated; marked dirty when it is running), `urgent` keys before every `normal` one;
   * a key keeps the higher priority of its adds until it runs.
   */
  add(key: string, priority: Priority = 'normal'): void {
    if (this.#stopped) return;
    const pending = this.#timers.get(key);
    if (pending) {
      clearTimeout(pending.timer);
      this.#timers.delete(key);
    }
    if (this.#running.has(key)) {
      if (this.#dirty.get(key) !== 'urgent') this.#dirty.set(key, priority);
      return;
    }
    if (this.#queued.urgent.has(key)) return;
    if (priority === 'urgent') {
      this.#queued.normal.delete(key);
      this.#queued.urgent.add(key);
    } else {
      this.#queued.normal.add(key);
    }
    this.#pump();
  }

  /** Queues `key` after `delayMs`; an earlier pending timer for the key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.#stopped) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + delayMs;
    const pending = this.#timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => this.add(key), delayMs);
    timer.unref?.();
    this.#timers.set(key, { at, timer });
  }

  /** Failures of `key` since its last success. */
  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Keys waiting to run (not running, not in backoff). */
  get length(): number {
    return this.#queued.urgent.size + this.#queued.normal.size;
  }

  /** Keys reconciling now. */
  get running(): number {
    return this.#running.size;
  }

  /** Resolves when nothing is queued or running (timers may still be pending). */
  async idle(): Promise<void> {
    if (this.length === 0 && this.#running.size === 0) return;
    await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops taking work, cancels timers and waits for the reconciles in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#queued.urgent.clear();
    this.#queued.normal.clear();
    this.#dirty.clear();
    for (const { timer } of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    await Promise.allSettled([...this.#running.values()]);
    this.#notifyIdle();
  }

  #pump(): void {
    for (const queued of [this.#queued.urgent, this.#queued.normal]) {
      for (const key of queued) {
        if (this.#running.size >= this.#concurrency) return;
        queued.delete(key);
        this.#running.set(key, this.#run(key));
      }
    }
  }

  async #run(key: string): Promise<void> {
    // Run on a later tick, so the caller of add() never reconciles synchronously.
    await Promise.resolve();
    const start = performance.now();
    let error: unknown;
    let retryInMs: number | undefined;
    try {
      const result = await this.#reconcile(key);
      this.#failures.delete(key);
      if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
    } catch (err) {
      error = err;
      if (err instanceof TerminalError) {
        this.#failures.delete(key);
      } else {
        const failures = (this.#failures.get(key) ?? 0) + 1;
        this.#failures.set(key, failures);
        retryInMs = backoffDelay(failures, this.#backoff);
      }
    }
    this.#running.delete(key);
    if (retryInMs !== undefined) this.addAfter(key, retryInMs);
    const dirty = this.#dirty.get(key);
    if (dirty) {
      this.#dirty.delete(key);
      this.add(key, dirty);
    }
    const durationMs = performance.now() - start;
    this.#onResult?.(
      error === undefined
        ? { key, durationMs }
        : { key, durationMs, error, ...(retryInMs ? { retryInMs } : {}) },
    );
    this.#pump();
    this.#notifyIdle();
  }

  #notifyIdle(): void {
    if (this.length !== 0 || this.#running.size !== 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
