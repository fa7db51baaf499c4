import type { V1Lease } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { LeaseApi } from '../kube/kube-api.ts';
import { decideLease, LeaderElector, validateTimings } from './leader-election.ts';

const lease = (holder: string, renew: string, seconds = 4): V1Lease => ({
  metadata: { name: 'l', namespace: 'ns', resourceVersion: '1' },
  spec: { holderIdentity: holder, renewTime: renew as unknown as Date, leaseDurationSeconds: seconds },
});

describe('decideLease', () => {
  it('creates an absent lease and renews its own', () => {
    expect(decideLease({ lease: undefined, identity: 'a', now: 0, observed: undefined }).decision).toEqual({
      action: 'create',
    });
    expect(
      decideLease({ lease: lease('a', 't1'), identity: 'a', now: 0, observed: undefined }).decision,
    ).toEqual({
      action: 'renew',
    });
  });

  it('waits for a lease held by another until it has not changed for the lease duration (local clock)', () => {
    const first = decideLease({ lease: lease('b', 't1'), identity: 'a', now: 1000, observed: undefined });
    expect(first.decision).toEqual({ action: 'wait', holder: 'b', expiresInMs: 4000 });
    const same = decideLease({ lease: lease('b', 't1'), identity: 'a', now: 4999, observed: first.observed });
    expect(same.decision.action).toBe('wait');
    const renewed = decideLease({
      lease: lease('b', 't2'),
      identity: 'a',
      now: 5000,
      observed: same.observed,
    });
    expect(renewed.decision).toEqual({ action: 'wait', holder: 'b', expiresInMs: 4000 });
    const expired = decideLease({
      lease: lease('b', 't2'),
      identity: 'a',
      now: 9000,
      observed: renewed.observed,
    });
    expect(expired.decision).toEqual({ action: 'takeOver', previousHolder: 'b' });
  });

  it('takes over a released lease at once', () => {
    expect(
      decideLease({ lease: lease('', 't1', 1), identity: 'a', now: 0, observed: undefined }).decision,
    ).toEqual({
      action: 'takeOver',
      previousHolder: '',
    });
  });

  it('rejects timings that cannot work', () => {
    expect(() =>
      validateTimings({ leaseDurationMs: 3000, renewDeadlineMs: 3000, retryPeriodMs: 500 }),
    ).toThrow(/lease duration > renew deadline/);
  });
});

/** A lease store with the API server's optimistic concurrency (resourceVersion must match). */
class LeaseStore implements LeaseApi {
  lease: V1Lease | undefined;
  #rv = 0;
  async get() {
    return this.lease && structuredClone(this.lease);
  }
  async create(l: V1Lease) {
    if (this.lease) throw new Error('AlreadyExists');
    this.lease = { ...structuredClone(l), metadata: { ...l.metadata, resourceVersion: String(++this.#rv) } };
    return structuredClone(this.lease);
  }
  async replace(l: V1Lease) {
    if (l.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) throw new Error('Conflict');
    this.lease = { ...structuredClone(l), metadata: { ...l.metadata, resourceVersion: String(++this.#rv) } };
    return structuredClone(this.lease);
  }
}

describe('LeaderElector', () => {
  const timings = { leaseDurationMs: 300, renewDeadlineMs: 200, retryPeriodMs: 20 };

  it('one of two candidates leads; when it is cancelled it releases and the other takes over at once', async () => {
    const store = new LeaseStore();
    const log: string[] = [];
    const make = (identity: string) =>
      new LeaderElector({
        ...timings,
        api: store,
        name: 'l',
        namespace: 'ns',
        identity,
        releaseOnCancel: true,
        onStartedLeading: () => log.push(`${identity} leads`),
        onStoppedLeading: () => void log.push(`${identity} stops`),
      });
    const a = make('a');
    const b = make('b');
    const stopA = new AbortController();
    const stopB = new AbortController();
    const runA = a.run(stopA.signal);
    await new Promise((r) => setTimeout(r, 60));
    const runB = b.run(stopB.signal);
    await new Promise((r) => setTimeout(r, 150));
    expect(log).toEqual(['a leads']);
    expect(store.lease?.spec?.holderIdentity).toBe('a');
    const released = performance.now();
    stopA.abort();
    await runA;
    while (!b.leading) await new Promise((r) => setTimeout(r, 5));
    expect(performance.now() - released).toBeLessThan(timings.leaseDurationMs);
    expect(log).toEqual(['a leads', 'a stops', 'b leads']);
    expect(store.lease?.spec?.leaseTransitions).toBe(1);
    stopB.abort();
    await runB;
  });

  it('a leader that dies without releasing is replaced after the lease duration', async () => {
    const store = new LeaseStore();
    const dead = new LeaderElector({
      ...timings,
      api: store,
      name: 'l',
      namespace: 'ns',
      identity: 'dead',
      releaseOnCancel: false,
      onStartedLeading: () => {},
      onStoppedLeading: () => {},
    });
    const stopDead = new AbortController();
    const runDead = dead.run(stopDead.signal);
    await new Promise((r) => setTimeout(r, 30));
    stopDead.abort();
    await runDead;
    expect(store.lease?.spec?.holderIdentity).toBe('dead');
    const next = new LeaderElector({
      ...timings,
      api: store,
      name: 'l',
      namespace: 'ns',
      identity: 'next',
      releaseOnCancel: true,
      onStartedLeading: () => {},
      onStoppedLeading: () => {},
    });
    const stop = new AbortController();
    const started = performance.now();
    const run = next.run(stop.signal);
    while (!next.leading) await new Promise((r) => setTimeout(r, 5));
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(timings.leaseDurationMs - 5);
    stop.abort();
    await run;
  });
});
