import { describe, expect, it } from 'vitest';
import { selectorMatches } from './label-selector.ts';

describe('selectorMatches', () => {
  const labels = { team: 'a', tier: 'web' };
  it('ANDs matchLabels and matchExpressions; {} selects everything', () => {
    expect(selectorMatches({}, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { team: 'a' } }, labels)).toBe(true);
    expect(
      selectorMatches(
        {
          matchLabels: { team: 'a' },
          matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['web'] }],
        },
        labels,
      ),
    ).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'x', operator: 'DoesNotExist' }] }, labels)).toBe(
      true,
    );
  });

  it('selects nothing with a requirement Kubernetes refuses (stored before the CRD refused it)', () => {
    for (const req of [
      { key: 'team', operator: 'NotIn' as const },
      { key: 'team', operator: 'NotIn' as const, values: [] },
      { key: 'team', operator: 'In' as const, values: [] },
      { key: 'team', operator: 'Exists' as const, values: ['a'] },
      { key: 'x', operator: 'DoesNotExist' as const, values: ['a'] },
    ]) {
      expect(selectorMatches({ matchExpressions: [req] }, labels), JSON.stringify(req)).toBe(false);
      expect(selectorMatches({ matchExpressions: [req] }, {}), JSON.stringify(req)).toBe(false);
    }
  });
});
