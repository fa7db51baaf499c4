import { afterEach, describe, expect, it, vi } from 'vitest';
import { HandoverAdopter } from './handover-adopter.ts';

afterEach(() => {
  vi.useRealTimers();
});

/** An adopter whose adoptions are recorded; each adopts `count` connections. */
function recorded(count = 1, fail = false) {
  const calls: string[][] = [];
  const adopted: number[] = [];
  const adopter = new HandoverAdopter({
    adopt: async (ips) => {
      calls.push([...ips]);
      if (fail) throw new Error('conntrack failed');
      return count;
    },
    intervalMs: 100,
    onAdopted: (n) => adopted.push(n),
  });
  return { adopter, calls, adopted };
}

describe('HandoverAdopter', () => {
  it('adopts at once when a move begins, then every interval, with the latest IPs, until the move ends', async () => {
    vi.useFakeTimers();
    const { adopter, calls, adopted } = recorded();
    adopter.update(['10.0.1.17']);
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toEqual([['10.0.1.17']]);
    await vi.advanceTimersByTimeAsync(250);
    expect(calls).toHaveLength(3);
    adopter.update(['10.0.1.17', '10.0.1.18']);
    await vi.advanceTimersByTimeAsync(100);
    expect(calls.at(-1)).toEqual(['10.0.1.17', '10.0.1.18']);
    const before = calls.length;
    adopter.update([]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toHaveLength(before);
    expect(adopted).toEqual(Array(before).fill(1));
  });

  it('counts only adoptions that adopted some', async () => {
    vi.useFakeTimers();
    const { adopter, calls, adopted } = recorded(0);
    adopter.update(['10.0.1.17']);
    await vi.advanceTimersByTimeAsync(350);
    expect(calls.length).toBeGreaterThan(1);
    expect(adopted).toEqual([]);
    await adopter.stop();
  });

  it('goes on after a failed adoption, and does nothing once stopped', async () => {
    vi.useFakeTimers();
    const { adopter, calls } = recorded(1, true);
    adopter.update(['10.0.1.17']);
    await vi.advanceTimersByTimeAsync(250);
    expect(calls).toHaveLength(3);
    await adopter.stop();
    adopter.update(['10.0.1.17']);
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toHaveLength(3);
  });

  it('turns the handover tracking on when a move begins and off when it ends or the adopter stops, in order', async () => {
    vi.useFakeTimers();
    const switched: boolean[] = [];
    const adopter = new HandoverAdopter({
      adopt: async () => 0,
      intervalMs: 100,
      tracking: async (on) => {
        await new Promise((r) => setTimeout(r, on ? 30 : 1));
        switched.push(on);
      },
    });
    adopter.update(['10.0.1.17']);
    adopter.update(['10.0.1.17', '10.0.1.18']);
    adopter.update([]);
    await vi.advanceTimersByTimeAsync(100);
    expect(switched).toEqual([true, false]);
    adopter.update(['10.0.1.17']);
    const stopped = adopter.stop();
    await vi.advanceTimersByTimeAsync(100);
    await stopped;
    expect(switched).toEqual([true, false, true, false]);
    // Not adopting: stopping switches nothing.
    await new HandoverAdopter({
      adopt: async () => 0,
      intervalMs: 100,
      tracking: async (on) => void switched.push(on),
    }).stop();
    expect(switched).toHaveLength(4);
  });

  it('a repeated update while a move goes on does not start a second loop', async () => {
    vi.useFakeTimers();
    const { adopter, calls } = recorded();
    adopter.update(['10.0.1.17']);
    adopter.update(['10.0.1.17']);
    adopter.update(['10.0.1.17']);
    await vi.advanceTimersByTimeAsync(150);
    expect(calls).toHaveLength(2);
    await adopter.stop();
  });
});
