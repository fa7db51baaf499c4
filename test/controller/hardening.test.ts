/**
 * Bad and hostile input against a real kube-apiserver and the in-memory cloud: addresses that are not the
 * gateway's to hand out, what the agents cannot carry, providers that cannot be used, pools the status cannot
 * count, cloud-allocated IPs nobody uses. Each case checks the API server's objects and the cloud's own state.
 */
import { ApiextensionsV1Api, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { EgressPolicy } from '../../src/api/egress-policy.ts';
import { eventually } from '../support/eventually.ts';
import { conditionOf as condition, testSettings, useControllerWorld } from './world.ts';

const t = useControllerWorld();

/**
 * The policy once `ok` holds for it; while waiting, the last status is what a timeout reports.
 */
const policyWhen = (name: string, what: string, ok: (p: EgressPolicy) => boolean, timeoutMs?: number) =>
  eventually(
    `${name}: ${what}`,
    async () => {
      const p = await t.world.getPolicy(name);
      if (p && ok(p)) return p;
      throw new Error(`status: ${JSON.stringify(p?.status ?? null)}`);
    },
    timeoutMs ? { timeoutMs } : {},
  );

/** Waits until the gateway (full name) is gone from the API server. */
const gatewayGone = (gw: string) =>
  eventually(`${gw} gone`, async () => {
    try {
      await t.world.getGateway(gw);
      return false;
    } catch {
      return true;
    }
  });

async function twoNodes() {
  await t.world.addNode({ name: 'a1', zone: 'zone-a', subnet: '10.1.1.0/24', primaryIP: '10.1.1.10' });
  await t.world.addNode({ name: 'a2', zone: 'zone-a', subnet: '10.1.1.0/24', primaryIP: '10.1.1.11' });
}

describe('addresses that are not the gateway to hand out', () => {
  it("given a pool that starts with a node's own IP, then a count policy gets the next free IP, and an explicit request for it says whose it is", async () => {
    await twoNodes();
    const gw = await t.world.createGateway('gw', { ips: ['10.1.1.10-10.1.1.13'], namespaceSelector: {} });
    await t.world.startController();
    await t.world.createPolicy('p', { gatewayName: gw, count: 1 });
    const [a] =
      (await policyWhen('p', 'one IP Ready', (x) => x.status?.assignments?.[0]?.state === 'Ready')).status
        ?.assignments ?? [];
    expect(a?.ip).toBe('10.1.1.12');
    expect(t.world.cloudPlacement().get('10.1.1.12')).toBe(a?.node);

    await t.world.createPolicy('q', { gatewayName: gw, egressIPs: ['10.1.1.11'] });
    const q = await policyWhen('q', 'refused', (x) => x.status?.assignments?.[0]?.state === 'Failed');
    expect(q.status?.assignments?.[0]).toMatchObject({ ip: '10.1.1.11', reason: 'IPReserved' });
    expect(q.status?.assignments?.[0]?.message).toContain(
      `10.1.1.11 is the address of node ${t.world.node('a2')}`,
    );
    expect(t.world.cloudPlacement().has('10.1.1.11')).toBe(false);
  });

  it('given a pool that is the whole subnet, then none of the addresses the cloud keeps is handed out', async () => {
    await twoNodes();
    const gw = await t.world.createGateway('gw', { ips: ['10.1.1.0/24'], namespaceSelector: {} });
    await t.world.startController();
    await t.world.createPolicy('p', { gatewayName: gw, count: 4 });
    const ready =
      (
        await policyWhen('p', '4 Ready', (x) => {
          const a = x.status?.assignments ?? [];
          return a.length === 4 && a.every((y) => y.state === 'Ready');
        })
      ).status?.assignments ?? [];
    // .0-.3 are the cloud's, .10 and .11 the nodes'.
    expect(ready.map((x) => x.ip).sort()).toEqual(['10.1.1.4', '10.1.1.5', '10.1.1.6', '10.1.1.7']);
    expect([...t.world.cloudPlacement().keys()].sort()).toEqual(ready.map((x) => x.ip).sort());
  });
});

describe('IPv6, which the agents carry (docs/agent.md, "IPv6 and dual stack")', () => {
  it('given an IPv6 egress IP, then it is placed and Ready, and the status shows it in the IPv6 column', async () => {
    await t.world.addNode({
      name: 'v1',
      zone: 'zone-a',
      subnet: '2001:db8:5::/64',
      primaryIP: '2001:db8:5::10',
    });
    const gw = await t.world.createGateway('gw', {
      ips: ['2001:db8:5::100-2001:db8:5::1ff'],
      namespaceSelector: {},
    });
    await t.world.startController();
    await t.world.createPolicy('p', { gatewayName: gw, egressIPs: ['2001:db8:5::100'] });
    const p = await policyWhen('p', 'Ready', (x) => x.status?.assignments?.[0]?.state === 'Ready');
    const node = p.status?.assignments?.[0]?.node;
    expect(node).toMatch(/-v1$/);
    expect(p.status).toMatchObject({ ips: '2001:db8:5::100', ipv4: '', ipv6: '2001:db8:5::100' });
    expect(condition(p, 'Ready')).toMatchObject({ status: 'True' });
    // The cloud holds it where the status says.
    expect(Object.fromEntries(t.world.cloudPlacement())).toEqual({ '2001:db8:5::100': node });
  });

  it('given a count policy with ipFamilies [IPv4, IPv6] on a gateway of one family, then it takes the IPv4 IP and says the IPv6 one is missing', async () => {
    await twoNodes();
    const gw = await t.world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.109'], namespaceSelector: {} });
    await t.world.startController();
    await t.world.createPolicy('p', { gatewayName: gw, count: 1, ipFamilies: ['IPv4', 'IPv6'] });
    const p = await policyWhen('p', 'placed', (x) => x.status?.assignments?.[0]?.state === 'Ready');
    expect(p.status).toMatchObject({ ipv4: '10.1.1.100', ipv6: '' });
    expect(condition(p, 'Ready')).toMatchObject({ status: 'False' });
    expect(condition(p, 'Ready')?.message).toContain('has no IPv6 IPs');
  });

  it('given only IPv6 destinations, then the policy is Ready: the agents steer them', async () => {
    await twoNodes();
    const gw = await t.world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.109'], namespaceSelector: {} });
    await t.world.startController();
    await t.world.createPolicy('p', { gatewayName: gw, count: 1, destinationCIDRs: ['2001:db8::/32'] });
    const p = await policyWhen('p', 'placed', (x) => x.status?.assignments?.[0]?.state === 'Ready');
    expect(condition(p, 'Ready')).toMatchObject({ status: 'True' });
  });
});

/**
 * Runs `create` while the EgressGateway CRD lacks its pool-size rule, as a gateway created before that rule
 * existed was stored; then puts the CRD back as generated.
 */
async function withPoolSizeRuleLifted<T>(create: () => Promise<T>): Promise<T> {
  const api = t.kube.controlPlane.kubeConfig.makeApiClient(ApiextensionsV1Api);
  const name = 'egressgateways.cloudegress.io';
  const original = await api.readCustomResourceDefinition({ name });
  const lifted = structuredClone(original) as V1CustomResourceDefinition;
  const items = lifted.spec.versions[0]!.schema!.openAPIV3Schema!.properties!['spec']!.properties!['ips']!
    .items as {
    'x-kubernetes-validations'?: { rule: string }[];
  };
  items['x-kubernetes-validations'] = (items['x-kubernetes-validations'] ?? []).filter(
    (r) => !r.rule.includes('prefixLength'),
  );
  await api.replaceCustomResourceDefinition({ name, body: lifted });
  try {
    return await eventually('created without the pool-size rule', create);
  } finally {
    const now = await api.readCustomResourceDefinition({ name });
    await api.replaceCustomResourceDefinition({
      name,
      body: {
        ...original,
        metadata: { ...original.metadata, resourceVersion: now.metadata?.resourceVersion },
      },
    });
  }
}

describe('pools the status cannot count', () => {
  it('given a gateway stored before pool sizes were checked (an IPv6 /64), then its status is written and says why, its IPv4 IPs work, and deleting it completes', async () => {
    await twoNodes();
    const gw = await withPoolSizeRuleLifted(() =>
      t.world.createGateway('gw', {
        ips: ['2001:db8:1::/64', '10.1.1.100-10.1.1.109'],
        namespaceSelector: {},
      }),
    );
    await t.world.startController();
    await t.world.createPolicy('p', { gatewayName: gw, count: 1 });
    const status = await eventually('gateway status written', async () => {
      const g = await t.world.getGateway(gw);
      if (g.status?.ipsTotal !== undefined) return g.status;
      throw new Error(`status: ${JSON.stringify(g.status ?? null)}`);
    });
    // The /64 counts: the total is capped at the largest safe integer, so the status stays valid.
    expect(status.ipsTotal).toBe(Number.MAX_SAFE_INTEGER);
    expect(condition({ status }, 'Accepted')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(condition({ status }, 'Accepted')?.message).toContain(
      'spec.ips[0]: "2001:db8:1::/64" has 2^64 addresses',
    );
    const p = await policyWhen('p', 'Ready', (x) => x.status?.assignments?.[0]?.state === 'Ready');
    expect(p.status?.assignments?.[0]?.ip).toBe('10.1.1.100');

    await t.world.deletePolicy('p');
    await eventually('policy gone', async () => (await t.world.getPolicy('p')) === undefined);
    await t.world.deleteGateway(gw);
    await gatewayGone(gw);
    expect(t.world.cloudPlacement().size).toBe(0);
  });
});

describe('cloud-allocated IPs', () => {
  it('given a gateway asked for one more cloud-picked IP, then a waiting policy is served from it at once, not at the next resync', async () => {
    await twoNodes();
    const gw = await t.world.createGateway('gw', { cloudAllocated: 1, namespaceSelector: {} });
    await t.world.startController();
    await t.world.createPolicy('p', { gatewayName: gw, count: 1 });
    await policyWhen('p', 'Ready', (x) => x.status?.assignments?.[0]?.state === 'Ready');
    await t.world.createPolicy('q', { gatewayName: gw, count: 1 });
    await policyWhen('q', 'waiting for an IP', (x) => x.status?.assignments?.[0]?.reason === 'PoolExhausted');

    // One pass has the cloud pick the IP; only a requeue after it serves q before the 60 s resync.
    await t.world.patchGateway(gw, { spec: { cloudAllocated: 2 } });
    const q = await policyWhen(
      'q',
      'Ready on the new cloud-picked IP',
      (x) => x.status?.assignments?.[0]?.state === 'Ready',
      15_000,
    );
    const ip = q.status?.assignments?.[0]?.ip ?? '';
    expect((await t.world.getGateway(gw)).status?.cloudAllocatedIPs).toContain(ip);
    expect(t.world.cloudPlacement().get(ip)).toBe(q.status?.assignments?.[0]?.node);
  });

  it('given more cloud-picked IPs than the policies use, then the unused ones stay in the cloud as the status says, and a later policy gets one of them', async () => {
    await twoNodes();
    const gw = await t.world.createGateway('gw', { cloudAllocated: 3, namespaceSelector: {} });
    await t.world.startController();
    await t.world.createPolicy('p', { gatewayName: gw, count: 1 });
    await policyWhen('p', 'Ready', (x) => x.status?.assignments?.[0]?.state === 'Ready');
    const picked = await eventually('3 IPs picked', async () => {
      const g = await t.world.getGateway(gw);
      return g.status?.cloudAllocatedIPs?.length === 3 ? [...g.status.cloudAllocatedIPs].sort() : undefined;
    });
    // A few passes later (a policy change queues the gateway), the cloud still holds what the status lists.
    await t.world.createPolicy('q', { gatewayName: gw, count: 1 });
    const q = await policyWhen('q', 'Ready', (x) => x.status?.assignments?.[0]?.state === 'Ready');
    expect(picked).toContain(q.status?.assignments?.[0]?.ip);
    await t.world.patchPolicySpec('q', { count: 1, destinationCIDRs: ['203.0.113.0/24'] });
    await eventually('q observed', async () => {
      const x = await t.world.getPolicy('q');
      return x?.status?.observedGeneration === x?.metadata.generation;
    });
    const g = await t.world.getGateway(gw);
    expect([...(g.status?.cloudAllocatedIPs ?? [])].sort()).toEqual(picked);
    expect([...t.world.cloudPlacement().keys()].sort()).toEqual(picked);

    // Asked for fewer, the gateway lets go of the unused one, in the cloud and in its status.
    await t.world.patchGateway(gw, { spec: { cloudAllocated: 2 } });
    const used = await eventually('the unused IP released and forgotten', async () => {
      const st = (await t.world.getGateway(gw)).status;
      return st?.cloudAllocatedIPs?.length === 2 && t.world.cloudPlacement().size === 2
        ? [...st.cloudAllocatedIPs].sort()
        : undefined;
    });
    expect([...t.world.cloudPlacement().keys()].sort()).toEqual(used);
    const p = await t.world.getPolicy('p');
    expect(used).toEqual([p?.status?.assignments?.[0]?.ip, q.status?.assignments?.[0]?.ip].sort());

    await t.world.deletePolicy('p');
    await t.world.deletePolicy('q');
    await eventually(
      'policies gone',
      async () => !(await t.world.getPolicy('p')) && !(await t.world.getPolicy('q')),
    );
    await t.world.deleteGateway(gw);
    await eventually('every picked IP released', async () => t.world.cloudPlacement().size === 0);
  });
});

describe('providers that cannot be used', () => {
  it('given a gateway annotated with an unknown provider, then its policies keep their IPs, and deleting it waits until it can release them', async () => {
    await twoNodes();
    const gw = await t.world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.109'], namespaceSelector: {} });
    await t.world.startController();
    await t.world.createPolicy('p', { gatewayName: gw, count: 1 });
    const ready = await policyWhen('p', 'Ready', (x) => x.status?.assignments?.[0]?.state === 'Ready');
    const held = ready.status?.assignments ?? [];

    await t.world.patchGateway(gw, { metadata: { annotations: { 'cloudegress.io/provider': 'awz' } } });
    const p = await policyWhen(
      'p',
      'not accepted',
      (x) => condition(x, 'Accepted')?.reason === 'ProviderUnknown',
    );
    // No cloud call was made: the IP is still on its node, so the agents keep routing by it and status says so.
    expect(p.status?.assignments).toEqual(held);
    expect(Object.fromEntries(t.world.cloudPlacement())).toEqual(
      Object.fromEntries(held.map((a) => [a.ip, a.node])),
    );

    await t.world.deleteGateway(gw);
    const deleting = await eventually('the deletion explained', async () => {
      const g = await t.world.getGateway(gw);
      return condition(g, 'Accepted')?.message?.includes('cannot release') ? g : undefined;
    });
    expect(deleting.metadata.finalizers?.length).toBeGreaterThan(0);
    expect(t.world.cloudPlacement().size).toBe(1);

    await t.world.patchGateway(gw, { metadata: { annotations: { 'cloudegress.io/provider': null } } });
    await t.world.deletePolicy('p');
    await gatewayGone(gw);
    expect(t.world.cloudPlacement().size).toBe(0);
  });
});

describe('a test-only provider in production', () => {
  it('given a controller without --test-providers, then a gateway of in-memory nodes is refused and no IP is placed', async () => {
    await twoNodes();
    const gw = await t.world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.109'], namespaceSelector: {} });
    await t.world.startController({ settings: testSettings({ testProviders: false }) });
    await t.world.createPolicy('p', { gatewayName: gw, count: 1 });
    const p = await policyWhen('p', 'refused', (x) => condition(x, 'Accepted')?.reason === 'ProviderUnknown');
    expect(condition(p, 'Accepted')?.message).toContain('"inmemory" is for tests only');
    expect(condition(await t.world.getGateway(gw), 'Accepted')).toMatchObject({
      status: 'False',
      reason: 'ProviderUnknown',
    });
    expect(t.world.cloudPlacement().size).toBe(0);
  });
});
