/**
 * @module
 * Leader election on a `coordination.k8s.io/v1` Lease, as client-go's leaderelection does it: optimistic
 * concurrency on the Lease's resourceVersion, expiry judged by the local clock from when the record was last
 * seen to change (so clock skew between replicas does not matter), and `releaseOnCancel`.
 *
 * ```
 *             lease absent: create           renewed within renewDeadline
 *  candidate ───── or expired: take over ──► leader ◄──────────────────────┐
 *     ▲   │ held by another, not expired        │ │ every retryPeriod: renew ─┘
 *     │   └── wait retryPeriod, retry           │ │
 *     │                                         │ └── no successful renew for renewDeadline: lost ──┐
 *     └──────────────── onStoppedLeading ◄──────┴── cancelled: onStoppedLeading (work stops), then release
 *                                                    (holder "") when releaseOnCancel
 * ```
 *
 * Defaults (lease 4 s, renew deadline 3 s, retry 500 ms) hand over within about 4.5 s after a leader dies
 * without releasing, and within about 500 ms after a leader releases on shutdown. They must keep
 * `leaseDuration > renewDeadline > retryPeriod` (client-go's rule).
 */
import { type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import { abortableDelay } from '../kube/informer.ts';
import type { LeaseApi } from '../kube/kube-api.ts';
import type { Logger } from '../log.ts';

/** Durations of the election. */
export interface LeaderElectionTimings {
  /** How long a lease is valid without renewal; non-leaders wait this long before taking over. */
  readonly leaseDurationMs: number;
  /** How long the leader keeps trying to renew before it gives up leadership. */
  readonly renewDeadlineMs: number;
  /** Interval between attempts to acquire or renew. */
  readonly retryPeriodMs: number;
}

/** Defaults that hand over within a few seconds. */
export const DEFAULT_LEADER_TIMINGS: LeaderElectionTimings = {
  leaseDurationMs: 4000,
  renewDeadlineMs: 3000,
  retryPeriodMs: 500,
};

/** @throws RangeError unless leaseDuration > renewDeadline > retryPeriod > 0. */
export function validateTimings(t: LeaderElectionTimings): void {
  if (
    !(t.leaseDurationMs > t.renewDeadlineMs && t.renewDeadlineMs > t.retryPeriodMs && t.retryPeriodMs > 0)
  ) {
    throw new RangeError(
      `leader election needs lease duration > renew deadline > retry period > 0, got ${t.leaseDurationMs} / ${t.renewDeadlineMs} / ${t.retryPeriodMs} ms`,
    );
  }
}

/** What a candidate remembers of the lease record it last saw. */
export interface ObservedLease {
  /** `holderIdentity/renewTime/leaseTransitions` of the record. */
  readonly fingerprint: string;
  /** Local time (ms) when that record was first seen. */
  readonly at: number;
}

/** What to do with the lease. */
export type LeaseDecision =
  | { readonly action: 'create' }
  | { readonly action: 'renew' }
  | { readonly action: 'takeOver'; readonly previousHolder: string }
  | { readonly action: 'wait'; readonly holder: string; readonly expiresInMs: number };

const fingerprintOf = (lease: V1Lease): string =>
  `${lease.spec?.holderIdentity ?? ''}/${String(lease.spec?.renewTime ?? '')}/${lease.spec?.leaseTransitions ?? 0}`;

/**
 * Pure: what `identity` should do given the lease as read now. Returns the decision and the observation to
 * remember for the next call.
 */
export function decideLease(input: {
  readonly lease: V1Lease | undefined;
  readonly identity: string;
  readonly now: number;
  readonly observed: ObservedLease | undefined;
}): { decision: LeaseDecision; observed: ObservedLease | undefined } {
  const { lease, identity, now } = input;
  if (!lease) return { decision: { action: 'create' }, observed: undefined };
  const fingerprint = fingerprintOf(lease);
  const observed =
    input.observed && input.observed.fingerprint === fingerprint ? input.observed : { fingerprint, at: now };
  const holder = lease.spec?.holderIdentity ?? '';
  if (holder === identity) return { decision: { action: 'renew' }, observed };
  if (holder === '') return { decision: { action: 'takeOver', previousHolder: '' }, observed };
  const durationMs = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
  const expiresInMs = observed.at + durationMs - now;
  if (expiresInMs <= 0) return { decision: { action: 'takeOver', previousHolder: holder }, observed };
  return { decision: { action: 'wait', holder, expiresInMs }, observed };
}

/** Options of a {@link LeaderElector}. */
export interface LeaderElectorOptions extends LeaderElectionTimings {
  readonly api: LeaseApi;
  readonly name: string;
  readonly namespace: string;
  /** This replica's identity (pod name). */
  readonly identity: string;
  /** Give the lease up when cancelled, so another replica takes over at once. */
  readonly releaseOnCancel: boolean;
  readonly onStartedLeading: () => void;
  readonly onStoppedLeading: () => void | Promise<void>;
  readonly onNewLeader?: (identity: string) => void;
  readonly now?: () => number;
  readonly logger?: Logger;
}

/** Runs the election; see the module comment. */
export class LeaderElector {
  readonly #o: LeaderElectorOptions;
  readonly #now: () => number;
  #observed: ObservedLease | undefined;
  #lease: V1Lease | undefined;
  #leading = false;
  #lastLeader = '';
  #abandoned = false;

  constructor(options: LeaderElectorOptions) {
    validateTimings(options);
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** Whether this replica leads now. */
  get leading(): boolean {
    return this.#leading;
  }

  /** Makes the coming cancellation keep the lease (as a crash would): no release, even with `releaseOnCancel`. */
  abandon(): void {
    this.#abandoned = true;
  }

  /** Campaigns and leads until `signal` aborts; then releases the lease when `releaseOnCancel`. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (await this.#tryAcquireOrRenew()) {
        this.#leading = true;
        this.#o.logger?.info({ identity: this.#o.identity, lease: this.#o.name }, 'became leader');
        this.#o.onStartedLeading();
        await this.#renewLoop(signal);
        this.#leading = false;
        this.#o.logger?.info({ identity: this.#o.identity }, 'stopped leading');
        // Work stops before the lease is released, so two replicas never act at once.
        await this.#o.onStoppedLeading();
        if (signal.aborted && this.#o.releaseOnCancel && !this.#abandoned) await this.#release();
        continue;
      }
      await abortableDelay(this.#o.retryPeriodMs, signal);
    }
  }

  async #renewLoop(signal: AbortSignal): Promise<void> {
    let lastRenew = this.#now();
    while (!signal.aborted) {
      await abortableDelay(this.#o.retryPeriodMs, signal);
      if (signal.aborted) return;
      if (await this.#tryAcquireOrRenew()) {
        lastRenew = this.#now();
        continue;
      }
      if (this.#now() - lastRenew >= this.#o.renewDeadlineMs || !this.#holdsRecord()) {
        this.#o.logger?.warn({ identity: this.#o.identity }, 'lost the lease');
        return;
      }
    }
  }

  #holdsRecord(): boolean {
    return this.#lease?.spec?.holderIdentity === this.#o.identity;
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const now = this.#now();
    let lease: V1Lease | undefined;
    try {
      lease = await this.#o.api.get();
    } catch (err) {
      this.#o.logger?.warn({ err }, 'reading the lease failed');
      return false;
    }
    this.#lease = lease;
    const { decision, observed } = decideLease({
      lease,
      identity: this.#o.identity,
      now,
      observed: this.#observed,
    });
    this.#observed = observed;
    const holder = lease?.spec?.holderIdentity ?? '';
    if (holder && holder !== this.#lastLeader) {
      this.#lastLeader = holder;
      this.#o.onNewLeader?.(holder);
    }
    if (decision.action === 'wait') return false;
    const spec = {
      holderIdentity: this.#o.identity,
      leaseDurationSeconds: Math.ceil(this.#o.leaseDurationMs / 1000),
      renewTime: new V1MicroTime(now),
      acquireTime:
        decision.action === 'renew' && lease?.spec?.acquireTime
          ? new V1MicroTime(lease.spec.acquireTime)
          : new V1MicroTime(now),
      leaseTransitions: (lease?.spec?.leaseTransitions ?? 0) + (decision.action === 'takeOver' ? 1 : 0),
    };
    try {
      this.#lease =
        decision.action === 'create'
          ? await this.#o.api.create({
              apiVersion: 'coordination.k8s.io/v1',
              kind: 'Lease',
              metadata: { name: this.#o.name, namespace: this.#o.namespace },
              spec,
            })
          : await this.#o.api.replace({ ...lease!, spec: { ...lease!.spec, ...spec } });
      return true;
    } catch (err) {
      this.#o.logger?.debug({ err, action: decision.action }, 'lease update lost a race');
      return false;
    }
  }

  async #release(): Promise<void> {
    if (!this.#lease || !this.#holdsRecord()) return;
    try {
      this.#lease = await this.#o.api.replace({
        ...this.#lease,
        spec: {
          ...this.#lease.spec,
          holderIdentity: '',
          leaseDurationSeconds: 1,
          renewTime: new V1MicroTime(this.#now()),
        },
      });
    } catch (err) {
      this.#o.logger?.warn({ err }, 'releasing the lease failed');
    }
  }
}
