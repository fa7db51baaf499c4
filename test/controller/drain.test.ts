/**
 * Planned maintenance against a real kube-apiserver, with the in-memory cloud: a leaving node (cordoned, or
 * tainted and annotated exactly as `kubectl`, the Cluster Autoscaler and Karpenter write it) never receives
 * an egress IP, hands its IPs over make-before-break (the status keeps the old node, with handoverTo, until the cloud has moved
 * them), says Drained, and a drain that would strand IPs says so before the node goes.
 */
import type { V1Taint } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { NODE_MAINTENANCE } from '../../src/api/annotations.ts';
import { CONDITION, REASON } from '../../src/api/conditions.ts';
import type { IpAssignmentStatus } from '../../src/api/egress-policy.ts';
import { eventually } from '../support/eventually.ts';
import { conditionOf, interceptApply, useControllerWorld } from './world.ts';

const fixture = useControllerWorld();

/** The policy's assignments once `count` are Ready and `ok` holds for them. */
const ready = (name: string, count: number, ok: (a: IpAssignmentStatus[]) => boolean = () => true) =>
  eventually(`${count} Ready IPs in ${name}'s status`, async () => {
    const a = (await fixture.world.getPolicy(name))?.status?.assignments ?? [];
    return a.length === count && a.every((x) => x.state === 'Ready') && ok(a) ? a : undefined;
  });

/** Nodes a1, a2, a3 in one subnet. */
async function threeNodes(): Promise<void> {
  for (const [i, name] of ['a1', 'a2', 'a3'].entries())
    await fixture.world.addNode({
      name,
      zone: 'zone-a',
      subnet: '10.1.1.0/24',
      primaryIP: `10.1.1.${10 + i}`,
    });
}

/** Every node the cloud was asked to put an IP on, recorded by wrapping the provider's apply. */
function recordingTargets(targets: string[]) {
  return interceptApply(async (plan, signal, inner) => {
    for (const c of plan.changes) if (c.kind === 'assign') targets.push(c.node.name);
    return inner.apply(plan, signal);
  });
}

describe('a cordoned gateway node', () => {
  it('never receives an egress IP: not fresh ones, not when its gateway grows, not when the others fail', async () => {
    const { world } = fixture;
    await threeNodes();
    await world.cordon('a1');
    const gw = await world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.119'], namespaceSelector: {} });
    const targets: string[] = [];
    await world.startController({ wrap: recordingTargets(targets) });
    await world.createPolicy('p', { gatewayName: gw, count: 3 });
    await ready('p', 3);
    await world.patchPolicySpec('p', { count: 6 });
    await ready('p', 6);
    // The nodes that stay fail: the IPs have nowhere to go, and still not onto the cordoned node.
    await world.setNodeReady('a2', { ready: false });
    await world.setNodeReady('a3', { ready: false });
    await eventually('the IPs to fail with NoEligibleNode, naming the cordoned node as leaving', async () => {
      const a = (await world.getPolicy('p'))?.status?.assignments ?? [];
      return a.length === 6 &&
        a.every(
          (x) =>
            x.state === 'Failed' &&
            x.reason === REASON.NoEligibleNode &&
            /none that takes new egress IPs: .*a1.* leaving or refused by the cloud/.test(x.message ?? ''),
        )
        ? a
        : undefined;
    });
    expect(targets).not.toContain(world.node('a1'));
    expect([...world.cloudPlacement().values()]).not.toContain(world.node('a1'));
    const status = (await world.getGateway(gw)).status!;
    expect(status.nodes?.find((n) => n.name === world.node('a1'))?.message).toMatch(
      /^leaving \(spec.unschedulable/,
    );
  });
});

// The signals as the tools write them (see src/kube/node-disruption.ts for where each comes from).
const SIGNALS: [string, (short: string) => Promise<void>, string][] = [
  ['kubectl cordon', (s) => fixture.world.cordon(s), 'spec.unschedulable (cordoned)'],
  [
    'the Cluster Autoscaler scaling the node down',
    (s) =>
      fixture.world.taint(s, [
        { key: 'ToBeDeletedByClusterAutoscaler', value: '1764640000', effect: 'NoSchedule' },
      ]),
    'taint ToBeDeletedByClusterAutoscaler=1764640000:NoSchedule',
  ],
  [
    'Karpenter v1 disrupting the node',
    (s) => fixture.world.taint(s, [{ key: 'karpenter.sh/disrupted', effect: 'NoSchedule' }]),
    'taint karpenter.sh/disrupted:NoSchedule',
  ],
  [
    'Karpenter before v1 disrupting the node',
    (s) =>
      fixture.world.taint(s, [{ key: 'karpenter.sh/disruption', value: 'disrupting', effect: 'NoSchedule' }]),
    'taint karpenter.sh/disruption=disrupting:NoSchedule',
  ],
  [
    'an operator marking maintenance by hand',
    (s) => fixture.world.annotateNode(s, { [NODE_MAINTENANCE]: 'firmware' }),
    `annotation ${NODE_MAINTENANCE}=firmware`,
  ],
];

describe('a node leaving on purpose', () => {
  it.each(SIGNALS)(
    '%s: its IPs move make-before-break to nodes that stay, with Drained Events',
    async (_, mark, signal) => {
      const { world } = fixture;
      await threeNodes();
      const gw = await world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.119'], namespaceSelector: {} });
      // At each cloud call that moves an IP off the leaving node, the status the agents route by must still
      // name the old node: they switch only once the cloud holds the IP on the new one.
      const seenAtMove: (IpAssignmentStatus | undefined)[] = [];
      let leaving = '';
      await world.startController({
        wrap: interceptApply(async (plan, sig, inner) => {
          const moves = plan.changes.filter((c) => c.kind === 'assign' && c.from?.name === leaving);
          if (leaving && moves.length > 0) {
            const a = (await world.getPolicy('p'))?.status?.assignments ?? [];
            for (const m of moves) seenAtMove.push(a.find((x) => m.kind === 'assign' && x.ip === m.ip));
          }
          return inner.apply(plan, sig);
        }),
      });
      await world.createPolicy('p', { gatewayName: gw, count: 2 });
      const before = await ready('p', 2);
      leaving = before[0]!.node!;
      const short = leaving.slice(world.namespace.length + 1);
      await mark(short);
      const after = await ready('p', 2, (a) => a.every((x) => x.node !== leaving));
      expect(new Set(after.map((a) => a.ip))).toEqual(new Set(before.map((a) => a.ip)));
      expect([...world.cloudPlacement().values()]).not.toContain(leaving);
      expect(seenAtMove).toEqual([
        expect.objectContaining({ ip: before[0]!.ip, node: leaving, state: 'Ready' }),
      ]);
      const events = await eventually('a Drained Event', async () => {
        const e = (await world.events('p')).filter((x) => x.reason === REASON.Drained);
        return e.length > 0 ? e : undefined;
      });
      expect(events[0]!.message).toBe(
        `${before[0]!.ip} moved from ${leaving} to ${after.find((a) => a.ip === before[0]!.ip)!.node} before ${leaving} leaves (${signal})`,
      );
      // The gateway's status is written by its own reconcile, which may come after the policy's Event.
      const draining = await eventually('Draining=True on the gateway', async () => {
        const c = conditionOf(await world.getGateway(gw), CONDITION.Draining);
        return c?.status === 'True' ? c : undefined;
      });
      expect(draining).toMatchObject({ status: 'True', reason: REASON.Drained });
      const metrics = await world.controllers[0]!.metrics.registry.getSingleMetricAsString(
        'cloud_egress_planned_moves_total',
      );
      expect(metrics).toMatch(new RegExp(`cloud_egress_planned_moves_total\\{gateway="${gw}"\\} 1\\b`));
    },
  );

  it("the Cluster Autoscaler's deletion candidate (PreferNoSchedule) moves nothing and only gets IPs last", async () => {
    const { world } = fixture;
    await threeNodes();
    const gw = await world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.119'], namespaceSelector: {} });
    await world.startController();
    await world.createPolicy('p', { gatewayName: gw, count: 1 });
    const [held] = await ready('p', 1);
    const short = held!.node!.slice(world.namespace.length + 1);
    const candidate: V1Taint = {
      key: 'DeletionCandidateOfClusterAutoscaler',
      value: '1764640000',
      effect: 'PreferNoSchedule',
    };
    await world.taint(short, [candidate]);
    await world.patchPolicySpec('p', { count: 3 });
    const all = await ready('p', 3);
    expect(all.find((a) => a.ip === held!.ip)?.node).toBe(held!.node);
    // The two new IPs went to the other two nodes, not onto the candidate, which had the fewest... of none.
    expect(all.filter((a) => a.node === held!.node)).toHaveLength(1);
  });
});

describe('the last gateway node of a subnet', () => {
  it('cordoned, it keeps its IP, and the gateway says why (condition, Warning Event, metric) before it goes', async () => {
    const { world } = fixture;
    await world.addNode({ name: 'a1', zone: 'zone-a', subnet: '10.1.1.0/24', primaryIP: '10.1.1.10' });
    await world.addNode({ name: 'a2', zone: 'zone-a', subnet: '10.1.1.0/24', primaryIP: '10.1.1.11' });
    const gw = await world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.119'], namespaceSelector: {} });
    await world.startController();
    await world.createPolicy('p', { gatewayName: gw, count: 1 });
    const [held] = await ready('p', 1);
    const holder = held!.node!;
    const other = [world.node('a1'), world.node('a2')].find((n) => n !== holder)!;
    // The other node leaves first: nothing to move. Then the holder: its IP has nowhere to go.
    await world.cordon(other.slice(world.namespace.length + 1));
    await world.cordon(holder.slice(world.namespace.length + 1));
    const draining = await eventually('Draining=True DrainBlocked', async () => {
      const c = conditionOf(await world.getGateway(gw), CONDITION.Draining);
      return c?.reason === REASON.DrainBlocked ? c : undefined;
    });
    expect(draining.message).toMatch(
      new RegExp(
        `^no healthy node of the gateway stays; ${held!.ip!.replaceAll('.', '\\.')} stays on ${holder}, which is leaving`,
      ),
    );
    expect((await world.getPolicy('p'))?.status?.assignments).toEqual([
      expect.objectContaining({ ip: held!.ip, node: holder, state: 'Ready' }),
    ]);
    await eventually('a Warning DrainBlocked Event on the gateway', async () =>
      (await world.events(gw, 'default')).some(
        (e) => e.reason === REASON.DrainBlocked && e.type === 'Warning',
      ),
    );
    const gauge = await world.controllers[0]!.metrics.registry.getSingleMetricAsString(
      'cloud_egress_gateway_stranded_ips',
    );
    expect(gauge).toMatch(new RegExp(`cloud_egress_gateway_stranded_ips\\{gateway="${gw}"\\} 1\\b`));
    // Uncordoning the other node lets the IP go there.
    await world.cordon(other.slice(world.namespace.length + 1), false);
    await ready('p', 1, (a) => a[0]!.node === other);
  });
});
