import type { KubernetesListObject, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ClusterFactsError } from './cluster-facts.ts';
import { createVpcCniProbe } from './vpc-cni-probe.ts';

const pods = (n: number): KubernetesListObject<V1Pod> => ({
  apiVersion: 'v1',
  kind: 'List',
  items: Array.from({ length: n }, (_, i) => ({ metadata: { name: `aws-node-${i}` } })),
});

describe('createVpcCniProbe', () => {
  it('lists the aws-node pods of kube-system, keeps the answer for the interval, then lists again', async () => {
    let clock = 0;
    const asked: string[] = [];
    let running = 1;
    const probe = createVpcCniProbe(
      {
        agentPods: async (namespace, selector) => {
          asked.push(`${namespace} ${selector}`);
          return pods(running);
        },
      },
      1000,
      () => clock,
    );
    expect(await probe.vpcCni()).toBe(true);
    running = 0;
    clock = 999;
    expect(await probe.vpcCni()).toBe(true);
    expect(asked).toEqual(['kube-system k8s-app=aws-node']);
    clock = 1000;
    expect(await probe.vpcCni()).toBe(false);
    expect(asked).toHaveLength(2);
  });

  it('shares one list among callers at once, and keeps no failed answer', async () => {
    let calls = 0;
    let fail = true;
    const probe = createVpcCniProbe(
      {
        agentPods: async () => {
          calls += 1;
          if (fail) throw new Error('pods is forbidden');
          return pods(0);
        },
      },
      60_000,
    );
    const failed = await Promise.allSettled([probe.vpcCni(), probe.vpcCni()]);
    expect(calls).toBe(1);
    for (const f of failed) {
      expect(f).toMatchObject({ status: 'rejected', reason: expect.any(ClusterFactsError) });
    }
    fail = false;
    expect(await probe.vpcCni()).toBe(false);
    expect(calls).toBe(2);
  });
});
