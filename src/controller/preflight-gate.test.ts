import { describe, expect, it } from 'vitest';
import type { CloudProvider, NodeRef, PreflightCheck, PreflightCluster } from '../provider/contract.ts';
import type { ClusterFacts } from './cluster-checks.ts';
import { PREFLIGHT_MESSAGE_MAX, PreflightGate, preflightCondition } from './preflight-gate.ts';

const node = (name: string): NodeRef => ({ name, providerID: `x:///${name}` });
const fine: ClusterFacts = {
  podCIDRs: ['10.244.0.0/24'],
  serviceCIDRs: ['10.96.0.0/12'],
  typedCIDRs: [],
  vpcCni: false,
  agentReturnPath: 'tunnel',
};
function provider(answer: () => PreflightCheck[] | Promise<PreflightCheck[]>) {
  const calls: string[][] = [];
  const clusters: (PreflightCluster | undefined)[] = [];
  const p = {
    name: 'x',
    preflight: async (nodes: readonly NodeRef[], _signal?: AbortSignal, cluster?: PreflightCluster) => {
      calls.push(nodes.map((n) => n.name));
      clusters.push(cluster);
      return answer();
    },
  } as unknown as CloudProvider;
  return { p, calls, clusters };
}
/** Facts that count their reads. */
function facts(f: ClusterFacts = fine) {
  const reads = { n: 0 };
  return {
    reads,
    read: async () => {
      reads.n++;
      return f;
    },
  };
}

describe('PreflightGate', () => {
  it('runs when first asked, then only after the interval or when generation or nodes change, and never when it may not', async () => {
    let now = 0;
    const gate = new PreflightGate(1_000, () => now);
    const { p, calls } = provider(() => [{ check: 'c', ok: true, message: 'm' }]);
    const { reads, read } = facts();
    expect(await gate.condition('g', 1, p, [node('a')], false, read)).toBeUndefined();
    expect(await gate.condition('g', 1, p, [node('a')], true, read)).toMatchObject({
      status: 'True',
      observedGeneration: 1,
    });
    now = 999;
    await gate.condition('g', 1, p, [node('a')], true, read);
    expect(calls).toHaveLength(1);
    await gate.condition('g', 2, p, [node('a')], true, read);
    await gate.condition('g', 2, p, [node('a'), node('b')], true, read);
    expect(calls).toEqual([['a'], ['a'], ['a', 'b']]);
    now = 5_000;
    expect(await gate.condition('g', 2, p, [node('a'), node('b')], false, read)).toMatchObject({
      status: 'True',
    });
    expect(calls).toHaveLength(3);
    await gate.condition('g', 2, p, [node('a'), node('b')], true, read);
    expect(calls).toHaveLength(4);
    // The cluster's facts are read for each run, and only then.
    expect(reads.n).toBe(4);
  });

  it('adds the cluster checks before the provider checks, and gives the provider the facts', async () => {
    const gate = new PreflightGate();
    const { p, clusters } = provider(() => [
      { check: 'VPC CNI', node: 'a', ok: false, message: 'eni-1 is managed', fix: 'tag it' },
    ]);
    const missing: ClusterFacts = { ...fine, podCIDRs: [] };
    const failed = await gate.condition('g', 1, p, [node('a')], true, facts(missing).read);
    expect(failed).toMatchObject({ status: 'False', reason: 'PreflightFailed' });
    expect(failed?.message).toMatch(
      /^2 of 2 checks failed: cluster CIDRs: not found: pod CIDRs \(no Node has spec.podCIDRs\).*\(fix: set the chart's agent.clusterCIDRs.*; a: VPC CNI: eni-1 is managed \(fix: tag it\)$/,
    );
    expect(clusters).toEqual([missing]);

    const aws: ClusterFacts = { ...fine, vpcCni: true };
    const { p: q, clusters: given } = provider(() => [{ check: 'c', ok: true, message: 'm' }]);
    expect(await gate.condition('h', 1, q, [node('a')], true, facts(aws).read)).toMatchObject({
      status: 'True',
      message: '2 checks passed',
    });
    expect(given[0]?.vpcCni).toBe(true);
  });

  it('reports a preflight or a read of the facts that throws as Unknown, and a provider without checks as no condition', async () => {
    const gate = new PreflightGate();
    const { p } = provider(() => {
      throw new Error('throttled');
    });
    expect(await gate.condition('g', 1, p, [], true, facts().read)).toMatchObject({
      status: 'Unknown',
      reason: 'PreflightError',
      message: 'the preflight checks could not run: throttled',
    });
    const { p: q, calls } = provider(() => []);
    const broken = async (): Promise<ClusterFacts> => {
      throw new Error('pods is forbidden');
    };
    expect(await gate.condition('h', 1, q, [], true, broken)).toMatchObject({
      status: 'Unknown',
      message: 'the preflight checks could not run: pods is forbidden',
    });
    expect(calls).toHaveLength(0);
    const { reads, read } = facts();
    expect(await gate.condition('i', 1, { name: 'none' } as CloudProvider, [], true, read)).toBeUndefined();
    expect(reads.n).toBe(0);
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

  it('keeps a few nodes’ failures with their fixes whole, and cuts a longer list at PREFLIGHT_MESSAGE_MAX', () => {
    const failing = (n: number): PreflightCheck[] =>
      Array.from({ length: n }, (_, i) => ({
        check: 'source/destination check',
        node: `node-${i}`,
        ok: false,
        message: 'x'.repeat(200),
        fix: 'y'.repeat(100),
      }));
    const few = preflightCondition({ checks: failing(6) }, {}).message;
    expect(few.length).toBeGreaterThan(1000);
    expect(few).toMatch(/node-5: source\/destination check: x+ \(fix: y+\)$/);
    const many = preflightCondition({ checks: failing(30) }, {}).message;
    expect(many).toHaveLength(PREFLIGHT_MESSAGE_MAX);
    expect(many.endsWith('…')).toBe(true);
  });
});
