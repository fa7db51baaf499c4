/**
 * @module
 * What runs only while this replica leads: the work queue, the health prober and the resync timer. They start
 * together when leadership is gained and stop together when it is lost, so a standby neither reconciles nor
 * probes.
 *
 * ```
 * start ─► prober targets synced ─► every object queued, and again every resync period
 * stop  ─► resync and prober stopped ─► queue drained (reconciles in flight finish) and stopped
 * kill  ─► everything stopped at once, nothing awaited (as a crash would)
 * ```
 */
import type { Logger } from '../log.ts';
import type { ControllerSettings } from './controller-settings.ts';
import { HealthProber, type HealthProberOptions, type ProbeTarget } from './health-prober.ts';
import { type Priority, type ReconcileFn, WorkQueue, type WorkQueueOptions } from './work-queue.ts';

/** Options of a {@link LeaderSession}. */
export interface LeaderSessionOptions {
  readonly settings: ControllerSettings;
  readonly reconcile: ReconcileFn;
  readonly onResult: NonNullable<WorkQueueOptions['onResult']>;
  /** Sends one agent health probe; default HTTP GET /healthz. */
  readonly probe?: HealthProberOptions['probe'];
  /** A node's "may hold IPs" changed. */
  readonly onHealth: (node: string, healthy: boolean, reason: string | undefined) => void;
  /** The nodes to probe now. */
  readonly targets: () => readonly ProbeTarget[];
  /** Queues every object. */
  readonly enqueueAll: () => void;
  readonly logger: Logger;
}

/** See the module comment. */
export class LeaderSession {
  readonly #o: LeaderSessionOptions;
  readonly #queue: WorkQueue;
  readonly #prober: HealthProber;
  #resync: ReturnType<typeof setInterval> | undefined;

  /** Makes the queue and the prober; {@link start} sets them going. */
  constructor(options: LeaderSessionOptions) {
    this.#o = options;
    const { settings } = options;
    this.#queue = new WorkQueue({
      concurrency: settings.concurrency,
      reconcile: options.reconcile,
      onResult: options.onResult,
    });
    this.#prober = new HealthProber({
      intervalMs: settings.probe.intervalMs,
      ...(settings.probe.timeoutMs !== undefined ? { timeoutMs: settings.probe.timeoutMs } : {}),
      port: settings.probe.agentHealthPort,
      misses: settings.probe.misses,
      dampingMs: settings.probe.dampingMs,
      ...(settings.agentPods ? { restartGraceMs: settings.probe.restartGraceMs ?? 0 } : {}),
      ...(options.probe ? { probe: options.probe } : {}),
      onChange: (node, healthy, state) => options.onHealth(node, healthy, state.reason),
      logger: options.logger,
    });
  }

  /** Syncs the prober, queues every object and starts the resync timer. */
  start(): void {
    this.syncProber();
    this.#resync = setInterval(() => this.#o.enqueueAll(), this.#o.settings.resyncPeriodMs);
    this.#resync.unref?.();
    this.#o.enqueueAll();
  }

  /** Queues `key` with `priority` (default `normal`). */
  enqueue(key: string, priority?: Priority): void {
    this.#queue.add(key, priority);
  }

  /** The prober's verdict on `node` (unknown nodes: whether they are Ready). */
  healthy(node: string, ready: boolean): boolean {
    return this.#prober.healthy(node, ready);
  }

  /** Hands the prober the current targets. */
  syncProber(): void {
    this.#prober.sync(this.#o.targets());
  }

  /** A node was deleted: the prober fails it at once. */
  nodeDeleted(node: string): void {
    this.#prober.deleted(node);
  }

  /** Resolves when no reconcile is queued or running. */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  /** Stops the timer and the prober, then the queue, waiting for reconciles in flight. */
  async stop(): Promise<void> {
    this.#stopTimers();
    await this.#queue.stop();
  }

  /** Stops everything without waiting. */
  kill(): void {
    void this.#queue.stop();
    this.#stopTimers();
  }

  #stopTimers(): void {
    if (this.#resync) clearInterval(this.#resync);
    this.#resync = undefined;
    this.#prober.stop();
  }
}
