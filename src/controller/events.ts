/**
 * @module
 * Kubernetes Events about gateways and policies: `Normal` or `Warning`, CamelCase reasons from `REASON`.
 * The same event for the same object is recorded once per `dedupeMs` (client-go's correlator, simplified),
 * so a reconcile that repeats a failure does not flood the API server.
 */
import type { CoreV1Event } from '@kubernetes/client-node';
import { EVENT_TYPE, type Reason } from '../api/conditions.ts';
import type { EgressObject, KubeApi } from '../kube/kube-api.ts';
import type { Logger } from '../log.ts';
import type { EventSpec } from './decide-events.ts';

/** Who records the events (`source.component`, `reportingComponent`). */
export const EVENT_SOURCE = 'cloud-egress-controller';

/** Records Events; failures to record are logged, never thrown. */
export class EventRecorder {
  readonly #api: Pick<KubeApi, 'createEvent'>;
  readonly #instance: string;
  readonly #dedupeMs: number;
  readonly #recent = new Map<string, number>();
  readonly #logger: Logger | undefined;

  constructor(options: {
    api: Pick<KubeApi, 'createEvent'>;
    instance: string;
    dedupeMs?: number;
    logger?: Logger;
  }) {
    this.#api = options.api;
    this.#instance = options.instance;
    this.#dedupeMs = options.dedupeMs ?? 10 * 60_000;
    this.#logger = options.logger;
  }

  /** A `Normal` event. */
  normal(obj: EgressObject, reason: Reason, message: string): Promise<void> {
    return this.#record(obj, EVENT_TYPE.Normal, reason, message);
  }

  /** A `Warning` event. */
  warning(obj: EgressObject, reason: Reason, message: string): Promise<void> {
    return this.#record(obj, EVENT_TYPE.Warning, reason, message);
  }

  /** Each of `events` about `obj`, in order. */
  recordAll(obj: EgressObject, events: readonly EventSpec[]): void {
    for (const e of events) {
      void (e.type === EVENT_TYPE.Warning
        ? this.warning(obj, e.reason, e.message)
        : this.normal(obj, e.reason, e.message));
    }
  }

  async #record(obj: EgressObject, type: string, reason: Reason, message: string): Promise<void> {
    const key = `${obj.metadata.uid}/${type}/${reason}/${message}`;
    const now = Date.now();
    const last = this.#recent.get(key);
    if (last !== undefined && now - last < this.#dedupeMs) return;
    this.#recent.set(key, now);
    if (this.#recent.size > 10_000) {
      for (const [k, at] of this.#recent) if (now - at >= this.#dedupeMs) this.#recent.delete(k);
    }
    const time = new Date(now);
    const event: CoreV1Event = {
      metadata: { generateName: `${obj.metadata.name}.`, namespace: obj.metadata.namespace ?? 'default' },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.metadata.name,
        ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
        ...(obj.metadata.uid ? { uid: obj.metadata.uid } : {}),
      },
      type,
      reason,
      message: message.length > 1024 ? `${message.slice(0, 1023)}…` : message,
      firstTimestamp: time,
      lastTimestamp: time,
      count: 1,
      source: { component: EVENT_SOURCE },
      reportingComponent: EVENT_SOURCE,
      reportingInstance: this.#instance,
    };
    try {
      await this.#api.createEvent(event);
    } catch (err) {
      this.#logger?.warn({ err, reason, object: obj.metadata.name }, 'recording an event failed');
    }
  }
}
