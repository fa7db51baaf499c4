import { describe, expect, it } from 'vitest';
import { nextVerification, VerificationSchedule } from './verification-schedule.ts';

const wrote = { wrote: true, disagreed: false };
const agreed = { wrote: false, disagreed: false };
const disagreed = { wrote: false, disagreed: true };

describe('the verification schedule', () => {
  it('after a write: 250 ms, doubling to 4 s while reads agree, then done', () => {
    const schedule = new VerificationSchedule();
    const delays = [schedule.after('gw', wrote)];
    for (let i = 0; i < 5; i++) delays.push(schedule.after('gw', agreed));
    expect(delays).toEqual([250, 500, 1000, 2000, 4000, undefined]);
    expect(schedule.after('gw', agreed)).toBeUndefined();
  });

  it('a disagreement keeps verifying at growing intervals, capped, until a read agrees', () => {
    const delays = [250];
    let step: number | undefined = 0;
    for (let i = 0; i < 7; i++) {
      const next = nextVerification(step, disagreed);
      step = next?.step;
      delays.push(next?.delayMs ?? -1);
    }
    expect(delays).toEqual([250, 500, 1000, 2000, 4000, 4000, 4000, 4000]);
  });

  it('a disagreement found by a pass nothing scheduled (a resync) starts at the first interval', () => {
    expect(nextVerification(undefined, disagreed)).toEqual({ step: 0, delayMs: 250 });
    expect(nextVerification(undefined, agreed)).toBeUndefined();
  });

  it('a new write starts over; gateways are separate; a forgotten one has nothing due', () => {
    const schedule = new VerificationSchedule({ firstMs: 10, maxMs: 40 });
    schedule.after('a', wrote);
    schedule.after('a', agreed);
    expect(schedule.after('b', wrote)).toBe(10);
    expect(schedule.after('a', wrote)).toBe(10);
    schedule.forget('a');
    expect(schedule.after('a', agreed)).toBeUndefined();
  });
});
