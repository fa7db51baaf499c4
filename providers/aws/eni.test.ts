import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  claimedIPs,
  type EniView,
  ownedIPs,
  ownershipTags,
  ownershipTagUpdate,
  owns,
  reservedIPs,
} from './eni.ts';

const eni = (tags: Record<string, string>, ipv4 = ['10.0.1.5', '10.0.1.20', '10.0.1.21']): EniView => ({
  id: 'eni-1',
  subnetId: 'subnet-1',
  sourceDestCheck: true,
  vpcId: 'vpc-1',
  zone: 'us-east-1a',
  primary: ipv4[0]!,
  ipv4,
  ipv6: [],
  tags: new Map(Object.entries(tags)),
});

describe('ownership tags', () => {
  it('pack IPs into values of at most 256 characters and read back the same set', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.ipV4(), { maxLength: 80 }), (ips) => {
        const tags = ownershipTags('me', ips);
        for (const t of tags) expect(t.Value.length).toBeLessThanOrEqual(256);
        expect(tags.length).toBeLessThanOrEqual(Math.ceil(ips.length / 16));
        const read = claimedIPs(new Map(tags.map((t) => [t.Key, t.Value])), 'me');
        expect([...read].sort()).toEqual([...ips].sort());
      }),
    );
  });

  it('count an IP as owned only while the ENI holds it and our subnet tags claim it', () => {
    const subnetTags = new Map([
      ['cloudegress.io/owner/me/0', '10.0.1.20 10.0.1.99 10.0.1.5'],
      ['cloudegress.io/owner/other/0', '10.0.1.21'],
    ]);
    const view = eni({});
    const mine = claimedIPs(subnetTags, 'me');
    expect(ownedIPs(view, mine)).toEqual(['10.0.1.20']);
    expect(owns(view, '10.0.1.5', mine)).toBe(false); // the primary, even if claimed
    expect(owns(view, '10.0.1.99', mine)).toBe(false); // claimed, not held
    expect(reservedIPs(view, mine)).toEqual(['10.0.1.5', '10.0.1.21']);
    expect(ownedIPs(view, claimedIPs(subnetTags, 'other'))).toEqual(['10.0.1.21']);
  });

  it('update writes only changed keys and removes surplus ones', () => {
    const view = eni({
      'cloudegress.io/owner/me/0': '10.0.1.20',
      'cloudegress.io/owner/me/1': '10.0.1.30',
      Name: 'x',
    });
    expect(ownershipTagUpdate(view.tags, 'me', ['10.0.1.20'])).toEqual({
      write: [],
      remove: ['cloudegress.io/owner/me/1'],
    });
    expect(ownershipTagUpdate(view.tags, 'me', [])).toEqual({
      write: [],
      remove: ['cloudegress.io/owner/me/0', 'cloudegress.io/owner/me/1'],
    });
    expect(ownershipTagUpdate(view.tags, 'me', ['10.0.1.21', '10.0.1.20']).write).toEqual([
      { Key: 'cloudegress.io/owner/me/0', Value: '10.0.1.20 10.0.1.21' },
    ]);
  });
});
