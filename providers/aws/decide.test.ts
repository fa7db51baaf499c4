import { describe, expect, it } from 'vitest';
import { decideAssigns, decideReleases } from './decide.ts';
import type { EniView } from './eni.ts';

const view = (id: string, ipv4: string[]): EniView => ({
  id,
  subnetId: 'subnet-1',
  sourceDestCheck: true,
  vpcId: 'vpc-1',
  zone: 'us-east-1a',
  primary: ipv4[0]!,
  ipv4,
  ipv6: [],
  tags: new Map(),
});
/** What this installation claims in the subnet. */
const CLAIMS = new Set(['10.0.1.10', '10.0.1.20']);
const SUBNETS = ['10.0.1.0/24'];
const LIMITS = { ipv4: 5, ipv6: 5 };

describe('decideAssigns', () => {
  const target = view('eni-t', ['10.0.1.4', '10.0.1.10', '10.0.1.11']);
  const other = view('eni-o', ['10.0.1.5', '10.0.1.20', '10.0.1.21']);
  const holders = new Map([
    ['10.0.1.5', other],
    ['10.0.1.20', other],
    ['10.0.1.21', other],
  ]);

  it('follows the table: outside, idempotent, foreign, primary, steal, move, add', () => {
    const d = decideAssigns(
      target,
      SUBNETS,
      LIMITS,
      CLAIMS,
      [
        { kind: 'assign', ip: '10.0.2.9' },
        { kind: 'assign', ip: '10.0.1.10' },
        { kind: 'assign', ip: '10.0.1.11' },
        { kind: 'assign', ip: '10.0.1.5' },
        { kind: 'assign', ip: '10.0.1.21' },
        { kind: 'assign', ip: '10.0.1.20' },
        { kind: 'assign', ip: '10.0.1.30' },
      ],
      holders,
    );
    expect([...d.failures.keys()]).toEqual([0, 2, 3, 4]);
    expect([...d.failures.values()].map((e) => e.kind)).toEqual([
      'terminal',
      'terminal',
      'terminal',
      'terminal',
    ]);
    expect(d.failures.get(0)?.message).toContain('10.0.2.9');
    expect([...d.noops]).toEqual([1]);
    expect(d.ipv4).toEqual(['10.0.1.20', '10.0.1.30']);
    expect([...d.movesFrom]).toEqual([['eni-o', ['10.0.1.20']]]);
  });

  it('fails every add and allocation with capacity past the limit, leaving nothing partial', () => {
    const d = decideAssigns(
      target,
      SUBNETS,
      LIMITS,
      CLAIMS,
      [
        { kind: 'assign', ip: '10.0.1.30' },
        { kind: 'assign', ip: '10.0.1.10' },
        { kind: 'allocate', count: 2 },
      ],
      new Map(),
    );
    expect(d.failures.get(0)?.kind).toBe('capacity');
    expect(d.failures.get(2)?.kind).toBe('capacity');
    expect(d.noops.has(1)).toBe(true);
    expect(d.ipv4).toEqual([]);
    expect(d.allocate).toBe(0);
  });
});

describe('decideReleases', () => {
  it('releases owned IPs, ignores absent ones and refuses the primary and foreign IPs', () => {
    const eni = view('eni-t', ['10.0.1.4', '10.0.1.10', '10.0.1.11']);
    const d = decideReleases(eni, CLAIMS, ['10.0.1.10', '10.0.1.99', '10.0.1.4', '10.0.1.11']);
    expect(d.ipv4).toEqual(['10.0.1.10']);
    expect([...d.failures.keys()]).toEqual([2, 3]);
    expect(d.failures.get(2)?.message).toContain('primary');
  });
});
