import type { V1Node, V1Taint } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { NODE_MAINTENANCE } from '../api/annotations.ts';
import { nodeDisruption, nodeLeaving } from './node-disruption.ts';

const node = (spec: V1Node['spec'] = {}, metadata: V1Node['metadata'] = {}): V1Node => ({
  metadata: { name: 'n', ...metadata },
  spec,
});
const tainted = (...taints: V1Taint[]) => node({ taints });

describe('nodeDisruption', () => {
  it('an ordinary node is not disrupted', () => {
    expect(nodeDisruption(node())).toBeUndefined();
    expect(
      nodeDisruption(tainted({ key: 'dedicated', value: 'egress', effect: 'NoSchedule' })),
    ).toBeUndefined();
    expect(nodeDisruption(node({}, { annotations: { [NODE_MAINTENANCE]: 'false' } }))).toBeUndefined();
  });

  // The taints as the tools write them (kubectl/kube-controller-manager, cluster-autoscaler, Karpenter).
  it.each([
    ['kubectl cordon', node({ unschedulable: true }), 'cordoned', 'spec.unschedulable (cordoned)'],
    [
      'the node lifecycle controller',
      tainted({ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule', timeAdded: new Date(0) }),
      'cordoned',
      'taint node.kubernetes.io/unschedulable:NoSchedule',
    ],
    [
      'the Cluster Autoscaler (scale-down)',
      tainted({ key: 'ToBeDeletedByClusterAutoscaler', value: '1764640000', effect: 'NoSchedule' }),
      'autoscaler',
      'taint ToBeDeletedByClusterAutoscaler=1764640000:NoSchedule',
    ],
    [
      'Karpenter v1',
      tainted({ key: 'karpenter.sh/disrupted', effect: 'NoSchedule' }),
      'karpenter',
      'taint karpenter.sh/disrupted:NoSchedule',
    ],
    [
      'Karpenter before v1',
      tainted({ key: 'karpenter.sh/disruption', value: 'disrupting', effect: 'NoSchedule' }),
      'karpenter',
      'taint karpenter.sh/disruption=disrupting:NoSchedule',
    ],
    [
      'a shut-down node',
      tainted({ key: 'node.kubernetes.io/out-of-service', value: 'nodeshutdown', effect: 'NoExecute' }),
      'shutdown',
      'taint node.kubernetes.io/out-of-service=nodeshutdown:NoExecute',
    ],
    [
      'a deletion',
      node({}, { deletionTimestamp: new Date('2026-01-01T00:00:00Z') }),
      'deleting',
      'the Node is being deleted',
    ],
    [
      'an operator, by hand',
      node({}, { annotations: { [NODE_MAINTENANCE]: 'kernel upgrade' } }),
      'maintenance',
      `annotation ${NODE_MAINTENANCE}=kernel upgrade`,
    ],
  ])('%s: the node is leaving', (_, n, kind, signal) => {
    expect(nodeDisruption(n)).toEqual({ kind, effect: 'leaving', signal });
    expect(nodeLeaving(n)).toBe(true);
  });

  it('Karpenter before v1: only the value "disrupting" marks a disruption', () => {
    expect(
      nodeDisruption(tainted({ key: 'karpenter.sh/disruption', value: 'other', effect: 'NoSchedule' })),
    ).toBeUndefined();
  });

  it("the Cluster Autoscaler's deletion candidate is soft: avoided, not left", () => {
    const n = tainted({
      key: 'DeletionCandidateOfClusterAutoscaler',
      value: '1764640000',
      effect: 'PreferNoSchedule',
    });
    expect(nodeDisruption(n)).toEqual({
      kind: 'candidate',
      effect: 'avoid',
      signal: 'taint DeletionCandidateOfClusterAutoscaler=1764640000:PreferNoSchedule',
    });
    expect(nodeLeaving(n)).toBe(false);
  });

  it('a hard signal wins over the soft one', () => {
    const n = tainted(
      { key: 'DeletionCandidateOfClusterAutoscaler', value: '1', effect: 'PreferNoSchedule' },
      { key: 'ToBeDeletedByClusterAutoscaler', value: '2', effect: 'NoSchedule' },
    );
    expect(nodeDisruption(n)?.kind).toBe('autoscaler');
  });
});
