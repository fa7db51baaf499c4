/**
 * @module
 * The VPC router's pure plan (vpc-plan.ts) in both families: host routes of the right length, and each
 * address's (link, source) pair in the set of its family. The router itself is proven in vpc.test.ts and
 * failover.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { planVpc, vpcRuleset } from './vpc-plan.ts';

describe('planVpc', () => {
  it('routes an IPv4 address as a /32 and an IPv6 address as a /128, each allowed in its own set', () => {
    const plan = planVpc(
      new Map([['10.0.1.100', 'n-gw-a1']]),
      new Map([
        ['10.0.1.100', 'n-gw-a2'],
        ['2600:1f18:0:101::100', 'n-gw-a2'],
      ]),
    );
    expect(plan.routes).toEqual([
      'route replace 10.0.1.100/32 dev n-gw-a2',
      'route replace 2600:1f18:0:101::100/128 dev n-gw-a2',
    ]);
    expect(plan.nft.trim().split('\n')).toEqual([
      'delete element inet vpc eni_sources { "n-gw-a1" . 10.0.1.100 }',
      'add element inet vpc eni_sources { "n-gw-a2" . 10.0.1.100 }',
      'add element inet vpc eni_sources6 { "n-gw-a2" . 2600:1f18:0:101::100 }',
    ]);
    expect(plan.changed).toEqual(['10.0.1.100', '2600:1f18:0:101::100']);
  });

  it('removes an IPv6 address the cloud no longer assigns: its /128 route and its pair', () => {
    const plan = planVpc(new Map([['2600:1f18:0:101::100', 'n-gw-a1']]), new Map());
    expect(plan.routes).toEqual(['route del 2600:1f18:0:101::100/128']);
    expect(plan.nft).toBe('delete element inet vpc eni_sources6 { "n-gw-a1" . 2600:1f18:0:101::100 }\n');
  });

  it('plans nothing when nothing changes', () => {
    const same = new Map([['2600:1f18:0:101::100', 'n-gw-a1']]);
    expect(planVpc(same, new Map(same))).toEqual({ routes: [], nft: '', changed: [] });
  });
});

describe('vpcRuleset', () => {
  it('checks the source of forwarded packets of both families against the ENIs', () => {
    const rules = vpcRuleset('echo');
    expect(rules).toContain('meta nfproto ipv4 iifname != "echo" iifname . ip saddr != @eni_sources');
    expect(rules).toContain('meta nfproto ipv6 iifname != "echo" iifname . ip6 saddr != @eni_sources6');
  });
});
