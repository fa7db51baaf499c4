import { describe, expect, it } from 'vitest';
import { CONDITION, REASON } from '../api/conditions.ts';
import { selectorMatches } from '../kube/label-selector.ts';
import { findCondition, setCondition, setConditions } from './conditions.ts';

const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-01T00:01:00Z');

describe('setCondition', () => {
  it('keeps lastTransitionTime when the status is unchanged, and copies reason, message and generation', () => {
    const first = setCondition(
      undefined,
      {
        type: CONDITION.Ready,
        status: 'False',
        reason: REASON.IPsNotReady,
        message: 'a',
        observedGeneration: 1,
      },
      t0,
    );
    const second = setCondition(
      first,
      {
        type: CONDITION.Ready,
        status: 'False',
        reason: REASON.NodeFailed,
        message: 'b',
        observedGeneration: 2,
      },
      t1,
    );
    expect(second).toEqual([
      {
        type: 'Ready',
        status: 'False',
        reason: 'NodeFailed',
        message: 'b',
        observedGeneration: 2,
        lastTransitionTime: t0.toISOString(),
      },
    ]);
  });

  it('moves lastTransitionTime when the status changes and leaves other conditions alone', () => {
    const start = setConditions(
      undefined,
      [
        { type: CONDITION.Accepted, status: 'True', reason: REASON.Accepted, message: '' },
        { type: CONDITION.Ready, status: 'False', reason: REASON.IPsNotReady, message: '' },
      ],
      t0,
    );
    const next = setCondition(
      start,
      { type: CONDITION.Ready, status: 'True', reason: REASON.AllIPsReady, message: '' },
      t1,
    );
    expect(findCondition(next, CONDITION.Ready)?.lastTransitionTime).toBe(t1.toISOString());
    expect(findCondition(next, CONDITION.Accepted)?.lastTransitionTime).toBe(t0.toISOString());
    expect(start).toHaveLength(2);
    expect(findCondition(start, CONDITION.Ready)?.status).toBe('False');
  });
});

describe('selectorMatches', () => {
  const labels = { team: 'payments', tier: 'prod' };
  it.each([
    [{}, true],
    [{ matchLabels: { team: 'payments' } }, true],
    [{ matchLabels: { team: 'search' } }, false],
    [{ matchExpressions: [{ key: 'tier', operator: 'In' as const, values: ['prod', 'stage'] }] }, true],
    [{ matchExpressions: [{ key: 'tier', operator: 'NotIn' as const, values: ['prod'] }] }, false],
    [{ matchExpressions: [{ key: 'zone', operator: 'NotIn' as const, values: ['a'] }] }, true],
    [{ matchExpressions: [{ key: 'team', operator: 'Exists' as const }] }, true],
    [{ matchExpressions: [{ key: 'team', operator: 'DoesNotExist' as const }] }, false],
    [
      { matchLabels: { team: 'payments' }, matchExpressions: [{ key: 'x', operator: 'Exists' as const }] },
      false,
    ],
  ])('%j -> %s', (selector, expected) => {
    expect(selectorMatches(selector, labels)).toBe(expected);
  });
});
