/** Pure: where a roll's outage windows fell in their node's turn (what the benchmarks print). */
import { describe, expect, it } from 'vitest';
import type { OutageWindow } from './outage.ts';
import { windowTimes } from './rolling.ts';

const at = Date.parse('2026-12-03T15:52:00.000Z');
const window = (from: number): OutageWindow => ({
  from,
  to: from + 50,
  ms: 50,
  samples: 1,
  open: false,
  causes: { timeout: 1 },
});

describe('windowTimes', () => {
  it('names the turn each window fell in, its time after the turn started and the VPC move of that turn', () => {
    const turns = [
      { node: 'gw-a1', held: ['10.0.1.100'], handOverMs: 8000, startedAt: at, movedAt: at + 2400 },
      { node: 'gw-a2', held: ['10.0.1.100'], handOverMs: 8000, startedAt: at + 30_000 },
    ];
    const windows = new Map([
      ['probe-a', [window(at + 4310)]],
      ['probe-b', [window(at + 31_000)]],
    ]);
    expect(windowTimes({ turns, windows })).toBe(
      'gw-a1 +4.31 s (VPC +2.40 s) 15:52:04.310Z; gw-a2 +1.00 s 15:52:31.000Z',
    );
  });

  it('is empty without windows, and leaves out a window before the first turn', () => {
    const turns = [{ node: 'gw-a1', held: [], handOverMs: 1, startedAt: at }];
    expect(windowTimes({ turns, windows: new Map() })).toBe('');
    expect(windowTimes({ turns, windows: new Map([['p', [window(at - 1)]]]) })).toBe('');
  });
});
