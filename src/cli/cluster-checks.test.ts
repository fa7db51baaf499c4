import { describe, expect, it } from 'vitest';
import { clusterChecks } from './cluster-checks.ts';

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
