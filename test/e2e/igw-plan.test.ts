/**
 * @module
 * The internet gateway's pure decision (igw-plan.ts): which private IPs it NATs to which Elastic IPs, and the one
 * nftables transaction from one state to the next. The gateway itself, on a router, is proven in failover.test.ts
 * ("with an Elastic IP paired with the egress IP …").
 */
import { describe, expect, it } from 'vitest';
import { desiredNat, type EipView, planNat } from './igw-plan.ts';

const eip = (publicIp: string, networkInterfaceId?: string, privateIp?: string): EipView => ({
  publicIp,
  networkInterfaceId,
  privateIp,
});

describe('desiredNat', () => {
  it('maps each associated private IP of the VPC to its Elastic IP, and ignores the rest', () => {
    const nat = desiredNat(
      [
        eip('203.0.113.200', 'eni-a', '10.0.1.100'),
        eip('203.0.113.201'), // allocated, not associated
        eip('203.0.113.202', 'eni-other-vpc', '10.9.0.5'),
      ],
      new Set(['eni-a', 'eni-b']),
    );
    expect(nat).toEqual(new Map([['10.0.1.100', '203.0.113.200']]));
  });
});

describe('planNat', () => {
  it('is empty when nothing changed', () => {
    const same = new Map([['10.0.1.100', '203.0.113.200']]);
    expect(planNat(same, new Map(same))).toBe('');
  });

  it('adds a new pairing both ways', () => {
    expect(planNat(new Map(), new Map([['10.0.1.100', '203.0.113.200']]))).toBe(
      'add element ip igw eip_out { 10.0.1.100 : 203.0.113.200 }\n' +
        'add element ip igw eip_in { 203.0.113.200 : 10.0.1.100 }\n',
    );
  });

  it('moves an Elastic IP to another private IP in one transaction: deletions first', () => {
    const plan = planNat(
      new Map([['10.0.1.100', '203.0.113.200']]),
      new Map([['10.0.1.101', '203.0.113.200']]),
    );
    expect(plan.split('\n').filter(Boolean)).toEqual([
      'delete element ip igw eip_out { 10.0.1.100 : 203.0.113.200 }',
      'delete element ip igw eip_in { 203.0.113.200 : 10.0.1.100 }',
      'add element ip igw eip_out { 10.0.1.101 : 203.0.113.200 }',
      'add element ip igw eip_in { 203.0.113.200 : 10.0.1.101 }',
    ]);
  });

  it('removes a disassociated pairing', () => {
    expect(planNat(new Map([['10.0.1.100', '203.0.113.200']]), new Map())).toBe(
      'delete element ip igw eip_out { 10.0.1.100 : 203.0.113.200 }\n' +
        'delete element ip igw eip_in { 203.0.113.200 : 10.0.1.100 }\n',
    );
  });
});
