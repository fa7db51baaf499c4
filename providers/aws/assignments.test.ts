import { describe, expect, it } from 'vitest';
import { assignmentsOn, eniStateOf } from './assignments.ts';
import type { SubnetView } from './ec2-reader.ts';
import { type EniView, eniView, ownershipTags } from './eni.ts';

/** An ENI as DescribeNetworkInterfaces returns it (the first IP primary), parsed. */
const eni = (id: string, ipv4: string[], subnetId = 'subnet-1'): EniView =>
  eniView({
    NetworkInterfaceId: id,
    SubnetId: subnetId,
    PrivateIpAddresses: ipv4.map((ip, i) => ({ PrivateIpAddress: ip, Primary: i === 0 })),
  });
const subnet = (id: string, claims: Record<string, string[]>): SubnetView => ({
  id,
  cidrs: ['10.0.1.0/24'],
  tags: new Map(
    Object.entries(claims).flatMap(([owner, ips]) => ownershipTags(owner, ips).map((t) => [t.Key, t.Value])),
  ),
});

describe('eniStateOf', () => {
  const enis = new Map([
    ['eni-1', eni('eni-1', ['10.0.1.5', '10.0.1.20'])],
    ['eni-2', eni('eni-2', ['10.0.2.5'], 'subnet-gone')],
  ]);
  const subnets = new Map([['subnet-1', subnet('subnet-1', { me: ['10.0.1.20'], other: ['10.0.1.30'] })]]);

  it("pairs the ENI with the owner's claims in its subnet", () => {
    const state = eniStateOf('eni-1', enis, subnets, 'me');
    expect(state?.eni.id).toBe('eni-1');
    expect([...(state?.claims ?? [])]).toEqual(['10.0.1.20']);
  });

  it('is undefined for an ENI or a subnet missing from the answer', () => {
    expect(eniStateOf('eni-9', enis, subnets, 'me')).toBeUndefined();
    expect(eniStateOf('eni-2', enis, subnets, 'me')).toBeUndefined();
  });
});

describe('assignmentsOn', () => {
  const a = eni('eni-a', ['10.0.1.5', '10.0.1.22', '10.0.1.21', '10.0.1.30']);
  const claims = new Set(['10.0.1.5', '10.0.1.21', '10.0.1.22', '10.0.1.99']);

  it('lists the owned IPs sorted (not the primary, not unclaimed ones, not claimed ones elsewhere)', () => {
    expect(assignmentsOn('gw-a', { eni: a, claims }, [])).toEqual([
      { ip: '10.0.1.21', node: 'gw-a', interfaceId: 'eni-a' },
      { ip: '10.0.1.22', node: 'gw-a', interfaceId: 'eni-a' },
    ]);
  });

  it('takes the Elastic IP associated with that IP on that ENI only, with its public IP', () => {
    const addresses = [
      { AllocationId: 'eipalloc-other', NetworkInterfaceId: 'eni-b', PrivateIpAddress: '10.0.1.21' },
      {
        AllocationId: 'eipalloc-1',
        NetworkInterfaceId: 'eni-a',
        PrivateIpAddress: '10.0.1.22',
        PublicIp: '203.0.113.200',
      },
      { AllocationId: 'eipalloc-primary', NetworkInterfaceId: 'eni-a', PrivateIpAddress: '10.0.1.5' },
    ];
    expect(assignmentsOn('gw-a', { eni: a, claims }, addresses)).toEqual([
      { ip: '10.0.1.21', node: 'gw-a', interfaceId: 'eni-a' },
      {
        ip: '10.0.1.22',
        node: 'gw-a',
        interfaceId: 'eni-a',
        publicAddress: 'eipalloc-1',
        publicIp: '203.0.113.200',
      },
    ]);
  });
});
