import type { V1Node } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { clusterChecks, clusterFacts } from './cluster-checks.ts';

const node = (name: string, podCIDR?: string): V1Node => ({
  metadata: { name },
  spec: podCIDR ? { podCIDRs: [podCIDR] } : {},
});

describe('clusterFacts', () => {
  it('takes the pod CIDRs of every Node and the CIDRs of every ServiceCIDR, as the agents discover them', () => {
    expect(
      clusterFacts({
        nodes: [node('b', '10.244.1.0/24'), node('gw'), node('a', '10.244.0.0/24')],
        serviceCidrs: {
          state: 'served',
          items: [{ metadata: { name: 'kubernetes' }, spec: { cidrs: ['10.96.0.0/12'] } }],
        },
        awsNodePods: 0,
      }),
    ).toEqual({
      podCIDRs: ['10.244.0.0/24', '10.244.1.0/24'],
      serviceCIDRs: ['10.96.0.0/12'],
      vpcCni: false,
    });
  });

  it('says why no Service CIDRs were listed, and that the VPC CNI runs when an aws-node pod does', () => {
    expect(
      clusterFacts({
        nodes: [],
        serviceCidrs: { state: 'not-served', message: 'not served here' },
        awsNodePods: 3,
      }),
    ).toEqual({ podCIDRs: [], serviceCIDRs: [], serviceCIDRsUnavailable: 'not served here', vpcCni: true });
  });
});

describe('clusterChecks', () => {
  it('passes with pod and Service CIDRs, naming them', () => {
    expect(
      clusterChecks({ podCIDRs: ['10.244.0.0/24'], serviceCIDRs: ['10.96.0.0/12'], vpcCni: false }),
    ).toEqual([{ check: 'cluster CIDRs', ok: true, message: 'pods: 10.244.0.0/24; Services: 10.96.0.0/12' }]);
  });

  it('with the VPC CNI, pods need no podCIDRs (they take VPC addresses)', () => {
    const [check] = clusterChecks({ podCIDRs: [], serviceCIDRs: ['172.20.0.0/16'], vpcCni: true });
    expect(check?.ok).toBe(true);
    expect(check?.message).toContain('agent.clusterCIDRs must list them');
  });

  it('says why no Service CIDRs were found when the API server does not serve them', () => {
    const [check] = clusterChecks({
      podCIDRs: ['10.244.0.0/24'],
      serviceCIDRs: [],
      serviceCIDRsUnavailable: 'not served',
      vpcCni: false,
    });
    expect(check?.ok).toBe(false);
    expect(check?.message).toContain('not found: Service CIDRs (not served)');
  });

  it('names what is missing, with the fix', () => {
    const [check] = clusterChecks({ podCIDRs: [], serviceCIDRs: [], vpcCni: false });
    expect(check?.ok).toBe(false);
    expect(check?.message).toContain(
      'pod CIDRs (no Node has spec.podCIDRs) and Service CIDRs (no ServiceCIDR object)',
    );
    expect(check?.fix).toContain('agent.clusterCIDRs');
  });
});
