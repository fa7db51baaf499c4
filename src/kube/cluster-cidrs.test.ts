import type { V1Node, V1ServiceCIDR } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { clusterCidrs, nodePodCidrs, serviceCidrs } from './cluster-cidrs.ts';

const node = (name: string, spec: V1Node['spec'] = {}): V1Node => ({ metadata: { name }, spec });
const serviceCidr = (name: string, cidrs: string[]): V1ServiceCIDR => ({
  metadata: { name },
  spec: { cidrs },
});

describe('nodePodCidrs', () => {
  it('takes spec.podCIDRs, else spec.podCIDR, each once and sorted; nodes without any add nothing', () => {
    expect(
      nodePodCidrs([
        node('b', { podCIDRs: ['10.244.2.0/24', 'fd00:2::/64'], podCIDR: '10.244.2.0/24' }),
        node('a', { podCIDR: '10.244.1.0/24' }),
        node('c'),
        { metadata: { name: 'd' } },
        node('e', { podCIDRs: [], podCIDR: '10.244.1.0/24' }),
      ]),
    ).toEqual(['10.244.1.0/24', '10.244.2.0/24', 'fd00:2::/64']);
  });
});

describe('serviceCidrs', () => {
  it('takes every object spec.cidrs, each once and sorted', () => {
    expect(
      serviceCidrs([
        serviceCidr('kubernetes', ['10.96.0.0/12', 'fd00:10::/108']),
        serviceCidr('extra', ['10.100.0.0/16', '10.96.0.0/12']),
        { metadata: { name: 'empty' } },
      ]),
    ).toEqual(['10.100.0.0/16', '10.96.0.0/12', 'fd00:10::/108']);
  });
});

describe('clusterCidrs', () => {
  it('is the union of the configured, node and ServiceCIDR CIDRs, and says what each source gave', () => {
    const result = clusterCidrs({
      configured: ['10.0.0.0/16', '10.244.1.0/24'],
      nodes: [node('a', { podCIDR: '10.244.1.0/24' }), node('b', { podCIDR: '10.244.2.0/24' })],
      serviceCidrs: [serviceCidr('kubernetes', ['10.96.0.0/12'])],
    });
    expect(result.cidrs).toEqual(['10.0.0.0/16', '10.244.1.0/24', '10.244.2.0/24', '10.96.0.0/12']);
    expect(result.bySource).toEqual({
      configured: ['10.0.0.0/16', '10.244.1.0/24'],
      'node-podcidr': ['10.244.1.0/24', '10.244.2.0/24'],
      servicecidr: ['10.96.0.0/12'],
    });
  });

  it('with nothing discovered it is what was configured', () => {
    expect(clusterCidrs({ configured: ['10.42.0.0/16'], nodes: [node('a')], serviceCidrs: [] })).toEqual({
      cidrs: ['10.42.0.0/16'],
      bySource: { configured: ['10.42.0.0/16'], 'node-podcidr': [], servicecidr: [] },
    });
  });
});
