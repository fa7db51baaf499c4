import { describe, expect, it } from 'vitest';
import { clusterPolicy, egressPolicy, inputs, pod } from '../../test/support/policy-fixtures.ts';
import type { AnyEgressPolicy } from '../api/index.ts';
import { policyKey } from '../kube/objects.ts';
import { comparePolicies, firstMatchOrder, policySelects } from './policy-match.ts';

const at = <P extends AnyEgressPolicy>(
  p: P,
  creationTimestamp: string | undefined,
  name = p.metadata.name,
  namespace = p.metadata.namespace,
): P => {
  const { creationTimestamp: _, ...metadata } = p.metadata;
  return {
    ...p,
    metadata: {
      ...metadata,
      name,
      ...(namespace ? { namespace } : {}),
      ...(creationTimestamp ? { creationTimestamp } : {}),
    },
  };
};
const { namespaceLabels } = inputs();

describe('firstMatchOrder', () => {
  it('puts EgressPolicies before ClusterEgressPolicies, then the oldest first, then by key', () => {
    const clusterOld = at(clusterPolicy([]), '2025-01-01T00:00:00Z', 'old');
    const clusterB = at(clusterPolicy([]), '2026-02-01T00:00:00Z', 'b');
    const clusterA = at(clusterPolicy([]), '2026-02-01T00:00:00Z', 'a');
    const nsNew = at(egressPolicy([]), '2026-03-01T00:00:00Z', 'new');
    const nsOld = at(egressPolicy([]), '2026-01-01T00:00:00Z', 'z');
    const nsLab = at(egressPolicy([]), '2026-01-01T00:00:00Z', 'a', 'lab');
    const nsShop = at(egressPolicy([]), '2026-01-01T00:00:00Z', 'a', 'shop');
    const given = [clusterB, nsNew, clusterOld, nsShop, clusterA, nsOld, nsLab];
    expect(firstMatchOrder(given).map(policyKey)).toEqual([
      'EgressPolicy/lab/a',
      'EgressPolicy/shop/a',
      'EgressPolicy/shop/z',
      'EgressPolicy/shop/new',
      'ClusterEgressPolicy/old',
      'ClusterEgressPolicy/a',
      'ClusterEgressPolicy/b',
    ]);
    // A new array; the input keeps its order.
    expect(given[0]).toBe(clusterB);
  });

  it('gives the same order whatever order the policies come in', () => {
    const policies = [
      at(egressPolicy([]), '2026-01-01T00:00:00Z', 'b'),
      at(egressPolicy([]), '2026-01-01T00:00:00Z', 'a'),
      at(clusterPolicy([]), '2026-01-01T00:00:00Z', 'c'),
    ];
    const once = firstMatchOrder(policies).map(policyKey);
    expect(firstMatchOrder([...policies].reverse()).map(policyKey)).toEqual(once);
    expect(firstMatchOrder([policies[2]!, policies[0]!, policies[1]!]).map(policyKey)).toEqual(once);
  });

  it('sorts a policy without a creation timestamp before dated ones of its kind', () => {
    const undated = at(egressPolicy([]), undefined, 'undated');
    const dated = at(egressPolicy([]), '2020-01-01T00:00:00Z', 'dated');
    expect(comparePolicies(undated, dated)).toBeLessThan(0);
    expect(comparePolicies(dated, undated)).toBeGreaterThan(0);
    expect(comparePolicies(dated, dated)).toBe(0);
    // The kind still comes first.
    expect(comparePolicies(at(clusterPolicy([]), undefined), dated)).toBeGreaterThan(0);
  });
});

describe('policySelects', () => {
  it('an EgressPolicy selects pods of its own namespace whose labels match its pod selector', () => {
    const p = egressPolicy([]); // namespace shop, app=api
    expect(policySelects(p, pod('a', '10.244.1.10'), namespaceLabels)).toBe(true);
    expect(policySelects(p, pod('a', '10.244.1.10', { app: 'web' }), namespaceLabels)).toBe(false);
    expect(policySelects(p, pod('a', '10.244.1.10', { app: 'api' }, 'lab'), namespaceLabels)).toBe(false);
  });

  it('an empty pod selector selects every pod of the namespace', () => {
    const all = egressPolicy([], { podSelector: {} });
    expect(policySelects(all, pod('a', '10.244.1.10', {}), namespaceLabels)).toBe(true);
    expect(policySelects(all, pod('a', '10.244.1.10', {}, 'lab'), namespaceLabels)).toBe(false);
  });

  it('a ClusterEgressPolicy selects by namespace labels, then pod labels', () => {
    const p = clusterPolicy([]); // namespaces team=pay, pods app=api
    expect(policySelects(p, pod('a', '10.244.1.10'), namespaceLabels)).toBe(true); // shop: team=pay
    expect(policySelects(p, pod('a', '10.244.1.10', { app: 'api' }, 'lab'), namespaceLabels)).toBe(false);
    expect(policySelects(p, pod('a', '10.244.1.10', { app: 'web' }), namespaceLabels)).toBe(false);
    // A namespace the agent has no labels for matches only a selector that needs none.
    expect(policySelects(p, pod('a', '10.244.1.10', { app: 'api' }, 'unknown'), namespaceLabels)).toBe(false);
    const anyNamespace = { ...p, spec: { ...p.spec, namespaceSelector: {} } };
    expect(
      policySelects(anyNamespace, pod('a', '10.244.1.10', { app: 'api' }, 'unknown'), namespaceLabels),
    ).toBe(true);
  });

  it('reads match expressions of both selectors', () => {
    const p = clusterPolicy([]);
    const expr = {
      ...p,
      spec: {
        ...p.spec,
        namespaceSelector: {
          matchExpressions: [{ key: 'team', operator: 'NotIn' as const, values: ['pay'] }],
        },
        podSelector: { matchExpressions: [{ key: 'app', operator: 'Exists' as const }] },
      },
    };
    expect(policySelects(expr, pod('a', '10.244.1.10', { app: 'x' }, 'lab'), namespaceLabels)).toBe(true);
    expect(policySelects(expr, pod('a', '10.244.1.10', {}, 'lab'), namespaceLabels)).toBe(false);
    expect(policySelects(expr, pod('a', '10.244.1.10', { app: 'x' }, 'shop'), namespaceLabels)).toBe(false);
  });
});
