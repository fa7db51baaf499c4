/**
 * The controller against a real kube-apiserver, with the in-memory cloud: placement, failover, deletion,
 * drift repair and bad input, each checked on the API server's objects and on the cloud's own state.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FINALIZER } from '../../src/api/annotations.ts';
import { type CloudProvider, ProviderError } from '../../src/provider/contract.ts';
import { useControlPlane } from '../harness/vitest.ts';
import { eventually } from '../support/eventually.ts';
import { ControllerWorld, capturingLogger, hasFinalizer, interceptApply, testSettings } from './world.ts';

const kube = useControlPlane();
let world: ControllerWorld;

beforeEach(() => {
  world = new ControllerWorld(kube.controlPlane.kubeConfig, kube.namespace);
});
afterEach(async () => {
  await world.close();
});

/** The policy's assignments once every one is Ready, with the count expected. */
const readyAssignments = (name: string, count: number) =>
  eventually(`${count} Ready IPs in ${name}'s status`, async () => {
    const p = await world.getPolicy(name);
    const a = p?.status?.assignments ?? [];
    return a.length === count && a.every((x) => x.state === 'Ready') ? a : undefined;
  });

/** Three nodes in one subnet (zone-a), one in another (zone-b). */
async function threeNodes(options: { agent?: boolean } = {}) {
  await world.addNode({
    name: 'a1',
    zone: 'zone-a',
    subnet: '10.1.1.0/24',
    primaryIP: '10.1.1.10',
    ...options,
  });
  await world.addNode({
    name: 'a2',
    zone: 'zone-a',
    subnet: '10.1.1.0/24',
    primaryIP: '10.1.1.11',
    ...options,
  });
  await world.addNode({
    name: 'a3',
    zone: 'zone-a',
    subnet: '10.1.1.0/24',
    primaryIP: '10.1.1.12',
    ...options,
  });
}

describe('placing egress IPs', () => {
  it('given a gateway and a policy, then status shows each IP Ready on its node and the cloud holds exactly those', async () => {
    await threeNodes();
    const gw = await world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.119'], namespaceSelector: {} });
    await world.startController();
    await world.createPolicy('p', { gatewayName: gw, count: 3 });

    const assignments = await readyAssignments('p', 3);
    const placement = world.cloudPlacement();
    expect(Object.fromEntries(placement)).toEqual(Object.fromEntries(assignments.map((a) => [a.ip, a.node])));
    expect(new Set(assignments.map((a) => a.node)).size).toBe(3);

    const policy = (await world.getPolicy('p'))!;
    expect(policy.metadata.finalizers).toContain(FINALIZER);
    expect(policy.status?.observedGeneration).toBe(policy.metadata.generation);
    expect(policy.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'True',
      reason: 'AllIPsReady',
    });
    expect(policy.status?.conditions?.find((c) => c.type === 'Accepted')).toMatchObject({ status: 'True' });

    // `kubectl get egresspolicies` shows the IPs and the nodes holding them (printer columns).
    const { stdout } = await kube.controlPlane.kubectl(['get', 'egresspolicies', '-n', kube.namespace]);
    const row = stdout.split('\n').find((l) => l.startsWith('p '))!;
    for (const a of assignments) {
      expect(row).toContain(a.ip!);
      expect(row).toContain(a.node!);
    }

    const gateway = await eventually('gateway status', async () => {
      const g = await world.getGateway(gw);
      return g.status?.ipsUsed === 3 ? g : undefined;
    });
    expect(gateway.status).toMatchObject({ provider: 'inmemory', readyNodes: 3, ipsTotal: 20 });
    expect(gateway.status?.nodes?.map((n) => n.capacity)).toEqual([29, 29, 29]);
    expect(hasFinalizer(gateway)).toBe(true);

    // One Event for the policy, however many nodes its IPs went to (one per node would be an API write per IP).
    const events = await eventually('the Assigned event', async () => {
      const e = (await world.events('p')).filter((x) => x.reason === 'Assigned');
      return e.length === 1 ? e : undefined;
    });
    expect(events[0]?.type).toBe('Normal');
    for (const a of assignments) expect(events[0]?.message).toContain(`${a.ip} assigned to ${a.node}`);
  });

  it('given a ClusterEgressPolicy, then it is placed whatever the namespaceSelector', async () => {
    await threeNodes();
    const gw = await world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.101'] });
    await world.startController();
    const name = await world.createClusterPolicy('cp', { gatewayName: gw, count: 2 });
    await eventually('cloud holds 2 IPs', async () => world.cloudPlacement().size === 2);
    const cp = await eventually('cluster policy Ready', async () => {
      const obj = await world.getClusterPolicy(name);
      return obj?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? obj : undefined;
    });
    expect(cp.status?.assignments?.map((a) => a.ip).sort()).toEqual(['10.1.1.100', '10.1.1.101']);
  });
});

describe('failover', () => {
  it('given a node goes NotReady, then only its IPs move and the cloud agrees', async () => {
    await threeNodes();
    const gw = await world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.119'], namespaceSelector: {} });
    await world.startController();
    await world.createPolicy('p', { gatewayName: gw, count: 6 });
    const before = await readyAssignments('p', 6);
    const victim = before[0]!.node!;
    const moving = before.filter((a) => a.node === victim).map((a) => a.ip);
    const staying = before.filter((a) => a.node !== victim);
    expect(moving.length).toBeGreaterThan(0);

    await world.setNodeReady(victim.slice(world.namespace.length + 1), { ready: false });
    const after = await eventually('IPs off the failed node', async () => {
      const a = (await world.getPolicy('p'))?.status?.assignments ?? [];
      return a.length === 6 && a.every((x) => x.state === 'Ready' && x.node !== victim) ? a : undefined;
    });
    for (const s of staying) expect(after.find((a) => a.ip === s.ip)?.node).toBe(s.node);
    const placement = world.cloudPlacement();
    for (const a of after) expect(placement.get(a.ip!)).toBe(a.node);
    expect([...placement.values()]).not.toContain(victim);
    const moved = await eventually('Moved event', async () => {
      const e = (await world.events('p')).filter(
        (x) => x.reason === 'Moved' && x.message?.includes(`from ${victim} to`),
      );
      return e.length > 0 ? e : undefined;
    });
    for (const ip of moving) expect(moved.map((e) => e.message).join('; ')).toContain(ip);
  });

  it('given a node whose agent stops answering probes, then its IPs move after 3 misses, and it takes none back while damped', async () => {
    await threeNodes({ agent: true });
    const gw = await world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.119'], namespaceSelector: {} });
    const failovers: number[] = [];
    await world.startController({
      settings: testSettings({
        probe: { intervalMs: 100, misses: 3, dampingMs: 3000, agentHealthPort: await world.agentPort() },
      }),
      onFailover: (_node, ms) => failovers.push(ms),
    });
    await world.createPolicy('p', { gatewayName: gw, count: 3 });
    const before = await readyAssignments('p', 3);
    const victim = before[0]!.node!;
    const index = ['a1', 'a2', 'a3'].indexOf(victim.slice(world.namespace.length + 1));
    world.agents[index]!.up = false;

    await eventually('IP moved off the node with the failed agent', async () => {
      const a = (await world.getPolicy('p'))?.status?.assignments ?? [];
      return a.every((x) => x.state === 'Ready' && x.node !== victim) ? a : undefined;
    });
    expect(world.cloudPlacement().get(before[0]!.ip!)).not.toBe(victim);
    await eventually('failover measured', async () => failovers.length === 1);
    const failed = await eventually('NodeFailed event on the gateway', async () =>
      (await world.events(gw, 'default')).find((e) => e.reason === 'NodeFailed'),
    );
    expect(failed.type).toBe('Warning');
    expect(failed.message).toMatch(
      new RegExp(`^node ${victim} failed \\(agent health probe .+\\); its egress IPs move`),
    );

    // Back up, but damped: a new policy's IPs do not go to it yet.
    world.agents[index]!.up = true;
    await world.createPolicy('q', { gatewayName: gw, count: 3 });
    const q = await readyAssignments('q', 3);
    expect(q.map((a) => a.node)).not.toContain(victim);
    const recovered = await eventually('NodeRecovered event after damping', async () =>
      (await world.events(gw, 'default')).find((e) => e.reason === 'NodeRecovered'),
    );
    expect(recovered.type).toBe('Normal');
    expect(recovered.message).toBe(`node ${victim} answers again; it may hold egress IPs`);
  });

  it('given a gateway created after the controller leads (the order of a helm install), then a node whose agent stops answering still fails and its IPs move', async () => {
    await threeNodes({ agent: true });
    const controller = await world.startController({
      settings: testSettings({
        probe: { intervalMs: 100, misses: 3, dampingMs: 3000, agentHealthPort: await world.agentPort() },
      }),
    });
    await eventually('the controller leads', async () => controller.leading);
    const gw = await world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.119'], namespaceSelector: {} });
    await world.createPolicy('p', { gatewayName: gw, count: 1 });
    const [before] = await readyAssignments('p', 1);
    const victim = before!.node!;
    world.agents[['a1', 'a2', 'a3'].indexOf(victim.slice(world.namespace.length + 1))]!.up = false;
    // Nothing else changes: no Node event, no leader change; the Node stays Ready.
    const [after] = await eventually(
      'the IP moved off the node whose agent is silent',
      async () => {
        const a = (await world.getPolicy('p'))?.status?.assignments ?? [];
        return a.length === 1 && a[0]!.state === 'Ready' && a[0]!.node !== victim ? a : undefined;
      },
      { timeoutMs: 10_000 },
    );
    expect(world.cloudPlacement().get(after!.ip!)).toBe(after!.node);
  });

  it('given a new leader whose process stalls as it takes over, then it fails no gateway that answers and no IP moves', async () => {
    await threeNodes({ agent: true });
    const gw = await world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.119'], namespaceSelector: {} });
    const settings = testSettings(
      { probe: { intervalMs: 200, misses: 3, dampingMs: 3000, agentHealthPort: await world.agentPort() } },
      { namespace: world.namespace },
    );
    const first = await world.startController({ settings, identity: 'replica-1' });
    await eventually('replica-1 leads', async () => first.leading);
    await world.createPolicy('p', { gatewayName: gw, count: 1 });
    await readyAssignments('p', 1);
    // The standby's first cloud call (it makes none before it leads) blocks its event loop for 1.5 s, as
    // loading a cloud SDK does on a busy node: the probes it sent as it took over are answered while it
    // cannot read the answers.
    let stalled = false;
    const stallOnce = (inner: CloudProvider): CloudProvider => ({
      ...interceptApply((plan, signal, p) => p.apply(plan, signal))(inner),
      listAssignments: (nodes, signal) => {
        if (!stalled) {
          stalled = true;
          const until = Date.now() + 1500;
          while (Date.now() < until) {
            // busy: the event loop does not run
          }
        }
        return inner.listAssignments(nodes, signal);
      },
    });
    const log = capturingLogger('replica-2');
    const second = await world.startController({
      settings,
      identity: 'replica-2',
      wrap: stallOnce,
      logger: log.logger,
    });
    await first.kill();
    const [atKill] = await readyAssignments('p', 1);
    await eventually('replica-2 leads', async () => second.leading, { timeoutMs: 10_000 });
    await eventually('replica-2 stalled on its first cloud call', async () => stalled);
    // Well past the detection time (600 ms) after the stall.
    await sleep(2000);
    const failed = log.lines.filter((l) => l.includes('"node failed"'));
    expect(failed, 'nodes replica-2 failed').toEqual([]);
    const [after] = await readyAssignments('p', 1);
    expect(after).toEqual(atKill);
    expect(world.cloudPlacement().get(atKill!.ip!)).toBe(atKill!.node);
  });

  it("given a new leader that takes over while the holder's agent restarts (its old Pod already gone), then the holder keeps its IPs", async () => {
    await threeNodes({ agent: true });
    const gw = await world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.119'], namespaceSelector: {} });
    for (const short of ['a1', 'a2', 'a3']) await world.addAgentPod(short);
    const settings = testSettings(
      {
        probe: {
          intervalMs: 200,
          misses: 3,
          dampingMs: 3000,
          agentHealthPort: await world.agentPort(),
          restartGraceMs: 30_000,
        },
        agentPods: { namespace: world.namespace, labelSelector: world.agentPodSelector },
      },
      { namespace: world.namespace },
    );
    const first = await world.startController({ settings, identity: 'replica-1' });
    await eventually('replica-1 leads', async () => first.leading);
    await world.createPolicy('p', { gatewayName: gw, count: 1 });
    const [before] = await readyAssignments('p', 1);
    const holder = world.agents[['a1', 'a2', 'a3'].indexOf(before!.node!.slice(world.namespace.length + 1))]!;
    const log = capturingLogger('replica-2');
    const second = await world.startController({ settings, identity: 'replica-2', logger: log.logger });
    // A helm upgrade rolls both: the leader goes, and the holder's new agent (its old Pod is gone, so no
    // restart is visible to the new leader) answers 503 until its first sync.
    holder.up = false;
    await first.kill();
    await eventually('replica-2 leads', async () => second.leading, { timeoutMs: 10_000 });
    await sleep(2000);
    holder.up = true;
    await sleep(1000);
    expect(log.lines.filter((l) => l.includes('"node failed"'))).toEqual([]);
    expect((await readyAssignments('p', 1))[0]).toEqual(before);
    expect(world.cloudPlacement().get(before!.ip!)).toBe(before!.node);
  });

  it('given an agent Pod deleted by a rollout, then its node keeps its IPs while the agent restarts; cordoned, it does not', async () => {
    await threeNodes({ agent: true });
    const gw = await world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.119'], namespaceSelector: {} });
    const pods = new Map<string, string>();
    for (const short of ['a1', 'a2', 'a3']) pods.set(short, await world.addAgentPod(short));
    const log = capturingLogger('controller');
    await world.startController({
      settings: testSettings({
        probe: {
          intervalMs: 100,
          misses: 3,
          dampingMs: 0,
          agentHealthPort: await world.agentPort(),
          restartGraceMs: 30_000,
        },
        agentPods: { namespace: world.namespace, labelSelector: world.agentPodSelector },
      }),
      logger: log.logger,
    });
    /** Waits until the leader has seen the restart of `node`'s agent (what the kubelet's SIGTERM follows). */
    const restartSeen = (node: string) =>
      eventually(`the controller saw ${node}'s agent restarting`, async () =>
        log.lines.some((l) => l.includes('"agent restarting') && l.includes(`"node":"${node}"`)),
      );
    await world.createPolicy('p', { gatewayName: gw, count: 3 });
    const before = await readyAssignments('p', 3);
    const victim = before[0]!.node!;
    const short = victim.slice(world.namespace.length + 1);
    const agent = world.agents[['a1', 'a2', 'a3'].indexOf(short)]!;
    const placement = () => JSON.stringify([...world.cloudPlacement()].sort());
    const placed = placement();

    // The DaemonSet deletes the Pod; the kubelet stops the agent; 2 s pass (the detection time is 300 ms);
    // the kubelet removes the Pod and the new agent answers.
    await world.deleteAgentPod(pods.get(short)!);
    await restartSeen(victim);
    agent.up = false;
    await sleep(2000);
    await world.deleteAgentPod(pods.get(short)!, { force: true });
    pods.set(short, await world.addAgentPod(short));
    agent.up = true;
    await sleep(500);
    expect((await world.getPolicy('p'))?.status?.assignments).toEqual(before);
    expect(placement()).toBe(placed);
    expect((await world.events(gw, 'default')).map((e) => e.reason)).not.toContain('NodeFailed');

    // The same on a cordoned node (a drain, a scale-down): the agent is not coming back, its IPs move.
    await world.cordon(short);
    await world.deleteAgentPod(pods.get(short)!);
    await sleep(300);
    agent.up = false;
    await eventually('IPs off the cordoned node whose agent left', async () => {
      const a = (await world.getPolicy('p'))?.status?.assignments ?? [];
      return a.length === 3 && a.every((x) => x.state === 'Ready' && x.node !== victim) ? a : undefined;
    });
    expect([...world.cloudPlacement().values()]).not.toContain(victim);
  });

  it('given a node is deleted, then its IPs move', async () => {
    await threeNodes();
    const gw = await world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.119'], namespaceSelector: {} });
    await world.startController();
    await world.createPolicy('p', { gatewayName: gw, count: 3 });
    const before = await readyAssignments('p', 3);
    const victim = before[0]!.node!;
    await world.deleteNode(victim.slice(world.namespace.length + 1));
    await eventually('IP moved off the deleted node', async () => {
      const a = (await world.getPolicy('p'))?.status?.assignments ?? [];
      return a.length === 3 && a.every((x) => x.state === 'Ready' && x.node !== victim);
    });
    expect(world.cloudPlacement().get(before[0]!.ip!)).not.toBe(victim);
  });
});

describe('deletion and drift', () => {
  it('given a policy is deleted, then its IPs are released in the cloud before the object disappears', async () => {
    await threeNodes();
    const gw = await world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.119'], namespaceSelector: {} });
    let releaseGate: (() => void) | undefined;
    const gated = interceptApply(async (plan, signal, p) => {
      if (plan.changes.some((c) => c.kind === 'release')) {
        await new Promise<void>((resolve) => {
          releaseGate = resolve;
        });
      }
      return p.apply(plan, signal);
    });
    await world.startController({ wrap: gated });
    await world.createPolicy('p', { gatewayName: gw, count: 2 });
    await readyAssignments('p', 2);
    await world.deletePolicy('p');

    await eventually('release call waiting', async () => releaseGate !== undefined);
    try {
      const pending = await world.getPolicy('p');
      expect(pending?.metadata.deletionTimestamp).toBeDefined();
      expect(world.cloudPlacement().size).toBe(2);
    } finally {
      releaseGate!();
    }
    await eventually('policy gone', async () => (await world.getPolicy('p')) === undefined);
    expect(world.cloudPlacement().size).toBe(0);
  });

  it('given an IP removed by hand in the cloud, then the resync puts it back', async () => {
    await threeNodes();
    const gw = await world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.119'], namespaceSelector: {} });
    await world.startController({ settings: testSettings({ resyncPeriodMs: 1000 }) });
    await world.createPolicy('p', { gatewayName: gw, count: 1 });
    const [a] = await readyAssignments('p', 1);
    world.cloud.instances.get(a!.node!)!.secondary.delete(a!.ip!);
    expect(world.cloudPlacement().size).toBe(0);
    await eventually('IP back in the cloud', async () => world.cloudPlacement().get(a!.ip!) === a!.node);
  });

  it('given a gateway is deleted, then every IP is released before it disappears and its policies say GatewayNotFound', async () => {
    await threeNodes();
    const gw = await world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.119'], namespaceSelector: {} });
    await world.startController();
    await world.createPolicy('p', { gatewayName: gw, count: 2 });
    await readyAssignments('p', 2);
    await world.deleteGateway(gw);
    await eventually('gateway gone', async () => {
      try {
        await world.getGateway(gw);
        return false;
      } catch {
        return true;
      }
    });
    expect(world.cloudPlacement().size).toBe(0);
    await eventually('GatewayNotFound', async () => {
      const p = await world.getPolicy('p');
      return p?.status?.conditions?.find((c) => c.type === 'Accepted')?.reason === 'GatewayNotFound';
    });
  });

  it('given a policy moved to another gateway, then the new gateway serves it and the old IP is released', async () => {
    await threeNodes();
    const a = await world.createGateway('a', { ips: ['10.1.1.100-10.1.1.109'], namespaceSelector: {} });
    const b = await world.createGateway('b', { ips: ['10.1.1.200-10.1.1.209'], namespaceSelector: {} });
    await world.startController();
    await world.createPolicy('p', { gatewayName: a, count: 1 });
    const [first] = await readyAssignments('p', 1);
    expect(first?.ip).toBe('10.1.1.100');
    await world.patchPolicySpec('p', { gatewayName: b });
    await eventually('only the new gateway IP in the cloud', async () => {
      const ips = [...world.cloudPlacement().keys()];
      return ips.length === 1 && ips[0] === '10.1.1.200';
    });
    const [moved] = await readyAssignments('p', 1);
    expect(moved?.ip).toBe('10.1.1.200');
  });
});

describe('bad input shows as conditions and Warning events', () => {
  const accepted = async (name: string) =>
    (await world.getPolicy(name))?.status?.conditions?.find((c) => c.type === 'Accepted');
  const warnings = (name: string, reason: string) =>
    eventually(`Warning ${reason} on ${name}`, async () => {
      const e = (await world.events(name)).filter((x) => x.type === 'Warning' && x.reason === reason);
      return e.length > 0 ? e : undefined;
    });

  it('unknown gateway', async () => {
    await world.startController();
    await world.createPolicy('p', { gatewayName: 'no-such-gateway' });
    const c = await eventually('Accepted=False', () => accepted('p'));
    expect(c).toMatchObject({ status: 'False', reason: 'GatewayNotFound' });
    expect(c.message).toMatch(/EgressGateway "no-such-gateway" does not exist/);
    await warnings('p', 'GatewayNotFound');
  });

  it('namespace not admitted: nothing is assigned', async () => {
    await threeNodes();
    const gw = await world.createGateway('gw', {
      ips: ['10.1.1.100-10.1.1.119'],
      namespaceSelector: { matchLabels: { tenant: 'other' } },
    });
    await world.startController();
    await world.createPolicy('p', { gatewayName: gw, count: 1 });
    const c = await eventually('Accepted=False', async () => {
      const x = await accepted('p');
      return x?.status === 'False' ? x : undefined;
    });
    expect(c.reason).toBe('NamespaceNotAdmitted');
    expect(c.message).toMatch(new RegExp(`does not admit namespace "${world.namespace}"`));
    await warnings('p', 'NamespaceNotAdmitted');
    expect(world.cloudPlacement().size).toBe(0);
    expect((await world.getPolicy('p'))?.status?.assignments).toEqual([]);
  });

  it('pool exhausted', async () => {
    await threeNodes();
    const gw = await world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.101'], namespaceSelector: {} });
    await world.startController();
    await world.createPolicy('p', { gatewayName: gw, count: 3 });
    const p = await eventually('Degraded PoolExhausted', async () => {
      const x = await world.getPolicy('p');
      const ready = x?.status?.assignments?.filter((a) => a.state === 'Ready').length;
      const degraded = x?.status?.conditions?.find((c) => c.type === 'Degraded')?.reason;
      return degraded === 'PoolExhausted' && ready === 2 ? x : undefined;
    });
    expect(p.status?.assignments?.filter((a) => a.state === 'Ready')).toHaveLength(2);
    expect(p.status?.assignments?.find((a) => a.state === 'Failed')?.message).toMatch(/no free IP/);
    await warnings('p', 'PoolExhausted');
    expect(world.cloudPlacement().size).toBe(2);
  });

  it('IP in no node subnet', async () => {
    await threeNodes();
    const gw = await world.createGateway('gw', { ips: ['10.9.9.100'], namespaceSelector: {} });
    await world.startController();
    await world.createPolicy('p', { gatewayName: gw, egressIPs: ['10.9.9.100'] });
    const p = await eventually('Failed NoSubnet', async () => {
      const x = await world.getPolicy('p');
      return x?.status?.assignments?.[0]?.reason === 'NoSubnet' ? x : undefined;
    });
    expect(p.status?.assignments?.[0]).toMatchObject({ ip: '10.9.9.100', state: 'Failed' });
    expect(p.status?.assignments?.[0]?.message).toMatch(/10\.9\.9\.100 is in no subnet/);
    await warnings('p', 'NoSubnet');
    expect(world.cloudPlacement().size).toBe(0);
  });

  it('cloud error: Failed with the cloud message, a Warning, and a retry that succeeds once the cloud recovers', async () => {
    await threeNodes();
    const gw = await world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.119'], namespaceSelector: {} });
    let broken = true;
    const flaky = interceptApply(async (plan, signal, p) => {
      if (!broken) return p.apply(plan, signal);
      return {
        outcomes: plan.changes.map((change) => ({
          change,
          ok: false as const,
          error: new ProviderError('transient', 'InternalError: the cloud is having a bad day'),
        })),
      };
    });
    await world.startController({ wrap: flaky });
    await world.createPolicy('p', { gatewayName: gw, count: 1 });
    const p = await eventually('Failed CloudError', async () => {
      const x = await world.getPolicy('p');
      return x?.status?.assignments?.[0]?.reason === 'CloudError' ? x : undefined;
    });
    expect(p.status?.assignments?.[0]?.message).toMatch(/bad day/);
    await warnings('p', 'CloudError');
    broken = false;
    await readyAssignments('p', 1);
    expect(world.cloudPlacement().size).toBe(1);
  });

  it('unknown provider annotation: a clear condition on the gateway and its policies, no crash', async () => {
    await threeNodes();
    const gw = await world.createGateway(
      'gw',
      { ips: ['10.1.1.100-10.1.1.119'], namespaceSelector: {} },
      { 'cloudegress.io/provider': 'openstack' },
    );
    await world.startController();
    await world.createPolicy('p', { gatewayName: gw, count: 1 });
    const c = await eventually('ProviderUnknown', async () => {
      const x = await accepted('p');
      return x?.reason === 'ProviderUnknown' ? x : undefined;
    });
    expect(c.message).toMatch(/openstack/);
    const g = await world.getGateway(gw);
    expect(g.status?.conditions?.find((x) => x.type === 'Accepted')).toMatchObject({
      status: 'False',
      reason: 'ProviderUnknown',
    });
  });
});
