import { describe, expect, it } from 'vitest';
import { selectorProblems, validateGatewaySpec, validatePolicySpec } from './validate.ts';

describe('selectorProblems (the CRDs refuse the same; for objects stored before)', () => {
  it('names each requirement Kubernetes refuses, and keys and values that are not label syntax', () => {
    expect(
      selectorProblems(
        {
          matchLabels: { '-bad': 'ok', good: 'a b' },
          matchExpressions: [
            { key: 'team', operator: 'NotIn' },
            { key: 'tier', operator: 'Exists', values: ['x'] },
            { key: 'ok', operator: 'In', values: ['a', 'not ok'] },
          ],
        },
        'spec.podSelector',
      ),
    ).toEqual([
      { field: 'spec.podSelector.matchLabels', message: 'key "-bad" is not a label key' },
      { field: 'spec.podSelector.matchLabels', message: '"a b" is not a label value' },
      {
        field: 'spec.podSelector.matchExpressions[0]',
        message: 'operator NotIn needs at least one value (key "team"); it selects nothing until it has one',
      },
      {
        field: 'spec.podSelector.matchExpressions[1]',
        message: 'operator Exists takes no values (key "tier"); it selects nothing until they are removed',
      },
      { field: 'spec.podSelector.matchExpressions[2]', message: '"not ok" is not a label value' },
    ]);
    expect(
      selectorProblems(
        {
          matchLabels: { 'example.com/team': '' },
          matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }],
        },
        'x',
      ),
    ).toEqual([]);
  });

  it("checks a gateway's selectors and a policy's", () => {
    const bad = { matchExpressions: [{ key: 'team', operator: 'NotIn' as const }] };
    expect(
      validateGatewaySpec({ nodeSelector: {}, namespaceSelector: bad, ips: ['10.0.1.10'] }).map(
        (p) => p.field,
      ),
    ).toEqual(['spec.namespaceSelector.matchExpressions[0]']);
    expect(validatePolicySpec({ gatewayName: 'gw', podSelector: bad }).map((p) => p.field)).toEqual([
      'spec.podSelector.matchExpressions[0]',
    ]);
  });

  it('pairs public addresses only with egress IPs of spec.ips', () => {
    const spec = (ip: string) => ({
      nodeSelector: {},
      ips: ['10.0.1.16/28'],
      publicAddresses: [{ ip, address: 'eipalloc-1' }],
    });
    expect(validateGatewaySpec(spec('10.0.1.17'))).toEqual([]);
    expect(validateGatewaySpec(spec('10.0.2.17'))).toEqual([
      {
        field: 'spec.publicAddresses[0].ip',
        message: '"10.0.2.17" is not one of spec.ips: pair public addresses with egress IPs of this gateway',
      },
    ]);
  });

  it('names a pool entry with more than 2^32 addresses', () => {
    expect(validateGatewaySpec({ nodeSelector: {}, ips: ['10.0.0.0/8', '2001:db8::/95'] })).toEqual([
      {
        field: 'spec.ips[1]',
        message:
          '"2001:db8::/95" has 2^33 addresses; one entry may have at most 2^32 (status counts them): use an IPv6 CIDR of /96 or longer, or a range within one /96',
      },
    ]);
  });
});
