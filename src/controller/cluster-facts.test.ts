import type { KubernetesListObject, KubernetesObject, V1Pod, V1ServiceCIDR } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { type ClusterFactLists, ClusterFactsError, readClusterFacts } from './cluster-facts.ts';

const list = <T extends KubernetesObject>(items: T[]): KubernetesListObject<T> => ({
  apiVersion: 'v1',
  kind: 'List',
  items,
});

describe('readClusterFacts', () => {
  it('lists the aws-node pods of kube-system and the ServiceCIDRs, and takes the pod CIDRs from the Nodes given and the typed CIDRs', async () => {
    const asked: string[] = [];
    const lists: ClusterFactLists = {
      agentPods: async (namespace, selector) => {
        asked.push(`${namespace} ${selector}`);
        return list<V1Pod>([{ metadata: { name: 'aws-node-1' } }]);
      },
      serviceCIDRs: async () =>
        list<V1ServiceCIDR>([{ metadata: { name: 'kubernetes' }, spec: { cidrs: ['172.20.0.0/16'] } }]),
    };
    const facts = await readClusterFacts(
      [{ metadata: { name: 'n' }, spec: { podCIDR: '10.244.0.0/24' } }],
      lists,
      { typedCIDRs: ['10.0.0.0/16'], returnPath: 'podNetwork', discovery: true },
    );
    expect(asked).toEqual(['kube-system k8s-app=aws-node']);
    expect(facts).toEqual({
      podCIDRs: ['10.244.0.0/24'],
      serviceCIDRs: ['172.20.0.0/16'],
      typedCIDRs: ['10.0.0.0/16'],
      vpcCni: true,
      agentReturnPath: 'podNetwork',
    });
  });

  it('throws a ClusterFactsError with the API error as cause when the pods cannot be listed', async () => {
    const denied = new Error('pods is forbidden');
    const lists: ClusterFactLists = {
      agentPods: async () => {
        throw denied;
      },
      serviceCIDRs: async () => list<V1ServiceCIDR>([]),
    };
    const err = await readClusterFacts([], lists, {
      typedCIDRs: [],
      returnPath: 'tunnel',
      discovery: true,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterFactsError);
    expect((err as Error).message).toContain('k8s-app=aws-node in kube-system');
    expect((err as Error).message).toContain('pods is forbidden');
    expect((err as Error).cause).toBe(denied);
  });
});
