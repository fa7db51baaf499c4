import { describe, expect, it } from 'vitest';
import type { CloudProvider, NodeRef, PreflightCheck } from '../provider/contract.ts';
import { PreflightGate, preflightCondition } from './preflight-gate.ts';

const node = (name: string): NodeRef => ({ name, providerID: `x:///${name}` });
function provider(answer: () => PreflightCheck[] | Promise<PreflightCheck[]>) {
  const calls: string[][] = [];
  const p = {
    name: 'x',
    preflight: async (nodes: readonly NodeRef[]) => {
      calls.push(nodes.map((n) => n.name));
      return answer();
    },
  } as unknown as CloudProvider;
  return { p, calls };
}

describe('PreflightGate', () => {
  it('runs when first asked, then only after the interval or when generation or nodes change, and never when it may not', async () => {
    let now = 0;
    const gate = new PreflightGate(1_000, () => now);
    const { p, calls } = provider(() => [{ check: 'c', ok: true, message: 'm' }]);
    expect(await gate.condition('g', 1, p, [node('a')], false)).toBeUndefined();
    expect(await gate.condition('g', 1, p, [node('a')], true)).toMatchObject({
      status: 'True',
      observedGeneration: 1,
    });
    now = 999;
    await gate.condition('g', 1, p, [node('a')], true);
    expect(calls).toHaveLength(1);
    await gate.condition('g', 2, p, [node('a')], true);
    await gate.condition('g', 2, p, [node('a'), node('b')], true);
    expect(calls).toEqual([['a'], ['a'], ['a', 'b']]);
    now = 5_000;
    expect(await gate.condition('g', 2, p, [node('a'), node('b')], false)).toMatchObject({ status: 'True' });
    expect(calls).toHaveLength(3);
    await gate.condition('g', 2, p, [node('a'), node('b')], true);
    expect(calls).toHaveLength(4);
  });

  it('reports a preflight that throws as Unknown, and a provider without checks as no condition', async () => {
    const gate = new PreflightGate();
    const { p } = provider(() => {
      throw new Error('throttled');
    });
    expect(await gate.condition('g', 1, p, [], true)).toMatchObject({
      status: 'Unknown',
      reason: 'PreflightError',
    });
    expect(await gate.condition('h', 1, { name: 'none' } as CloudProvider, [], true)).toBeUndefined();
  });
});

describe('preflightCondition', () => {
  it('lists each failed check with its node and fix', () => {
    const c = preflightCondition(
      {
        checks: [
          { check: 'a', ok: true, message: 'fine' },
          { check: 'permission P', node: 'n1', ok: false, message: 'lacks P', fix: 'grant P' },
        ],
      },
      {},
    );
    expect(c).toMatchObject({
      status: 'False',
      reason: 'PreflightFailed',
      message: '1 of 2 checks failed: n1: permission P: lacks P (fix: grant P)',
    });
  });
});
