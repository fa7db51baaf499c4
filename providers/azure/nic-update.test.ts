import { describe, expect, it } from 'vitest';
import { KeyedLock } from '../../src/provider/keyed-lock.ts';
import { mentions } from './nic-update.ts';

describe('mentions', () => {
  it('finds an IP as a whole address only', () => {
    const message = 'IP configuration x is using the private IP address 10.0.0.5 which is already allocated.';
    expect(mentions(message, '10.0.0.5')).toBe(true);
    expect(mentions('address 10.0.0.50 is taken', '10.0.0.5')).toBe(false);
    expect(mentions('address 110.0.0.5 is taken', '10.0.0.5')).toBe(false);
    expect(mentions('ends with 10.0.0.5.', '10.0.0.5')).toBe(true);
    expect(mentions('prefix 10.0.0.5/32', '10.0.0.5')).toBe(true);
    expect(mentions('v6 fd00::50 here', 'fd00::5')).toBe(false);
  });
});

describe('KeyedLock', () => {
  it('runs work for one key one at a time, in order, and other keys alongside', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const step = (name: string, ms: number) => async () => {
      log.push(`${name} start`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`${name} end`);
      return name;
    };
    const failing = lock.run('nic-1', async () => {
      log.push('boom');
      throw new Error('boom');
    });
    const results = await Promise.allSettled([
      failing,
      lock.run('nic-1', step('a1', 20)),
      lock.run('nic-1', step('a2', 1)),
      lock.run('nic-2', step('b1', 5)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(log.indexOf('a1 end')).toBeLessThan(log.indexOf('a2 start'));
    expect(log.indexOf('b1 end')).toBeLessThan(log.indexOf('a1 end'));
  });
});
