import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type HealthInput, type HealthState, initialHealth, isHealthy, nextHealth } from './health-state.ts';

const options = { misses: 3, dampingMs: 10_000 };
const run = (state: HealthState, inputs: HealthInput[]) =>
  inputs.reduce((s, i) => nextHealth(s, i, options), state);
const ok = (at: number): HealthInput => ({ kind: 'probeOk', at });
const miss = (at: number): HealthInput => ({ kind: 'probeMiss', at, error: 'connect ECONNREFUSED' });

describe('health state machine', () => {
  it('given a Ready node not probed yet, then it may hold IPs (no churn at controller start)', () => {
    expect(isHealthy(initialHealth(true, 0))).toBe(true);
    expect(isHealthy(initialHealth(false, 0))).toBe(false);
  });

  it('fails a node after exactly `misses` misses in a row, and a success resets the count', () => {
    const twoMisses = run(initialHealth(true, 0), [ok(0), miss(200), miss(400)]);
    expect(twoMisses.status).toBe('healthy');
    expect(run(twoMisses, [ok(600), miss(800), miss(1000)]).status).toBe('healthy');
    const failed = run(twoMisses, [miss(600)]);
    expect(failed.status).toBe('failed');
    expect(failed.since).toBe(600);
    expect(failed.reason).toContain('3 times');
    expect(isHealthy(failed)).toBe(false);
  });

  it('fails a healthy or recovering node when its probes fall silent for the detection time', () => {
    const silent = (at: number): HealthInput => ({ kind: 'silent', at, forMs: 300, error: 'timed out' });
    const failed = run(initialHealth(true, 0), [ok(0), silent(300)]);
    expect(failed).toMatchObject({
      status: 'failed',
      since: 300,
      reason: 'agent health probe unanswered for 300 ms: timed out',
    });
    const recovering = run(failed, [ok(400)]);
    expect(recovering.status).toBe('recovering');
    expect(run(recovering, [silent(700)]).status).toBe('failed');
  });

  it('fails a node at once when the Node goes NotReady or is deleted', () => {
    const healthy = run(initialHealth(true, 0), [ok(0)]);
    expect(nextHealth(healthy, { kind: 'nodeReady', at: 5, ready: false }, options)).toMatchObject({
      status: 'failed',
      reason: 'Node is NotReady',
    });
    expect(nextHealth(healthy, { kind: 'nodeDeleted', at: 5 }, options).status).toBe('failed');
  });

  it('damps flapping: a failed node takes IPs again only after answering for dampingMs', () => {
    const failed = run(initialHealth(true, 0), [ok(0), miss(1), miss(2), miss(3)]);
    const recovering = run(failed, [ok(1000), ok(5000)]);
    expect(recovering.status).toBe('recovering');
    expect(isHealthy(recovering)).toBe(false);
    expect(run(recovering, [miss(6000)]).status).toBe('failed');
    expect(run(recovering, [ok(10_999)]).status).toBe('recovering');
    expect(run(recovering, [ok(11_000)]).status).toBe('healthy');
  });

  it('keeps a NotReady node failed while probes succeed, until the Node is Ready again', () => {
    const notReady = run(initialHealth(true, 0), [
      ok(0),
      { kind: 'nodeReady', at: 1, ready: false },
      ok(2),
      ok(20_000),
    ]);
    expect(notReady.status).toBe('failed');
    const back = run(notReady, [{ kind: 'nodeReady', at: 20_001, ready: true }, ok(20_100)]);
    expect(back.status).toBe('recovering');
  });

  it('given a planned agent restart, keeps the node through silence and misses until the grace ends', () => {
    const silent = (at: number): HealthInput => ({ kind: 'silent', at, forMs: 300 });
    const healthy = run(initialHealth(true, 0), [ok(0)]);
    const restarting = run(healthy, [{ kind: 'restartAnnounced', at: 100, until: 30_100 }]);
    const quiet = run(restarting, [silent(400), miss(500), miss(600), miss(700), miss(800)]);
    expect(quiet).toMatchObject({ status: 'healthy', graceUntil: 30_100 });
    expect(isHealthy(quiet)).toBe(true);
    // Answers do not close the window (the old agent may answer until it stops); the prober closes it.
    expect(run(quiet, [ok(900)]).graceUntil).toBe(30_100);
    // The new agent answers: the window closes, and the next silence fails the node as usual.
    const back = run(quiet, [ok(5000), { kind: 'graceEnded', at: 5000 }]);
    expect(back.graceUntil).toBeUndefined();
    expect(run(back, [silent(5300)]).status).toBe('failed');
    // No answer by the end of the window: failed, and the reason says so.
    expect(run(quiet, [silent(30_100)])).toMatchObject({
      status: 'failed',
      reason: 'agent health probe unanswered for 300 ms (the agent restart took longer than its grace)',
    });
  });

  it('given a planned agent restart, still fails the node at once when it goes NotReady or is deleted', () => {
    const restarting = run(initialHealth(true, 0), [
      ok(0),
      { kind: 'restartAnnounced', at: 1, until: 30_000 },
    ]);
    const notReady = nextHealth(restarting, { kind: 'nodeReady', at: 5, ready: false }, options);
    expect(notReady).toMatchObject({ status: 'failed', reason: 'Node is NotReady' });
    expect(notReady.graceUntil).toBeUndefined();
    expect(nextHealth(restarting, { kind: 'nodeDeleted', at: 5 }, options).status).toBe('failed');
    // A cancelled window (the Node was cordoned): silence fails it again.
    const cancelled = run(restarting, [{ kind: 'graceEnded', at: 6 }]);
    expect(run(cancelled, [{ kind: 'silent', at: 300, forMs: 300 }]).status).toBe('failed');
  });

  it('gives no grace to a node that does not hold IPs (failed or recovering)', () => {
    const failed = run(initialHealth(true, 0), [ok(0), miss(1), miss(2), miss(3)]);
    expect(run(failed, [{ kind: 'restartAnnounced', at: 4, until: 30_000 }]).graceUntil).toBeUndefined();
    const recovering = run(failed, [ok(10)]);
    const announced = run(recovering, [{ kind: 'restartAnnounced', at: 11, until: 30_000 }]);
    expect(run(announced, [miss(12)]).status).toBe('failed');
  });

  it('property: a node is never healthy within dampingMs after its last failure', () => {
    const input = fc.oneof(
      fc.constant<'ok'>('ok'),
      fc.constant<'miss'>('miss'),
      fc.constant<'silent'>('silent'),
      fc.constant<'notReady'>('notReady'),
      fc.constant<'ready'>('ready'),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(input, fc.integer({ min: 1, max: 3000 })), { maxLength: 60 }),
        (steps) => {
          let state = initialHealth(true, 0);
          let at = 0;
          let lastFailure = Number.NEGATIVE_INFINITY;
          for (const [kind, gap] of steps) {
            at += gap;
            const next: HealthInput =
              kind === 'ok'
                ? ok(at)
                : kind === 'miss'
                  ? miss(at)
                  : kind === 'silent'
                    ? { kind: 'silent', at, forMs: 300 }
                    : { kind: 'nodeReady', at, ready: kind === 'ready' };
            state = nextHealth(state, next, options);
            if (state.status === 'failed') lastFailure = at;
            if (state.status === 'healthy' && at - lastFailure < options.dampingMs) return false;
          }
          return true;
        },
      ),
    );
  });
});
