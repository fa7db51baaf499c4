import { describe, expect, it } from 'vitest';
import {
  addressesIn,
  bigIntToIp,
  canonicalIp,
  cidrContains,
  cidrRange,
  InvalidAddressError,
  ipToBigInt,
  isCidr,
  isIp,
  poolEntryRange,
  rangesOverlap,
} from './ip.ts';

describe('ip helpers', () => {
  it('tells IPs from CIDRs', () => {
    expect([
      isIp('10.0.0.1'),
      isIp('2600::1'),
      isIp('10.0.0.0/24'),
      isIp('10.0.0.256'),
      isIp('nope'),
    ]).toEqual([true, true, false, false, false]);
    expect([isCidr('10.0.0.0/24'), isCidr('::/0'), isCidr('10.0.0.1'), isCidr('10.0.0.0/33')]).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });

  it('converts between text and numbers in both families', () => {
    expect(ipToBigInt('10.0.0.1')).toBe(167772161n);
    expect(bigIntToIp(167772161n, 4)).toBe('10.0.0.1');
    expect(bigIntToIp(ipToBigInt('2600:1f18::10'), 6)).toBe('2600:1f18::10');
    expect(canonicalIp('2600:1F18:0:0::10')).toBe('2600:1f18::10');
  });

  it('reads pool entries, leaving out IPv4 network and broadcast addresses', () => {
    expect(poolEntryRange('10.0.1.0/30')).toEqual({
      family: 4,
      start: ipToBigInt('10.0.1.1'),
      end: ipToBigInt('10.0.1.2'),
    });
    expect(poolEntryRange('10.0.1.4/31')).toEqual({
      family: 4,
      start: ipToBigInt('10.0.1.4'),
      end: ipToBigInt('10.0.1.5'),
    });
    expect(poolEntryRange('10.0.1.9-10.0.1.11')).toEqual({
      family: 4,
      start: ipToBigInt('10.0.1.9'),
      end: ipToBigInt('10.0.1.11'),
    });
    expect(poolEntryRange('2600::/127').end - poolEntryRange('2600::/127').start).toBe(1n);
    expect(() => poolEntryRange('10.0.1.11-10.0.1.9')).toThrow(InvalidAddressError);
    expect(() => poolEntryRange('10.0.1.1-2600::1')).toThrow('mixes IPv4 and IPv6');
    expect(() => poolEntryRange('banana')).toThrow('"banana" is not an IP, a CIDR or a range start-end');
  });

  it('answers containment and overlap without mixing families', () => {
    expect(cidrContains('10.0.0.0/16', '10.0.200.1')).toBe(true);
    expect(cidrContains('10.0.0.0/16', '10.1.0.1')).toBe(false);
    expect(cidrContains('::/0', '10.0.0.1')).toBe(false);
    expect(cidrContains('10.244.0.0/16', '10.244.1.0/24')).toBe(true);
    expect(cidrContains('10.244.0.0/16', '10.244.0.0/16')).toBe(true);
    expect(cidrContains('10.244.1.0/24', '10.244.0.0/16')).toBe(false);
    expect(cidrContains('10.0.0.0/8', 'fd00::/64')).toBe(false);
    expect(rangesOverlap(cidrRange('10.0.0.0/24'), poolEntryRange('10.0.0.255-10.0.1.3'))).toBe(true);
    expect(rangesOverlap(cidrRange('10.0.0.0/24'), cidrRange('2600::/64'))).toBe(false);
  });

  it('iterates a huge range lazily', () => {
    const first = [...addressesIn(cidrRange('2600::/64'), (ip) => ip.endsWith(':1'), 3)];
    expect(first).toEqual(['2600::', '2600::2', '2600::3']);
  });
});
