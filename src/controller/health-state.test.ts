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
