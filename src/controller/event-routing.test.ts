import type { KubernetesObject, V1Node, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { AnyEgressPolicy, EgressGateway } from '../api/index.ts';
import { EventRouter, nodeChangePriority, probeTargets } from './event-routing.ts';

const gateway = (name: string, generation = 1, status?: object): EgressGateway => ({
  apiVersion: 'cloudegress.io/v1alpha1',
  kind: 'EgressGateway',
  metadata: { name, generation },
  spec: { nodeSelector: { matchLabels: { egress: 'true' } } },
  ...(status ? { status } : {}),
});
const policy = (name: string, gatewayName: string, generation = 1): AnyEgressPolicy => ({
  apiVersion: 'cloudegress.io/v1alpha1',
  kind: 'EgressPolicy',
  metadata: { name, namespace: 'team-a', generation },
  spec: { gatewayName, podSelector: {} },
});
const node = (name: string, labels: Record<string, string>, ready = true): V1Node => ({
  metadata: { name, labels },
  spec: {},
  status: {
    conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    addresses: [{ type: 'InternalIP', address: `10.0.0.${name.slice(1)}` }],
  },
});
const asObject = (o: unknown) => o as KubernetesObject;

/** A router over fixed caches that records what it queues and does. */
function router(gateways: EgressGateway[], policies: AnyEgressPolicy[] = []) {
  const calls: string[] = [];
  const r = new EventRouter({
    gateways: () => gateways,
    hasGateway: (name) => gateways.some((g) => g.metadata.name === name),
    policies: () => policies,
    enqueue: (key, priority) => calls.push(priority === 'urgent' ? `${key} (urgent)` : key),
    syncProber: () => calls.push('sync prober'),
    nodeDeleted: (n) => calls.push(`deleted ${n.metadata?.name}`),
    forget: (o) => calls.push(`forget ${o.metadata?.name}`),
  });
  const take = () => calls.splice(0);
  return { r, take };
}

describe('EventRouter', () => {
  it('queues a gateway and syncs the prober (its nodes are the targets) when a relevant field changes, not for a status-only update', () => {
    const { r, take } = router([gateway('gw')]);
    r.onGateway('add', asObject(gateway('gw')));
    expect(take()).toEqual(['sync prober', 'EgressGateway/gw']);
    r.onGateway('update', asObject(gateway('gw', 1, { readyNodes: 2 })));
    expect(take()).toEqual([]);
    r.onGateway('update', asObject(gateway('gw', 2)));
    expect(take()).toEqual(['sync prober', 'EgressGateway/gw']);
  });

  it('queues the other gateways when one is created, changes its spec or is deleted (their pools may overlap)', () => {
    const { r, take } = router([gateway('a'), gateway('b')]);
    r.onGateway('add', asObject(gateway('a')));
    expect(take()).toEqual(['sync prober', 'EgressGateway/a', 'EgressGateway/b']);
    r.onGateway('update', asObject(gateway('a', 1, { readyNodes: 2 })));
    expect(take()).toEqual([]);
    r.onGateway('update', asObject(gateway('a', 2)));
    expect(take()).toEqual(['sync prober', 'EgressGateway/a', 'EgressGateway/b']);
  });

  it("on a gateway's deletion, forgets it and queues its policies, then the gateway", () => {
    const { r, take } = router([], [policy('p', 'gw'), policy('q', 'other')]);
    r.onGateway('delete', asObject(gateway('gw')));
    expect(take()).toEqual(['forget gw', 'EgressPolicy/team-a/p', 'sync prober', 'EgressGateway/gw']);
  });

  it('hands a policy to its gateway, and to the gateway it named before when that changes', () => {
    const { r, take } = router([gateway('a'), gateway('b')]);
    r.onPolicy('add', asObject(policy('p', 'a')));
    expect(take()).toEqual(['EgressGateway/a']);
    r.onPolicy('update', asObject(policy('p', 'b', 2)));
    expect(take()).toEqual(['EgressGateway/a', 'EgressGateway/b']);
    r.onPolicy('update', asObject(policy('p', 'b', 2)));
    expect(take()).toEqual([]);
  });

  it('queues the policy itself when its gateway does not exist, but not once it is deleted', () => {
    const { r, take } = router([]);
    r.onPolicy('add', asObject(policy('p', 'missing')));
    expect(take()).toEqual(['EgressPolicy/team-a/p']);
    r.onPolicy('delete', asObject(policy('p', 'missing')));
    expect(take()).toEqual(['forget p']);
  });

  it('on a node change, syncs the prober and queues every gateway; a deleted node is reported first', () => {
    const { r, take } = router([gateway('a'), gateway('b')]);
    const n = node('n1', { egress: 'true' });
    r.onNode('add', n);
    expect(take()).toEqual(['sync prober', 'EgressGateway/a', 'EgressGateway/b']);
    r.onNode('update', { ...n, metadata: { ...n.metadata, annotations: { unrelated: 'x' } } });
    expect(take()).toEqual([]);
    r.onNode('update', node('n1', { egress: 'false' }));
    expect(take()).toEqual(['sync prober', 'EgressGateway/a', 'EgressGateway/b']);
    r.onNode('delete', n);
    expect(take()).toEqual(['deleted n1', 'sync prober', 'EgressGateway/a', 'EgressGateway/b']);
  });

  it("on a node's Ready change, queues only the gateways that select it or hold IPs on it, urgent when it fails", () => {
    const other = (name: string): EgressGateway => ({
      ...gateway(name),
      spec: { nodeSelector: { matchLabels: { egress: 'other' } } },
    });
    const holder = {
      ...policy('p', 'c'),
      status: { assignments: [{ ip: '10.1.0.5', node: 'n1', state: 'Ready' as const }] },
    };
    const { r, take } = router([gateway('a'), other('b'), other('c')], [holder, policy('q', 'b')]);
    r.onNode('add', node('n1', { egress: 'true' }));
    take();
    r.onNode('update', node('n1', { egress: 'true' }, false));
    expect(take()).toEqual(['sync prober', 'EgressGateway/a (urgent)', 'EgressGateway/c (urgent)']);
    r.onNode('update', node('n1', { egress: 'true' }, true));
    expect(take()).toEqual(['sync prober', 'EgressGateway/a', 'EgressGateway/c']);
  });

  it('queues the gateways of a node urgent when it may no longer hold IPs: not Ready, draining, deleting', () => {
    const ready = node('n1', { egress: 'true' });
    expect(nodeChangePriority(ready)).toBe('normal');
    expect(nodeChangePriority(node('n1', { egress: 'true' }, false))).toBe('urgent');
    expect(nodeChangePriority({ ...ready, spec: { unschedulable: true } })).toBe('urgent');
    expect(
      nodeChangePriority({ ...ready, metadata: { ...ready.metadata, deletionTimestamp: new Date() } }),
    ).toBe('urgent');
  });

  it("queues every gateway on a namespace's label change; an agent Pod change only syncs the prober", () => {
    const { r, take } = router([gateway('a')]);
    r.onNamespace('add', { metadata: { name: 'team-a', labels: { team: 'a' } } });
    r.onNamespace('update', { metadata: { name: 'team-a', labels: { team: 'a' }, annotations: { x: 'y' } } });
    expect(take()).toEqual(['EgressGateway/a']);
    const pod: V1Pod = {
      metadata: { name: 'agent-1', namespace: 'cloud-egress' },
      spec: { nodeName: 'n1', containers: [] },
    };
    r.onAgentPod('add', pod);
    r.onAgentPod('update', { ...pod, metadata: { ...pod.metadata, deletionTimestamp: new Date(0) } });
    expect(take()).toEqual(['sync prober', 'sync prober']);
  });

  it('queues every gateway but one, and everything', () => {
    const { r, take } = router([gateway('a'), gateway('b')], [policy('p', 'a')]);
    r.enqueueGateways('a');
    expect(take()).toEqual(['EgressGateway/b']);
    r.enqueueAll();
    expect(take()).toEqual(['EgressGateway/a', 'EgressGateway/b', 'EgressPolicy/team-a/p']);
  });
});

describe('probeTargets', () => {
  it('probes the nodes some gateway selects, with their address, readiness and agent restarts', () => {
    const draining = node('n3', { egress: 'true' });
    draining.spec = { unschedulable: true };
    const targets = probeTargets(
      [gateway('a')],
      [node('n1', { egress: 'true' }), node('n2', {}), draining],
      [
        {
          metadata: { name: 'agent-3', deletionTimestamp: new Date(0) },
          spec: { nodeName: 'n3', containers: [] },
        },
        { metadata: { name: 'agent-1' }, spec: { nodeName: 'n1', containers: [] } },
      ],
    );
    expect(targets).toEqual([
      { node: 'n1', address: '10.0.0.1', ready: true, agentRestarting: false, draining: false },
      { node: 'n3', address: '10.0.0.3', ready: true, agentRestarting: true, draining: true },
    ]);
  });
});
