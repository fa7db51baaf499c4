import type { V1Node } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { type ClusterFacts, clusterChecks, clusterFacts } from './cluster-checks.ts';

const node = (name: string, podCIDR?: string): V1Node => ({
  metadata: { name },
  spec: podCIDR ? { podCIDRs: [podCIDR] } : {},
});

const EKS_FIX =
  "set the chart's agent.clusterCIDRs to the pod and Service CIDRs (on EKS: the VPC's CIDRs, aws ec2 describe-vpcs " +
  "--vpc-ids <vpc> --query 'Vpcs[0].CidrBlockAssociationSet[].CidrBlock', and aws eks describe-cluster --name " +
  '<cluster> --query cluster.kubernetesNetworkConfig.serviceIpv4Cidr); the chart gives them to the controller ' +
  'too, and cloud-egress doctor takes them as --cluster-cidr';

/** The facts of a cluster: nothing discovered, nothing typed, no VPC CNI, unless `f` says otherwise. */
const facts = (f: Partial<ClusterFacts>): ClusterFacts => ({
  podCIDRs: [],
  serviceCIDRs: [],
  typedCIDRs: [],
  vpcCni: false,
  agentReturnPath: 'tunnel',
  ...f,
});

/** The one cluster check of `f`. */
const check = (f: Partial<ClusterFacts>) => {
  const checks = clusterChecks(facts(f));
  expect(checks).toHaveLength(1);
  return checks[0]!;
};

describe('clusterFacts', () => {
  it('takes the pod CIDRs of every Node, the CIDRs of every ServiceCIDR and the typed CIDRs, as the agents do', () => {
    expect(
      clusterFacts({
        nodes: [node('b', '10.244.1.0/24'), node('gw'), node('a', '10.244.0.0/24')],
        serviceCidrs: {
          state: 'served',
          items: [{ metadata: { name: 'kubernetes' }, spec: { cidrs: ['10.96.0.0/12'] } }],
        },
        awsNodePods: 0,
        typedCIDRs: ['172.20.0.0/16', '10.0.0.0/16', '172.20.0.0/16'],
        agentReturnPath: 'podNetwork',
      }),
    ).toEqual({
      podCIDRs: ['10.244.0.0/24', '10.244.1.0/24'],
      serviceCIDRs: ['10.96.0.0/12'],
      typedCIDRs: ['10.0.0.0/16', '172.20.0.0/16'],
      vpcCni: false,
      agentReturnPath: 'podNetwork',
    });
  });

  it('says why no Service CIDRs were listed, and that the VPC CNI runs when an aws-node pod does', () => {
    expect(
      clusterFacts({
        nodes: [],
        serviceCidrs: { state: 'not-served', message: 'not served here' },
        awsNodePods: 3,
        typedCIDRs: [],
        agentReturnPath: 'tunnel',
      }),
    ).toEqual({
      podCIDRs: [],
      serviceCIDRs: [],
      typedCIDRs: [],
      serviceCIDRsUnavailable: 'not served here',
      vpcCni: true,
      agentReturnPath: 'tunnel',
    });
  });
});

describe('clusterChecks', () => {
  it('with the agents discovering nothing (agent.discoverClusterCIDRs: false), counts only the typed CIDRs', () => {
    const read = (typedCIDRs: string[]) =>
      clusterFacts({
        nodes: [node('a', '10.244.0.0/24')],
        serviceCidrs: {
          state: 'served',
          items: [{ metadata: { name: 'kubernetes' }, spec: { cidrs: ['10.96.0.0/12'] } }],
        },
        awsNodePods: 0,
        typedCIDRs,
        agentReturnPath: 'tunnel',
        agentDiscovery: false,
      });
    expect(read([])).toMatchObject({ podCIDRs: [], serviceCIDRs: [], discoveryOff: true });
    const why = 'the agents do not discover them: agent.discoverClusterCIDRs is false';
    expect(clusterChecks(read([]))).toEqual([
      {
        check: 'cluster CIDRs',
        ok: false,
        message: `not found: pod CIDRs (${why}) and Service CIDRs (${why}); the agents cannot discover them, so a policy with destinations such as 0.0.0.0/0 would send pod-to-pod, Service and DNS traffic through the gateway`,
        fix: EKS_FIX,
      },
    ]);
    expect(clusterChecks(read(['10.244.0.0/16', '10.96.0.0/12']))).toEqual([
      {
        check: 'cluster CIDRs',
        ok: true,
        message: `pods: none discovered (${why}); Services: none discovered (${why}); typed: 10.244.0.0/16, 10.96.0.0/12 (these must include the pod CIDRs and the Service CIDRs)`,
      },
    ]);
  });

  it('passes with pod and Service CIDRs discovered, naming them and that none were typed', () => {
    expect(clusterChecks(facts({ podCIDRs: ['10.244.0.0/24'], serviceCIDRs: ['10.96.0.0/12'] }))).toEqual([
      {
        check: 'cluster CIDRs',
        ok: true,
        message: 'pods: 10.244.0.0/24 (discovered); Services: 10.96.0.0/12 (discovered); typed: none',
      },
    ]);
  });

  it('with everything discovered, names the typed CIDRs too, with nothing they must include', () => {
    expect(
      check({ podCIDRs: ['10.244.0.0/24'], serviceCIDRs: ['10.96.0.0/12'], typedCIDRs: ['10.42.0.0/16'] }),
    ).toEqual({
      check: 'cluster CIDRs',
      ok: true,
      message: 'pods: 10.244.0.0/24 (discovered); Services: 10.96.0.0/12 (discovered); typed: 10.42.0.0/16',
    });
  });

  it('with the VPC CNI and none typed, passes on the Service CIDRs but tells to list the VPC CIDRs', () => {
    expect(check({ serviceCIDRs: ['172.20.0.0/16'], vpcCni: true })).toEqual({
      check: 'cluster CIDRs',
      ok: true,
      message:
        "pods: the VPC's CIDRs (the VPC CNI gives pods VPC addresses; the agents do not discover them: " +
        'agent.clusterCIDRs must list them); Services: 172.20.0.0/16 (discovered); typed: none',
    });
  });

  it('with the VPC CNI and CIDRs typed, does not claim they are the VPC CIDRs: they must include them', () => {
    expect(check({ serviceCIDRs: ['172.20.0.0/16'], typedCIDRs: ['10.0.0.0/16'], vpcCni: true })).toEqual({
      check: 'cluster CIDRs',
      ok: true,
      message:
        "pods: the VPC's CIDRs (the VPC CNI gives pods VPC addresses; the agents do not discover them); " +
        "Services: 172.20.0.0/16 (discovered); typed: 10.0.0.0/16 (with the VPC CNI these must include the VPC's CIDRs)",
    });
  });

  it('EKS before 1.33 with the VPC CNI: typed CIDRs stand for the Service CIDRs and the VPC CIDRs', () => {
    const unserved = { serviceCIDRsUnavailable: 'the ServiceCIDR API is not served', vpcCni: true };
    expect(check(unserved)).toMatchObject({
      ok: false,
      message: expect.stringMatching(
        /^not found: Service CIDRs \(the ServiceCIDR API is not served\); the agents/,
      ),
      fix: EKS_FIX,
    });
    expect(check({ ...unserved, typedCIDRs: ['10.0.0.0/16', '172.20.0.0/16'] })).toEqual({
      check: 'cluster CIDRs',
      ok: true,
      message:
        "pods: the VPC's CIDRs (the VPC CNI gives pods VPC addresses; the agents do not discover them); " +
        'Services: none discovered (the ServiceCIDR API is not served); typed: 10.0.0.0/16, 172.20.0.0/16 ' +
        "(these must include the Service CIDRs and, with the VPC CNI, the VPC's CIDRs)",
    });
  });

  it('typed CIDRs stand for pod CIDRs no Node lists', () => {
    expect(check({ serviceCIDRs: ['10.96.0.0/12'], typedCIDRs: ['10.42.0.0/16'] })).toEqual({
      check: 'cluster CIDRs',
      ok: true,
      message:
        'pods: none discovered (no Node has spec.podCIDRs); Services: 10.96.0.0/12 (discovered); ' +
        'typed: 10.42.0.0/16 (these must include the pod CIDRs)',
    });
  });

  it('typed CIDRs within the discovered ones cannot stand for those not found', () => {
    const failed = check({
      podCIDRs: ['10.244.0.0/24', '10.244.1.0/24'],
      typedCIDRs: ['10.244.1.0/24', '10.244.1.0/25'],
    });
    expect(failed).toEqual({
      check: 'cluster CIDRs',
      ok: false,
      message:
        'not found: Service CIDRs (no ServiceCIDR object), and the typed CIDRs (10.244.1.0/24, 10.244.1.0/25) lie ' +
        'within the discovered ones, so they cannot stand for them; the agents cannot discover them, so a policy ' +
        'with destinations such as 0.0.0.0/0 would send pod-to-pod, Service and DNS traffic through the gateway',
      fix: EKS_FIX,
    });
    // One more, outside them, may be the Service CIDR.
    expect(
      check({ podCIDRs: ['10.244.0.0/24'], typedCIDRs: ['10.244.0.0/24', '10.96.0.0/12'] }),
    ).toMatchObject({
      ok: true,
      message: expect.stringMatching(
        /Services: none discovered \(no ServiceCIDR object\); typed: 10\.244\.0\.0\/24, 10\.96\.0\.0\/12 \(these must include the Service CIDRs\)$/,
      ),
    });
  });

  it('a typed CIDR of the other IP family is not within the discovered ones', () => {
    expect(check({ podCIDRs: ['10.244.0.0/16'], typedCIDRs: ['fd00:10:96::/112'] }).ok).toBe(true);
  });

  it('says why no Service CIDRs were found when the API server does not serve them', () => {
    const failed = check({ podCIDRs: ['10.244.0.0/24'], serviceCIDRsUnavailable: 'not served' });
    expect(failed.ok).toBe(false);
    expect(failed.message).toMatch(/^not found: Service CIDRs \(not served\); the agents cannot/);
  });

  it('names what is missing, with the fix', () => {
    const failed = check({});
    expect(failed.ok).toBe(false);
    expect(failed.message).toContain(
      'not found: pod CIDRs (no Node has spec.podCIDRs) and Service CIDRs (no ServiceCIDR object); the agents',
    );
    expect(failed.fix).toBe(EKS_FIX);
  });
});
