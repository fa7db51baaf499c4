/**
 * Who owns an egress IP (docs/adr/0006-the-holder-keeps-its-ip.md), against a real kube-apiserver and the
 * in-memory cloud: a request for an IP another policy holds is refused with a Conflicted condition and a
 * Warning naming the holder, whichever policy is older, whichever gateway asks; the cloud never moves the IP.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.ts';
import { conditionOf as condition, useControllerWorld } from './world.ts';

const t = useControllerWorld();
const kube = t.kube;

/** The policy once its only IP is Ready. */
const readyOn = (name: string, namespace?: string) =>
  eventually(`${name} Ready`, async () => {
    const p = await t.world.getPolicy(name, namespace);
    const [a, ...more] = p?.status?.assignments ?? [];
    return a?.state === 'Ready' && more.length === 0 ? a : undefined;
  });

/**
 * Samples the cloud for `ms`: every sample must show `ip` on `node` (the holder's node). With `noWrites`, no
 * cloud write may happen meanwhile either (so a move away and back between two samples is caught too).
 */
async function cloudKeeps(ip: string, node: string, ms: number, noWrites = false): Promise<void> {
  const writes = t.world.cloud.mutatingCalls;
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    expect(t.world.cloudPlacement().get(ip), `${ip} in the cloud`).toBe(node);
    await sleep(25);
  }
  if (noWrites) expect(t.world.cloud.mutatingCalls - writes, 'cloud writes meanwhile').toBe(0);
}

/** The Warning Events of `reason` about an object, once there is one. */
const warnings = (name: string, reason: string, namespace?: string) =>
  eventually(`Warning ${reason} on ${name}`, async () => {
    const e = (await t.world.events(name, namespace)).filter(
      (x) => x.type === 'Warning' && x.reason === reason,
    );
    return e.length > 0 ? e : undefined;
  });

/** Nodes a1 and a2 in zone-a, subnet 10.1.1.0/24 (primary IPs .10 and .11). */
async function twoNodes(): Promise<void> {
  for (const [i, short] of ['a1', 'a2'].entries()) {
    await t.world.addNode({
      name: short,
      zone: 'zone-a',
      subnet: '10.1.1.0/24',
      primaryIP: `10.1.1.${10 + i}`,
    });
  }
}

describe('the holder keeps its IP', () => {
  it('given two gateways whose pools overlap, then a newer policy asking for an IP the other gateway holds is refused and the IP never moves', async () => {
    for (const side of ['a', 'b']) {
      await t.world.addNode({
        name: side,
        zone: 'zone-a',
        subnet: '10.78.1.0/24',
        primaryIP: side === 'a' ? '10.78.1.10' : '10.78.1.11',
        labels: { side },
      });
    }
    const selector = (side: string) => ({ matchLabels: { [t.world.label]: 'true', side } });
    const gw1 = await t.world.createGateway('gw1', {
      nodeSelector: selector('a'),
      ips: ['10.78.1.150-10.78.1.159'],
      namespaceSelector: {},
    });
    const gw2 = await t.world.createGateway('gw2', {
      nodeSelector: selector('b'),
      ips: ['10.78.1.155-10.78.1.165'],
      namespaceSelector: {},
    });
    await t.world.startController();
    await t.world.createPolicy('older', { gatewayName: gw1, egressIPs: ['10.78.1.155'] });
    const held = await readyOn('older');
    expect(held.node).toBe(t.world.node('a'));

    await t.world.createPolicy('newer', { gatewayName: gw2, egressIPs: ['10.78.1.155'] });
    await cloudKeeps('10.78.1.155', t.world.node('a'), 3000, true);
    const refused = await eventually('newer refused', async () => {
      const p = await t.world.getPolicy('newer');
      return p?.status?.assignments?.[0]?.reason === 'IPInUse' ? p : undefined;
    });

    expect(refused.status?.assignments).toEqual([
      expect.objectContaining({ ip: '10.78.1.155', state: 'Failed', reason: 'IPInUse' }),
    ]);
    const message = refused.status?.assignments?.[0]?.message ?? '';
    expect(message).toContain(`EgressPolicy ${t.world.namespace}/older`);
    expect(message).toContain(`EgressGateway "${gw1}"`);
    expect(condition(refused, 'Conflicted')).toMatchObject({ status: 'True', reason: 'IPInUse' });
    expect(condition(refused, 'Ready')).toMatchObject({ status: 'False' });
    expect((await warnings('newer', 'IPInUse'))[0]?.message).toContain(
      `EgressPolicy ${t.world.namespace}/older`,
    );

    const older = await t.world.getPolicy('older');
    expect(older?.status?.assignments).toEqual([held]);
    expect(condition(older, 'Conflicted')).toMatchObject({ status: 'False' });

    // Both gateways say their pools overlap, each naming the other.
    for (const [gw, other] of [
      [gw1, gw2],
      [gw2, gw1],
    ] as const) {
      const c = await eventually(`PoolOverlap on ${gw}`, async () => {
        const x = (await t.world.getGateway(gw)).status?.conditions?.find((y) => y.type === 'Conflicted');
        return x?.reason === 'PoolOverlap' ? x : undefined;
      });
      expect(c.status).toBe('True');
      expect(c.message).toContain(`EgressGateway "${other}"`);
      expect(c.message).toContain('10.78.1.155-10.78.1.159');
      expect((await warnings(gw, 'PoolOverlap', 'default'))[0]?.message).toContain(other);
    }
  });

  it('given an older policy of another tenant edited to ask for a held IP, then it is refused naming the holder, and the holder keeps it', async () => {
    await twoNodes();
    const gw = await t.world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.119'], namespaceSelector: {} });
    await t.world.startController();
    const tenantC = await kube.controlPlane.newNamespace('tenant-c');
    const tenantA = await kube.controlPlane.newNamespace('tenant-a');
    await t.world.createPolicy('c', { gatewayName: gw, egressIPs: ['10.1.1.101'] }, tenantC);
    await readyOn('c', tenantC);
    await sleep(1100); // creation timestamps have a resolution of one second: c is older
    await t.world.createPolicy('a', { gatewayName: gw, egressIPs: ['10.1.1.100'] }, tenantA);
    const held = await readyOn('a', tenantA);

    await t.world.patchPolicySpec('c', { egressIPs: ['10.1.1.100'] }, tenantC);
    await cloudKeeps('10.1.1.100', held.node!, 2000);
    expect((await t.world.getPolicy('a', tenantA))?.status?.assignments).toEqual([held]);
    const refused = await eventually('c refused', async () => {
      const p = await t.world.getPolicy('c', tenantC);
      return p?.status?.assignments?.[0]?.reason === 'IPInUse' ? p : undefined;
    });

    expect(refused.status?.assignments?.[0]?.message).toContain(`EgressPolicy ${tenantA}/a`);
    expect(condition(refused, 'Conflicted')).toMatchObject({ status: 'True', reason: 'IPInUse' });
    expect((await warnings('c', 'IPInUse', tenantC))[0]?.message).toContain(`EgressPolicy ${tenantA}/a`);
    const a = await t.world.getPolicy('a', tenantA);
    expect(a?.status?.assignments).toEqual([held]);
    expect(condition(a, 'Ready')).toMatchObject({ status: 'True' });
    // c no longer asks for its old IP: released.
    await eventually("c's old IP released", async () => !t.world.cloudPlacement().has('10.1.1.101'));
  });

  it('given a ClusterEgressPolicy edited to ask for an IP an EgressPolicy holds, then it is refused: the kind gives no precedence', async () => {
    await t.world.addNode({ name: 'a1', zone: 'zone-a', subnet: '10.1.1.0/24', primaryIP: '10.1.1.10' });
    const gw = await t.world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.119'], namespaceSelector: {} });
    await t.world.startController();
    const cluster = await t.world.createClusterPolicy('cp', { gatewayName: gw, egressIPs: ['10.1.1.101'] });
    await eventually('cluster policy Ready', async () => {
      const p = await t.world.getClusterPolicy(cluster);
      return condition(p, 'Ready')?.status === 'True';
    });
    await sleep(1100);
    await t.world.createPolicy('p', { gatewayName: gw, egressIPs: ['10.1.1.100'] });
    const held = await readyOn('p');

    await t.world.patchClusterPolicySpec(cluster, { egressIPs: ['10.1.1.100'] });
    await cloudKeeps('10.1.1.100', held.node!, 1500);
    expect((await t.world.getPolicy('p'))?.status?.assignments).toEqual([held]);
    const refused = await eventually('cluster policy refused', async () => {
      const p = await t.world.getClusterPolicy(cluster);
      return p?.status?.assignments?.[0]?.reason === 'IPInUse' ? p : undefined;
    });
    expect(refused.status?.assignments?.[0]?.message).toContain(`EgressPolicy ${t.world.namespace}/p`);
    expect((await t.world.getPolicy('p'))?.status?.assignments).toEqual([held]);
  });
});

describe('an IP something else holds in the cloud', () => {
  it('given a pool IP that another interface holds, then a count policy takes the next one at once, and an explicit request is Conflicted naming the holder', async () => {
    await twoNodes();
    // An instance that is no Node of the cluster, with another tool's secondary IP from the gateway's pool.
    const other = t.world.cloud.addInstance({
      name: `${t.world.namespace}-other`,
      zone: 'zone-a',
      subnet: '10.1.1.0/24',
      primaryIP: '10.1.1.50',
    });
    other.secondary.set('10.1.1.100', { ip: '10.1.1.100', owner: undefined });
    const gw = await t.world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.109'], namespaceSelector: {} });
    await t.world.startController();

    await t.world.createPolicy('p', { gatewayName: gw, count: 1 });
    // The test controller resyncs every 60 s: only a new pass at once serves p within the wait.
    const p = await eventually(
      'p Ready',
      async () => {
        const x = await t.world.getPolicy('p');
        const [a, ...more] = x?.status?.assignments ?? [];
        if (a?.state === 'Ready' && more.length === 0) return a;
        throw new Error(`status: ${JSON.stringify(x?.status ?? null)}`);
      },
      { timeoutMs: 15_000 },
    );
    expect(p.ip).toBe('10.1.1.101');

    await t.world.createPolicy('q', { gatewayName: gw, egressIPs: ['10.1.1.100'] });
    const q = await eventually('q refused', async () => {
      const x = await t.world.getPolicy('q');
      return x?.status?.assignments?.[0]?.reason === 'IPHeldInCloud' ? x : undefined;
    });
    expect(q.status?.assignments?.[0]).toMatchObject({ ip: '10.1.1.100', state: 'Failed' });
    expect(q.status?.assignments?.[0]?.message).toContain(other.interfaceId);
    expect(condition(q, 'Conflicted')).toMatchObject({ status: 'True', reason: 'IPHeldInCloud' });
    expect(condition(q, 'Conflicted')?.message).toContain(other.interfaceId);
    expect((await warnings('q', 'IPHeldInCloud'))[0]?.message).toContain(other.interfaceId);
    // The cloud is unchanged: the other interface keeps its IP, p keeps its own.
    expect(t.world.cloud.holderOf('10.1.1.100')).toBe(other);
    expect(t.world.cloudPlacement().get('10.1.1.101')).toBe(p.node);
  });
});
