// Over 300 lines: the table tests of the decide-* modules that build API objects, over the builders below.
import type { V1Namespace, V1Node } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { createInMemoryProviderFor, InMemoryCloud } from '../../providers/inmemory/index.ts';
import { ANNOTATIONS } from '../api/annotations.ts';
import { REASON } from '../api/conditions.ts';
import type { EgressGateway } from '../api/egress-gateway.ts';
import type { AnyEgressPolicy, EgressPolicy } from '../api/egress-policy.ts';
import type { CloudProvider, NodeRef } from '../provider/contract.ts';
import { decideAdmission, decideAdmissions } from './decide-admission.ts';
import { decideAssignmentEvents } from './decide-events.ts';
import { decideGatewayStatus } from './decide-gateway-status.ts';
import {
  concerning,
  decidePlan,
  type NodeNetworkResult,
  seedFromStatus,
  selectedNodes,
  spareCloudAllocated,
} from './decide-plan.ts';
import { decidePolicyStatus, decidePolicyStatuses } from './decide-policy-status.ts';
import { decideProvider, decideSettings } from './decide-provider.ts';

const node = (
  name: string,
  providerID: string,
  ready = true,
  labels: Record<string, string> = { egress: 'true' },
): V1Node => ({
  metadata: { name, labels },
  spec: { providerID },
  status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});

const gateway = (
  spec: Partial<EgressGateway['spec']> = {},
  annotations?: Record<string, string>,
): EgressGateway => ({
  apiVersion: 'cloudegress.io/v1alpha1',
  kind: 'EgressGateway',
  metadata: { name: 'gw', generation: 1, ...(annotations ? { annotations } : {}) },
  spec: { nodeSelector: { matchLabels: { egress: 'true' } }, ips: ['10.0.1.100-10.0.1.109'], ...spec },
});

const policy = (
  name: string,
  spec: Partial<EgressPolicy['spec']> = {},
  status?: EgressPolicy['status'],
): EgressPolicy => ({
  apiVersion: 'cloudegress.io/v1alpha1',
  kind: 'EgressPolicy',
  metadata: {
    name,
    namespace: 'team-a',
    generation: 1,
    creationTimestamp: `2026-01-01T00:00:0${name.length}Z`,
  },
  spec: { gatewayName: 'gw', podSelector: {}, ...spec },
  ...(status ? { status } : {}),
});

describe('decideProvider', () => {
  const aws = node('a', 'aws:///us-east-1a/i-1');
  const gce = node('b', 'gce://proj/us-central1-a/b');
  it.each([
    ['annotation wins', gateway({}, { [ANNOTATIONS.provider]: 'gcp' }), [aws], 'auto', 'gcp'],
    ['flag wins over detection', gateway(), [aws], 'azure', 'azure'],
    ['detected from providerID', gateway(), [aws], 'auto', 'aws'],
  ] as const)('%s', (_title, gw, nodes, choice, expected) => {
    expect(decideProvider(gw, nodes, choice)).toEqual({ ok: true, name: expected });
  });

  it.each([
    [
      'unknown annotation',
      gateway({}, { [ANNOTATIONS.provider]: 'openstack' }),
      [aws],
      REASON.ProviderUnknown,
      /openstack/,
    ],
    ['mixed nodes', gateway(), [aws, gce], REASON.ProviderMixed, /aws: a; gcp: b/],
    [
      'unknown scheme',
      gateway(),
      [node('k', 'kind://docker/k')],
      REASON.ProviderUnknown,
      /kind:\/\/docker\/k/,
    ],
    ['no nodes', gateway(), [], REASON.NoNodes, /selects no Node/],
  ] as const)('%s is a clear condition', (_title, gw, nodes, reason, message) => {
    const decision = decideProvider(gw, nodes, 'auto');
    expect(decision.ok).toBe(false);
    if (!decision.ok) {
      expect(decision.reason).toBe(reason);
      expect(decision.message).toMatch(message);
    }
  });

  it('refuses a test-only provider (inmemory) unless test providers are enabled', () => {
    const annotated = gateway({}, { [ANNOTATIONS.provider]: 'inmemory' });
    const detected = [node('m', 'inmemory:///zone-a/m')];
    for (const [gw, nodes, choice] of [
      [annotated, [aws], 'auto'],
      [gateway(), detected, 'auto'],
      [gateway(), [aws], 'inmemory'],
    ] as const) {
      const decision = decideProvider(gw, nodes, choice);
      expect(decision).toMatchObject({ ok: false, reason: REASON.ProviderUnknown });
      if (!decision.ok) expect(decision.message).toMatch(/"inmemory" is for tests only/);
      expect(decideProvider(gw, nodes, choice, { testProviders: true })).toEqual({
        ok: true,
        name: 'inmemory',
      });
    }
  });

  it('settings: annotations override the flags', () => {
    const gw = gateway({}, { [ANNOTATIONS.region]: 'eu-west-1', [ANNOTATIONS.interface]: '1' });
    expect(
      decideSettings(gw, { owner: 'c1', region: 'us-east-1', endpoint: 'http://127.0.0.1:4566' }),
    ).toEqual({
      owner: 'c1',
      region: 'eu-west-1',
      endpoint: 'http://127.0.0.1:4566',
      interface: '1',
    });
  });
});

describe('decideAdmission', () => {
  const ns = (labels: Record<string, string>): V1Namespace => ({ metadata: { name: 'team-a', labels } });
  it('admits no namespaced policy when the gateway has no namespaceSelector', () => {
    const result = decideAdmission(policy('p'), gateway(), ns({ team: 'a' }));
    expect(result).toMatchObject({ admitted: false, reason: REASON.NamespaceNotAdmitted });
  });
  it('admits every namespace with {}', () => {
    expect(decideAdmission(policy('p'), gateway({ namespaceSelector: {} }), ns({}))).toEqual({
      admitted: true,
    });
  });
  it('admits by label', () => {
    const gw = gateway({ namespaceSelector: { matchLabels: { team: 'a' } } });
    expect(decideAdmission(policy('p'), gw, ns({ team: 'a' }))).toEqual({ admitted: true });
    expect(decideAdmission(policy('p'), gw, ns({ team: 'b' }))).toMatchObject({ admitted: false });
  });
  it('always admits a ClusterEgressPolicy', () => {
    const cluster: AnyEgressPolicy = {
      apiVersion: 'cloudegress.io/v1alpha1',
      kind: 'ClusterEgressPolicy',
      metadata: { name: 'c' },
      spec: { gatewayName: 'gw', podSelector: {}, namespaceSelector: {} },
    };
    expect(decideAdmission(cluster, gateway(), undefined)).toEqual({ admitted: true });
  });
});

describe('decideAdmissions', () => {
  const ns = (name: string, labels: Record<string, string>): V1Namespace => ({ metadata: { name, labels } });
  const namespaces = new Map([
    ['team-a', ns('team-a', { team: 'a' })],
    ['team-b', ns('team-b', { team: 'b' })],
  ]);
  const inNamespace = (name: string, namespace: string, deletionTimestamp?: string): EgressPolicy => {
    const p = policy(name);
    return {
      ...p,
      metadata: { ...p.metadata, namespace, ...(deletionTimestamp ? { deletionTimestamp } : {}) },
    };
  };
  const gw = gateway({ namespaceSelector: { matchLabels: { team: 'a' } } });
  const a = inNamespace('a', 'team-a');
  const b = inNamespace('b', 'team-b');
  const gone = inNamespace('gone', 'team-a', '2026-01-01T00:00:00Z');

  it('splits the live policies into admitted and rejected, in order, and leaves out those being deleted', () => {
    const { admitted, rejected } = decideAdmissions({
      gateway: gw,
      gatewayDeleting: false,
      policies: [b, gone, a],
      namespace: (name) => namespaces.get(name),
    });
    expect(admitted).toEqual([a]);
    expect(rejected).toEqual([
      {
        policy: b,
        reason: REASON.NamespaceNotAdmitted,
        message: expect.stringMatching(/namespace "team-b"/),
      },
    ]);
  });

  it('admits and rejects nothing while the gateway is being deleted (every IP is released)', () => {
    expect(
      decideAdmissions({
        gateway: gw,
        gatewayDeleting: true,
        policies: [a, b],
        namespace: (name) => namespaces.get(name),
      }),
    ).toEqual({ admitted: [], rejected: [] });
  });
});

/** A world: an in-memory cloud with three nodes in one subnet, and the helpers to plan and apply. */
function world() {
  const cloud = new InMemoryCloud();
  const provider = createInMemoryProviderFor(cloud, { owner: 'test' });
  const nodes = ['n1', 'n2', 'n3'].map((name, i) => {
    cloud.addInstance({ name, zone: 'z1', subnet: '10.0.1.0/24', primaryIP: `10.0.1.${10 + i}`, limit: 10 });
    return node(name, `inmemory:///z1/${name}`);
  });
  const refs = new Map<string, NodeRef>(
    nodes.map((n) => [n.metadata!.name!, { name: n.metadata!.name!, providerID: n.spec!.providerID! }]),
  );
  return { cloud, provider, nodes, refs };
}

async function plan(
  w: ReturnType<typeof world>,
  provider: CloudProvider,
  policies: AnyEgressPolicy[],
  healthy: (n: string) => boolean = () => true,
) {
  const networks = new Map<string, NodeNetworkResult>();
  for (const ref of w.refs.values())
    networks.set(ref.name, { ok: true, network: await provider.describeNode(ref) });
  const current = await provider.listAssignments([...w.refs.values()]);
  return decidePlan({
    gateway: gateway(),
    members: w.nodes,
    networks,
    healthy,
    policies,
    otherPolicies: [],
    otherGateways: [],
    nodeAddresses: new Map(),
    subnetReserved: { first: 4, last: 1 },
    current,
    refs: w.refs,
    cloudAllocatedIPs: [],
  });
}

/** The cloud's placement as IP -> node. */
const cloudPlacement = (cloud: InMemoryCloud) =>
  Object.fromEntries(
    [...cloud.instances.values()].flatMap((i) => [...i.secondary.keys()].map((ip) => [ip, i.name])),
  );

describe('decidePlan with the in-memory cloud', () => {
  it("places a policy, then moves only the failed node's IPs, and the cloud agrees", async () => {
    const w = world();
    const first = await plan(w, w.provider, [policy('p', { count: 3 })]);
    expect(first.changes.filter((c) => c.kind === 'assign')).toHaveLength(3);
    await w.provider.apply({ changes: first.changes });
    const before = cloudPlacement(w.cloud);
    expect(Object.keys(before).sort()).toEqual(['10.0.1.100', '10.0.1.101', '10.0.1.102']);
    expect(new Set(Object.values(before)).size).toBe(3);

    const withStatus = policy(
      'p',
      { count: 3 },
      {
        assignments: first.plan.placements.map((p) => ({ ip: p.ip, node: p.node, state: 'Ready' as const })),
      },
    );
    const failedNode = before['10.0.1.100']!;
    const second = await plan(w, w.provider, [withStatus], (n) => n !== failedNode);
    expect(second.changes).toHaveLength(1);
    expect(second.changes[0]).toMatchObject({ kind: 'assign', ip: '10.0.1.100', from: { name: failedNode } });
    await w.provider.apply({ changes: second.changes });
    const after = cloudPlacement(w.cloud);
    expect(after['10.0.1.100']).not.toBe(failedNode);
    expect(after['10.0.1.101']).toBe(before['10.0.1.101']);
    expect(after['10.0.1.102']).toBe(before['10.0.1.102']);
    expect(w.cloud.holderOf('10.0.1.100')?.name).toBe(after['10.0.1.100']);
  });

  it('moves the IPs off a node whose interface the provider refuses, places none there, and keeps them where no node can take them', async () => {
    const w = world();
    const first = await plan(w, w.provider, [policy('p', { count: 3 })]);
    await w.provider.apply({ changes: first.changes });
    const before = cloudPlacement(w.cloud);
    const withStatus = policy(
      'p',
      { count: 3 },
      {
        assignments: first.plan.placements.map((p) => ({ ip: p.ip, node: p.node, state: 'Ready' as const })),
      },
    );
    const refusing = (refused: (node: string) => boolean): CloudProvider => ({
      ...w.provider,
      describeNode: async (ref) => {
        const network = await w.provider.describeNode(ref);
        return refused(ref.name) ? { ...network, refusal: `${ref.name}: refused (fix: tag it)` } : network;
      },
    });
    const victim = before['10.0.1.100']!;
    const second = await plan(
      w,
      refusing((n) => n === victim),
      [withStatus],
    );
    expect(second.nodes.find((n) => n.name === victim)).toMatchObject({
      healthy: true,
      refusal: `${victim}: refused (fix: tag it)`,
    });
    expect(second.changes).toEqual([
      expect.objectContaining({
        kind: 'assign',
        ip: '10.0.1.100',
        from: expect.objectContaining({ name: victim }),
      }),
    ]);
    expect(second.changes[0]).not.toMatchObject({ node: { name: victim } });

    // Every node refused: nothing moves, nothing is released.
    const third = await plan(
      w,
      refusing(() => true),
      [withStatus],
    );
    expect(third.changes).toEqual([]);
    expect(third.plan.placements.map((p) => [p.ip, p.node]).sort()).toEqual(Object.entries(before).sort());
  });

  it('releases the IPs of a policy that is gone (deleted or no longer admitted)', async () => {
    const w = world();
    const first = await plan(w, w.provider, [policy('p', { count: 2 })]);
    await w.provider.apply({ changes: first.changes });
    const second = await plan(w, w.provider, []);
    expect(second.changes.map((c) => c.kind)).toEqual(['release', 'release']);
    await w.provider.apply({ changes: second.changes });
    expect(cloudPlacement(w.cloud)).toEqual({});
  });

  it('repairs drift: an IP removed by hand in the cloud is assigned again', async () => {
    const w = world();
    const first = await plan(w, w.provider, [policy('p', { count: 1 })]);
    await w.provider.apply({ changes: first.changes });
    const [ip, holder] = Object.entries(cloudPlacement(w.cloud))[0]!;
    w.cloud.instances.get(holder)!.secondary.delete(ip);
    const withStatus = policy('p', { count: 1 }, { assignments: [{ ip, node: holder, state: 'Ready' }] });
    const second = await plan(w, w.provider, [withStatus]);
    expect(second.changes).toEqual([{ kind: 'assign', ip, node: w.refs.get(holder) }]);
  });

  it("reports a node the cloud cannot describe as unhealthy with the cloud's message", async () => {
    const w = world();
    w.cloud.instances.delete('n3');
    const networks = new Map<string, NodeNetworkResult>();
    for (const ref of w.refs.values()) {
      try {
        networks.set(ref.name, { ok: true, network: await w.provider.describeNode(ref) });
      } catch (err) {
        networks.set(ref.name, { ok: false, message: (err as Error).message });
      }
    }
    const d = decidePlan({
      gateway: gateway(),
      members: w.nodes,
      networks,
      healthy: () => true,
      policies: [policy('p', { count: 3 })],
      otherPolicies: [],
      otherGateways: [],
      nodeAddresses: new Map(),
      subnetReserved: { first: 4, last: 1 },
      current: [],
      refs: w.refs,
      cloudAllocatedIPs: [],
    });
    expect(d.nodes.find((n) => n.name === 'n3')).toMatchObject({
      healthy: false,
      problem: expect.stringMatching(/not found/),
    });
    expect(new Set(d.plan.placements.map((p) => p.node))).toEqual(new Set(['n1', 'n2']));
  });
});

describe('selectedNodes', () => {
  it("keeps the nodes the gateway's nodeSelector matches, those being deleted too (they are leaving)", () => {
    const draining = node('d', '');
    draining.metadata!.deletionTimestamp = new Date('2026-01-01T00:00:00Z');
    const nodes = [node('a', ''), node('other', '', true, { egress: 'false' }), draining];
    expect(selectedNodes(gateway(), nodes).map((n) => n.metadata?.name)).toEqual(['a', 'd']);
  });
});

describe('decidePolicyStatus', () => {
  const t0 = new Date('2026-01-01T00:00:00Z');
  const t1 = new Date('2026-01-01T00:00:05Z');
  const placements = [
    { ip: '10.0.1.100', policy: 'EgressPolicy/team-a/p', gateway: 'gw', node: 'n2', previousNode: 'n1' },
  ];

  it('writes Pending for a changing IP before the cloud call, then Ready, with since moving on each change', () => {
    const p = policy(
      'p',
      {},
      { assignments: [{ ip: '10.0.1.100', node: 'n1', state: 'Ready', since: '2025-12-31T00:00:00Z' }] },
    );
    const pending = decidePolicyStatus({
      policy: p,
      placements,
      unplaced: [],
      phase: 'pending',
      outcomes: new Map(),
      changing: new Set(['10.0.1.100']),
      healthy: () => true,
      now: t0,
    });
    expect(pending.assignments).toEqual([
      {
        ip: '10.0.1.100',
        node: 'n2',
        state: 'Pending',
        reason: 'Pending',
        message: 'moving from n1',
        since: t0.toISOString(),
      },
    ]);
    const final = decidePolicyStatus({
      policy: { ...p, status: pending },
      placements,
      unplaced: [],
      phase: 'final',
      outcomes: new Map(),
      changing: new Set(['10.0.1.100']),
      healthy: () => true,
      now: t1,
    });
    expect(final.assignments).toEqual([
      { ip: '10.0.1.100', node: 'n2', state: 'Ready', since: t1.toISOString() },
    ]);
    expect(final.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'True',
      observedGeneration: 1,
    });
  });

  it("shows unplaced IPs as Failed with the scheduler's reason and message, and Degraded", () => {
    const status = decidePolicyStatus({
      policy: policy('p', { count: 2 }),
      placements: [],
      unplaced: [
        {
          policy: 'EgressPolicy/team-a/p',
          gateway: 'gw',
          reason: REASON.PoolExhausted,
          message: 'no free IP',
        },
      ],
      phase: 'final',
      outcomes: new Map(),
      changing: new Set(),
      healthy: () => true,
      now: t0,
    });
    expect(status.assignments).toEqual([
      { state: 'Failed', reason: 'PoolExhausted', message: 'no free IP', since: t0.toISOString() },
    ]);
    expect(status.conditions?.find((c) => c.type === 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'PoolExhausted',
    });
    expect(status.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'IPsNotReady',
    });
  });
});

describe('decidePolicyStatuses', () => {
  it("gives each policy its own placements, with the plan's changes and the nodes' health", () => {
    const a = policy('a');
    const b = policy('b');
    const statuses = decidePolicyStatuses(
      {
        plan: {
          allocations: [],
          stranded: [],
          placements: [
            { ip: '10.0.1.100', policy: 'EgressPolicy/team-a/a', gateway: 'gw', node: 'n1' },
            { ip: '10.0.1.101', policy: 'EgressPolicy/team-a/b', gateway: 'gw', node: 'n2' },
          ],
          unplaced: [
            {
              policy: 'EgressPolicy/team-a/b',
              gateway: 'gw',
              reason: REASON.PoolExhausted,
              message: 'no free IP',
            },
          ],
        },
        changes: [{ kind: 'assign', ip: '10.0.1.100', node: { name: 'n1', providerID: '' } }],
        nodes: [
          { name: 'n1', healthy: true, network: undefined },
          { name: 'n2', healthy: false, network: undefined },
        ],
      },
      [a, b],
      'pending',
      new Map(),
      new Date('2026-01-01T00:00:00Z'),
    );
    expect(statuses.map((s) => s.assignments?.map((e) => [e.ip, e.node, e.state]))).toEqual([
      [['10.0.1.100', 'n1', 'Pending']],
      [
        ['10.0.1.101', 'n2', 'Assigned'],
        [undefined, undefined, 'Failed'],
      ],
    ]);
  });
});

describe('decideGatewayStatus', () => {
  const input = {
    provider: 'inmemory',
    nodes: [{ name: 'n1', healthy: true, network: undefined }],
    held: new Map([['10.0.1.100', 'n1']]),
    overlaps: [],
    now: new Date('2026-01-01T00:00:00Z'),
  };

  it('counts the pool: spec.ips and the cloud-allocated IPs', () => {
    const status = decideGatewayStatus({ ...input, gateway: gateway(), cloudAllocatedIPs: ['10.0.2.7'] });
    expect(status).toMatchObject({ ipsTotal: 11, ipsUsed: 1, cloudAllocatedIPs: ['10.0.2.7'] });
    expect(status.conditions?.find((c) => c.type === 'Accepted')).toMatchObject({ status: 'True' });
  });

  it('lists the public addresses with their public IPs where the cloud has shown them', () => {
    const status = decideGatewayStatus({
      ...input,
      gateway: gateway(),
      cloudAllocatedIPs: [],
      publicAddresses: new Map([
        ['10.0.1.101', 'eipalloc-2'],
        ['10.0.1.100', 'eipalloc-1'],
      ]),
      publicIps: new Map([['eipalloc-1', '203.0.113.200']]),
    });
    expect(status.publicAddresses).toEqual([
      { ip: '10.0.1.100', address: 'eipalloc-1', publicIp: '203.0.113.200' },
      { ip: '10.0.1.101', address: 'eipalloc-2' },
    ]);
  });

  it('names each spec.ips entry that does not parse in Accepted=False InvalidSpec', () => {
    const status = decideGatewayStatus({
      ...input,
      gateway: gateway({ ips: ['10.0.1.100', 'ten', '10.0.1.300'] }),
      cloudAllocatedIPs: [],
    });
    expect(status.ipsTotal).toBe(1);
    expect(status.conditions?.find((c) => c.type === 'Accepted')).toMatchObject({
      status: 'False',
      reason: REASON.InvalidSpec,
      message: expect.stringMatching(/^spec\.ips\[1\]: "ten" .+; spec\.ips\[2\]: "10\.0\.1\.300" /),
    });
  });

  it('counts a pool too large for the status as the largest safe integer, and says why', () => {
    for (const huge of ['2001:db8:1::/64', '::/0']) {
      const status = decideGatewayStatus({
        ...input,
        gateway: gateway({ ips: [huge, '10.0.1.100-10.0.1.109', '10.0.0.0/8'] }),
        cloudAllocatedIPs: [],
      });
      expect(status.ipsTotal).toBe(Number.MAX_SAFE_INTEGER);
      expect(Number.isSafeInteger(status.ipsTotal)).toBe(true);
      expect(status.conditions?.find((c) => c.type === 'Accepted')).toMatchObject({
        status: 'False',
        reason: REASON.InvalidSpec,
        message: expect.stringContaining(`spec.ips[0]: "${huge}" has 2^`),
      });
    }
  });

  it('says on Conflicted which other gateways share its IPs, and which one hands out the shared ones', () => {
    const status = decideGatewayStatus({
      ...input,
      gateway: gateway(),
      cloudAllocatedIPs: [],
      overlaps: [{ gateway: 'a-first', shared: ['10.0.1.105-10.0.1.109'] }],
    });
    expect(status.conditions?.find((c) => c.type === 'Conflicted')).toMatchObject({
      status: 'True',
      reason: REASON.PoolOverlap,
      message: expect.stringContaining(
        'spec.ips shares IPs with EgressGateway "a-first" (10.0.1.105-10.0.1.109): each shared IP stays with the policy that holds it',
      ),
    });
    expect(status.conditions?.find((c) => c.type === 'Conflicted')?.message).toContain(
      'only EgressGateway "a-first" hands out fresh ones',
    );
  });
});

describe('concerning', () => {
  const other = (name: string, ips: string[], cloudAllocatedIPs?: string[]): EgressGateway => ({
    ...gateway({ ips }),
    metadata: { name, generation: 1 },
    ...(cloudAllocatedIPs ? { status: { cloudAllocatedIPs } } : {}),
  });
  it('keeps the other policies and gateways that can change the plan, and only those', () => {
    const mine = policy('mine', { egressIPs: ['10.9.0.7'] });
    const result = concerning({
      gateway: gateway(),
      cloudAllocatedIPs: [],
      policies: [mine],
      current: [{ ip: '10.8.0.3', node: 'a', interfaceId: 'eni-a' }],
      otherPolicies: [
        policy('in-my-pool', { gatewayName: 'o1' }, { assignments: [{ ip: '10.0.1.105', state: 'Ready' }] }),
        policy('wants-mine', { gatewayName: 'o1', egressIPs: ['10.9.0.7'] }),
        policy('on-my-node', { gatewayName: 'o1' }, { assignments: [{ ip: '10.8.0.3', state: 'Ready' }] }),
        policy('elsewhere', { gatewayName: 'o2' }, { assignments: [{ ip: '10.7.0.1', state: 'Ready' }] }),
      ],
      otherGateways: [
        other('o1', ['10.0.1.108-10.0.1.120']),
        other('o2', ['10.7.0.0/24']),
        other('o3', ['10.6.0.0/24'], ['10.0.1.101']),
      ],
    });
    expect(result.otherPolicies.map((p) => p.metadata.name)).toEqual([
      'in-my-pool',
      'wants-mine',
      'on-my-node',
    ]);
    expect(result.otherGateways.map((g) => g.metadata.name)).toEqual(['o1', 'o3']);
  });
});

describe('decideAssignmentEvents', () => {
  it('groups IPs into one Event per node or move, and warns once per new failure reason', () => {
    const events = decideAssignmentEvents(
      {
        assignments: [
          { ip: '10.0.0.1', node: 'a', state: 'Ready' },
          { ip: '10.0.0.2', node: 'a', state: 'Ready' },
          { ip: '10.0.0.3', node: 'b', state: 'Ready' },
          { ip: '10.0.0.9', node: 'b', state: 'Ready' },
          { ip: '10.0.0.7', state: 'Failed', reason: 'NoSubnet', message: 'old' },
        ],
      },
      {
        assignments: [
          { ip: '10.0.0.1', node: 'c', state: 'Ready' },
          { ip: '10.0.0.2', node: 'c', state: 'Ready' },
          { ip: '10.0.0.3', node: 'b', state: 'Ready' },
          { ip: '10.0.0.4', node: 'b', state: 'Ready' },
          { ip: '10.0.0.7', state: 'Failed', reason: 'NoSubnet', message: 'old' },
          { state: 'Failed', reason: 'PoolExhausted', message: 'no free IP' },
        ],
      },
    );
    expect(events).toEqual([
      { type: 'Normal', reason: 'Assigned', message: '10.0.0.4 assigned to b' },
      { type: 'Normal', reason: 'Moved', message: '10.0.0.1, 10.0.0.2 moved from a to c' },
      { type: 'Normal', reason: 'Released', message: '10.0.0.9 released from b' },
      { type: 'Warning', reason: 'PoolExhausted', message: 'no free IP' },
    ]);
  });

  it('records one Moved Event per policy when its IPs go to many nodes (no Event per IP)', () => {
    const ips = Array.from({ length: 8 }, (_, i) => `10.0.0.${i + 1}`);
    const events = decideAssignmentEvents(
      { assignments: ips.map((ip) => ({ ip, node: 'dead', state: 'Ready' as const })) },
      { assignments: ips.map((ip, i) => ({ ip, node: `n${i}`, state: 'Ready' as const })) },
    );
    expect(events).toEqual([
      {
        type: 'Normal',
        reason: 'Moved',
        message:
          '10.0.0.1 moved from dead to n0; 10.0.0.2 moved from dead to n1; 10.0.0.3 moved from dead to n2; 10.0.0.4 moved from dead to n3; 10.0.0.5 moved from dead to n4; and 3 more',
      },
    ]);
  });

  it('records nothing when nothing changed', () => {
    const status = { assignments: [{ ip: '10.0.0.1', node: 'a', state: 'Ready' as const }] };
    expect(decideAssignmentEvents(status, status)).toEqual([]);
  });
});

describe('the none provider (no record across restarts)', () => {
  it('keeps the placement from status after a restart: no change, no IP moved', async () => {
    const { createNoneProvider } = await import('../../providers/none/index.ts');
    const nodes = ['n1', 'n2'].map((name) => node(name, ''));
    const refs = new Map<string, NodeRef>(
      nodes.map((n) => [n.metadata!.name!, { name: n.metadata!.name!, providerID: '' }]),
    );
    const planWith = async (provider: CloudProvider, policies: AnyEgressPolicy[], seed: boolean) => {
      const networks = new Map<string, NodeNetworkResult>();
      for (const ref of refs.values())
        networks.set(ref.name, { ok: true, network: await provider.describeNode(ref) });
      const listed = await provider.listAssignments([...refs.values()]);
      return decidePlan({
        gateway: gateway(),
        members: nodes,
        networks,
        healthy: () => true,
        policies,
        otherPolicies: [],
        otherGateways: [],
        nodeAddresses: new Map(),
        subnetReserved: { first: 4, last: 1 },
        current: seed ? seedFromStatus(listed, policies) : listed,
        refs,
        cloudAllocatedIPs: [],
      });
    };
    const first = await planWith(createNoneProvider({ owner: 't' }), [policy('p', { count: 2 })], true);
    const status = {
      assignments: first.plan.placements.map((p) => ({ ip: p.ip, node: p.node, state: 'Ready' as const })),
    };
    // A new process: the provider remembers nothing; the status is the record.
    const restarted = await planWith(
      createNoneProvider({ owner: 't' }),
      [policy('p', { count: 2 }, status)],
      true,
    );
    expect(restarted.changes).toEqual([]);
    expect(restarted.plan.placements.map((p) => [p.ip, p.node])).toEqual(
      first.plan.placements.map((p) => [p.ip, p.node]),
    );
  });
});

describe('spareCloudAllocated', () => {
  const withAllocated = (cloudAllocated: number, deletionTimestamp?: string): EgressGateway => {
    const g = gateway({ cloudAllocated });
    return deletionTimestamp ? { ...g, metadata: { ...g.metadata, deletionTimestamp } } : g;
  };
  const plan = {
    placements: [{ ip: '10.0.1.50', node: 'a', policy: 'p', gateway: 'gw' }],
    unplaced: [],
    allocations: [],
  };
  const current = new Map([
    ['10.0.1.50', 'a'],
    ['10.0.1.51', 'a'],
    ['10.0.1.52', 'b'],
  ]);
  const picked = ['10.0.1.50', '10.0.1.51', '10.0.1.52', '10.0.1.53'];

  it('keeps the unused picked IPs the cloud holds, as many as cloudAllocated leaves beside the used ones', () => {
    expect([...spareCloudAllocated(withAllocated(4), picked, plan as never, current)]).toEqual([
      '10.0.1.51',
      '10.0.1.52',
    ]);
    expect([...spareCloudAllocated(withAllocated(2), picked, plan as never, current)]).toEqual(['10.0.1.51']);
  });

  it('keeps none once the gateway is being deleted', () => {
    const gone = withAllocated(4, '2026-01-01T00:00:00Z');
    expect(spareCloudAllocated(gone, picked, plan as never, current).size).toBe(0);
  });
});
