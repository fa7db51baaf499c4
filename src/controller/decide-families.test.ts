// The controller's decisions for a gateway whose provider places IPv4 only (GCP): plan, policy and gateway status.
import type { V1Node } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { gcpProvider } from '../../providers/gcp/descriptor.ts';
import { REASON } from '../api/conditions.ts';
import type { EgressGateway } from '../api/egress-gateway.ts';
import type { EgressPolicy } from '../api/egress-policy.ts';
import { decideGatewayStatus } from './decide-gateway-status.ts';
import { decidePlan, type NodeNetworkResult } from './decide-plan.ts';
import { decidePolicyStatuses } from './decide-policy-status.ts';
import { type ServedFamilies, servedFamilies } from './served-families.ts';

const now = new Date('2026-01-01T00:00:00Z');
const gcp = servedFamilies(gcpProvider);
const names = ['n1', 'n2'];
const nodes: V1Node[] = names.map((name) => ({
  metadata: { name, labels: { egress: 'true' } },
  spec: { providerID: `gce://p/z1/${name}` },
  status: { conditions: [{ type: 'Ready', status: 'True' }] },
}));
// Dual-stack subnets on the nodes: only the provider's families keep an IPv6 IP off them.
const networks = new Map<string, NodeNetworkResult>(
  names.map((name) => [
    name,
    {
      ok: true,
      network: {
        node: name,
        interfaceId: `${name}/nic0`,
        zone: 'z1',
        subnets: ['10.1.1.0/24', 'fd00:ec::/64'],
        reservedIPs: [],
        ownedIPs: [],
        freeSlots: 10,
      },
    },
  ]),
);
const gateway: EgressGateway = {
  apiVersion: 'cloudegress.io/v1alpha1',
  kind: 'EgressGateway',
  metadata: { name: 'gw', generation: 1 },
  spec: {
    nodeSelector: { matchLabels: { egress: 'true' } },
    ips: ['10.1.1.10-10.1.1.13', 'fd00:ec::100/126'],
  },
};
const policy = (name: string, spec: Partial<EgressPolicy['spec']>): EgressPolicy => ({
  apiVersion: 'cloudegress.io/v1alpha1',
  kind: 'EgressPolicy',
  metadata: { name, namespace: 'ns', generation: 1, creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { gatewayName: 'gw', podSelector: {}, ...spec },
});
const dual = policy('dual', { count: 1, ipFamilies: ['IPv4', 'IPv6'] });
const explicit = policy('v6', { egressIPs: ['fd00:ec::101'] });

const decide = (served?: ServedFamilies) => {
  const decision = decidePlan({
    gateway,
    members: nodes,
    networks,
    healthy: () => true,
    policies: [dual, explicit],
    otherPolicies: [],
    otherGateways: [],
    nodeAddresses: new Map(),
    subnetReserved: { first: 0, last: 0 },
    current: [],
    refs: new Map(names.map((name) => [name, { name, providerID: `gce://p/z1/${name}` }])),
    cloudAllocatedIPs: [],
    ...(served ? { served } : {}),
  });
  const [dualStatus, v6Status] = decidePolicyStatuses(decision, [dual, explicit], 'final', new Map(), now);
  return { decision, dualStatus: dualStatus!, v6Status: v6Status! };
};
const condition = (status: { conditions?: { type: string; message: string }[] }, type: string) =>
  status.conditions?.find((c) => c.type === type);

describe('a gateway whose provider places IPv4 only (GCP)', () => {
  it('hands out no IPv6 IP; a dual-stack policy keeps its IPv4 IP and is not Ready, saying why', () => {
    const { decision, dualStatus } = decide(gcp);
    expect(decision.plan.placements.map((p) => p.ip)).toEqual(['10.1.1.10']);
    expect(decision.changes.flatMap((c) => (c.kind === 'assign' ? [c.ip] : []))).toEqual(['10.1.1.10']);
    expect(dualStatus.assignments?.map((a) => [a.ip, a.state, a.reason])).toEqual([
      ['10.1.1.10', 'Ready', undefined],
      [undefined, 'Failed', REASON.IPv6NotSupported],
    ]);
    // Nothing claims IPv6 is served: the IPv6 column stays empty.
    expect(dualStatus.ipv6).toBe('');
    expect(dualStatus.ipv4).toBe('10.1.1.10');
    const ready = condition(dualStatus, 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: REASON.IPv6NotSupported });
    expect(ready?.message).toBe(
      `1 of 2 egress IPs are Ready; EgressGateway "gw" hands out no IPv6 IPs: ${gcp.refused.get(6)}; spec.ipFamilies asks for 1 of them, so the policy's IPv6 traffic to its destinations is dropped (never sent from the node's own address): drop IPv6 from spec.ipFamilies, or use a gateway whose provider places IPv6`,
    );
    expect(ready?.message).toContain('GCP alias IP ranges carry IPv4 only');
    expect(condition(dualStatus, 'Degraded')).toMatchObject({
      status: 'True',
      reason: REASON.IPv6NotSupported,
    });
  });

  it('refuses an explicit IPv6 egress IP, naming the provider and why', () => {
    const { v6Status } = decide(gcp);
    expect(v6Status.assignments?.map((a) => [a.ip, a.state, a.reason])).toEqual([
      ['fd00:ec::101', 'Failed', REASON.IPv6NotSupported],
    ]);
    expect(condition(v6Status, 'Ready')).toMatchObject({
      status: 'False',
      reason: REASON.IPv6NotSupported,
      message: expect.stringContaining(
        'fd00:ec::101 is an IPv6 address, and provider gcp places IPv4 egress IPs only (GCP alias IP ranges carry IPv4 only',
      ),
    });
  });

  it('counts only the IPv4 part of the pool in ipsTotal, and says the IPv6 entries are not handed out', () => {
    const { decision } = decide(gcp);
    const status = decideGatewayStatus({
      gateway,
      provider: 'gcp',
      nodes: decision.nodes,
      held: new Map([['10.1.1.10', 'n1']]),
      cloudAllocatedIPs: [],
      overlaps: [],
      served: decision.served,
      now,
    });
    expect(status.ipsTotal).toBe(4);
    expect(condition(status, 'Accepted')).toMatchObject({
      status: 'True',
      reason: REASON.Accepted,
      message: `provider gcp; spec.ips fd00:ec::100/126 are IPv6 and not handed out: ${gcp.refused.get(6)}`,
    });
  });

  it('without the provider families (what the agents program alone), both families are served', () => {
    const { decision, dualStatus } = decide();
    expect(decision.plan.placements.map((p) => p.ip).sort()).toEqual([
      '10.1.1.10',
      'fd00:ec::100',
      'fd00:ec::101',
    ]);
    expect(condition(dualStatus, 'Ready')).toMatchObject({ status: 'True' });
  });
});
