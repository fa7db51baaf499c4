import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assignMarkIds, MarkIdsExhaustedError } from './mark-ids.ts';

describe('assignMarkIds', () => {
  it('gives contiguous pool IPs their own ids, independent of the other IPs', () => {
    const ids = assignMarkIds(['10.0.1.16', '10.0.1.17', '10.0.1.18'], 0x3fff);
    expect(ids.get('10.0.1.17')).toBe(ids.get('10.0.1.16')! + 1);
    expect(assignMarkIds(['10.0.1.17'], 0x3fff).get('10.0.1.17')).toBe(ids.get('10.0.1.17'));
  });

  it('resolves collisions deterministically and uniquely', () => {
    // 10.0.0.1 and 10.0.0.8 collide modulo 7.
    const a = assignMarkIds(['10.0.0.8', '10.0.0.1'], 7);
    const b = assignMarkIds(['10.0.0.1', '10.0.0.8'], 7);
    expect(a).toEqual(b);
    expect(new Set(a.values()).size).toBe(2);
  });

  it('never gives two IPs the same id, and stays within 1..maxId', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.ipV4(), { minLength: 1, maxLength: 50 }),
        fc.integer({ min: 50, max: 200 }),
        (ips, max) => {
          const ids = assignMarkIds(ips, max);
          expect(new Set(ids.values()).size).toBe(ips.length);
          for (const id of ids.values()) expect(id >= 1 && id <= max).toBe(true);
        },
      ),
    );
  });

  it('never gives out a reserved id (the return path), and counts it as taken', () => {
    // 10.0.0.1 prefers id 1 + 167772161 mod 7 = 5.
    expect(assignMarkIds(['10.0.0.1'], 7).get('10.0.0.1')).toBe(5);
    expect(assignMarkIds(['10.0.0.1'], 7, new Set([5])).get('10.0.0.1')).toBe(6);
    fc.assert(
      fc.property(fc.uniqueArray(fc.ipV4(), { minLength: 1, maxLength: 49 }), (ips) => {
        const ids = assignMarkIds(ips, 50, new Set([50]));
        for (const id of ids.values()) expect(id).not.toBe(50);
      }),
    );
    expect(() => assignMarkIds(['10.0.0.1', '10.0.0.2'], 2, new Set([2]))).toThrow(MarkIdsExhaustedError);
  });

  it('refuses more IPs than ids', () => {
    expect(() => assignMarkIds(['10.0.0.1', '10.0.0.2'], 1)).toThrow(MarkIdsExhaustedError);
  });
});
