/**
 * @module
 * A resilient informer: client-node's `ListWatch` (list, then watch from the list's resourceVersion, relist
 * on 410 Gone) plus what it leaves to the caller: restarting after any other error, with capped,
 * jittered backoff. Generic over the watched kind, so every component that watches uses the same one.
 *
 * ```
 *   start ──► listing ──ok──► watching ──410 Gone──► listing        (client-node relists itself)
 *                │                │
 *                │ error          │ error (not 410): client-node stops and emits `error`
 *                ▼                ▼
 *             backoff(n) ──delay──► start again (from the last resourceVersion; a 410 then relists)
 *   n counts errors since the last good start; it resets once a start reaches `watching`.
 * ```
 *
 * Delays and randomness are injectable, so tests drive restarts deterministically.
 */
import {
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  Watch,
} from '@kubernetes/client-node';
import type { Logger } from '../log.ts';
import { type BackoffOptions, backoffDelay } from './backoff.ts';

/** What the wrapper needs of client-node's `ListWatch` (an `Informer` and `ObjectCache`). */
export interface ListWatchLike<T extends KubernetesObject> {
  on(verb: 'add' | 'update' | 'delete', cb: (obj: T) => void): void;
  on(verb: 'error' | 'connect', cb: (err?: unknown) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): ReadonlyArray<T>;
}

/** Kinds of informer events passed to the handler. */
export type InformerEventType = 'add' | 'update' | 'delete';

/** Options of a {@link ResilientInformer}. */
export interface ResilientInformerOptions<T extends KubernetesObject> {
  /** Name for logs, e.g. `nodes`. */
  readonly name: string;
  /** Creates the underlying list-watch (see {@link listWatchFactory}). */
  readonly create: () => ListWatchLike<T>;
  /** Called for every add, update and delete. */
  readonly onEvent?: (type: InformerEventType, obj: T) => void;
  /** Restart backoff. Default 200 ms doubling to 30 s, 30 % jitter. */
  readonly backoff?: BackoffOptions;
  /** Waits `ms`; resolves early (or rejects) when `signal` aborts. Default: a timer. */
  readonly delay?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly logger?: Logger;
}

const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 200, maxMs: 30_000, jitter: 0.3 };

/** Waits `ms` or until `signal` aborts. */
export function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** A `ListWatch` that restarts after errors; see the module comment. */
export class ResilientInformer<T extends KubernetesObject> {
  readonly name: string;
  readonly #lw: ListWatchLike<T>;
  readonly #backoff: BackoffOptions;
  readonly #delay: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly #logger: Logger | undefined;
  readonly #abort = new AbortController();
  #failures = 0;
  #synced = false;
  #restarting = false;
  #started = false;
  #errorsInStart = 0;
  #restarts = 0;
  #onSynced: () => void = () => {};

  constructor(options: ResilientInformerOptions<T>) {
    this.name = options.name;
    this.#lw = options.create();
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#delay = options.delay ?? abortableDelay;
    this.#logger = options.logger;
    const onEvent = options.onEvent;
    if (onEvent) {
      this.#lw.on('add', (obj) => onEvent('add', obj));
      this.#lw.on('update', (obj) => onEvent('update', obj));
      this.#lw.on('delete', (obj) => onEvent('delete', obj));
    }
    this.#lw.on('error', (err) => this.#onError(err));
  }

  /** True once a list has succeeded (the cache holds the API server's state). */
  get synced(): boolean {
    return this.#synced;
  }

  /** Restarts after errors so far. */
  get restarts(): number {
    return this.#restarts;
  }

  /** Objects in the cache (all namespaces when `namespace` is absent). */
  list(namespace?: string): ReadonlyArray<T> {
    return this.#lw.list(namespace);
  }

  /** One object from the cache. */
  get(name: string, namespace?: string): T | undefined {
    return this.#lw.get(name, namespace);
  }

  /**
   * Starts listing and watching. Resolves once the first list succeeded (retrying with backoff until then),
   * or when the informer is stopped.
   */
  async start(): Promise<void> {
    this.#started = true;
    const synced = new Promise<void>((resolve) => {
      this.#onSynced = resolve;
      this.#abort.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await this.#startOnce();
    await synced;
  }

  /** Stops watching; no restart happens afterwards. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#lw.stop();
  }

  async #startOnce(): Promise<void> {
    if (this.#abort.signal.aborted) return;
    this.#errorsInStart = 0;
    await this.#lw.start();
    if (this.#errorsInStart === 0 && !this.#abort.signal.aborted) {
      this.#synced = true;
      this.#failures = 0;
      this.#onSynced();
    }
  }

  #onError(err: unknown): void {
    if (this.#abort.signal.aborted || !this.#started) return;
    this.#errorsInStart++;
    this.#failures++;
    if (this.#restarting) return;
    this.#restarting = true;
    const delayMs = backoffDelay(this.#failures, this.#backoff);
    this.#logger?.warn(
      { informer: this.name, err, failures: this.#failures, retryInMs: delayMs },
      'watch failed; restarting',
    );
    void this.#delay(delayMs, this.#abort.signal).then(async () => {
      this.#restarting = false;
      if (this.#abort.signal.aborted) return;
      this.#restarts++;
      await this.#startOnce();
    });
  }
}

/** What {@link listWatchFactory} needs to list and watch one resource. */
export interface ListWatchSpec<T extends KubernetesObject> {
  /** Watch path, e.g. `/api/v1/nodes` or `/apis/cloudegress.io/v1alpha1/egresspolicies`. */
  readonly path: string;
  /** Lists the resource (all namespaces). */
  readonly list: () => Promise<KubernetesListObject<T>>;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

/**
 * A factory of client-node `ListWatch`es for {@link ResilientInformerOptions.create}. `watch` may be given
 * (any object with client-node's `Watch#watch` signature) to drive the informer without a server in tests.
 */
export function listWatchFactory<T extends KubernetesObject>(
  spec: ListWatchSpec<T>,
  source: { kubeConfig: KubeConfig } | { watch: Pick<Watch, 'watch'> },
): () => ListWatchLike<T> {
  return () => {
    const watch = 'watch' in source ? (source.watch as Watch) : new Watch(source.kubeConfig);
    return new ListWatch<T>(spec.path, watch, spec.list, false, spec.labelSelector, spec.fieldSelector);
  };
}
