import { describe, expect, it } from 'vitest';
import type { ChangeOutcome } from '../provider/contract.ts';
import { publicAddressesAfter } from './decide-gateway-status.ts';

const node = { name: 'a', providerID: 'inmemory:///z/a' };

describe('publicAddressesAfter', () => {
  it('keeps what the cloud showed, adds each paired assign that worked, drops released and no longer held IPs', () => {
    const outcomes = new Map<string, ChangeOutcome>([
      ['10.0.1.2', { change: { kind: 'assign', ip: '10.0.1.2', node, publicAddress: 'eip-2' }, ok: true }],
      [
        '10.0.1.3',
        {
          change: { kind: 'assign', ip: '10.0.1.3', node, publicAddress: 'eip-3' },
          ok: false,
          error: new Error('refused') as never,
        },
      ],
      ['10.0.1.4', { change: { kind: 'release', ip: '10.0.1.4', node }, ok: true }],
    ]);
    const held = new Map([
      ['10.0.1.1', 'a'],
      ['10.0.1.2', 'a'],
      ['10.0.1.3', 'a'],
    ]);
    const before = new Map([
      ['10.0.1.1', 'eip-1'],
      ['10.0.1.4', 'eip-4'],
      ['10.0.1.5', 'eip-5'],
    ]);
    expect(Object.fromEntries(publicAddressesAfter(before, outcomes, held))).toEqual({
      '10.0.1.1': 'eip-1',
      '10.0.1.2': 'eip-2',
    });
  });
});
