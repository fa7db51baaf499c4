import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clusterPolicy, egressPolicy, inputs, pod } from '../../test/support/policy-fixtures.ts';
import type { AnyEgressPolicy } from '../api/index.ts';
import { policyKey } from '../kube/objects.ts';
import { DesiredCache } from './desired-cache.ts';
import { desiredState } from './desired-state.ts';
import { markChain, policyPrefix, policySets, SETS } from './nft-model.ts';
import { type DataplaneSettings, DEFAULT_DATAPLANE_SETTINGS } from './settings.ts';
import { tunnelLinkLocal, tunnelMac } from './tunnel-mac.ts';

/** The egress rows alone: the return path `tunnel` adds its own (tested in node-dataplane.test.ts). */
const S: DataplaneSettings = { ...DEFAULT_DATAPLANE_SETTINGS, returnPath: 'podNetwork' };

const ready = (ip: string, node: string) => ({ ip, node, state: 'Ready' as const });
const podsSet = (d: ReturnType<typeof desiredState>['desired']) => {
  const name = Object.keys(d.nft.sets).find((k) => k.endsWith('_pods4'))!;
  return d.nft.sets[name]!;
};

describe('desiredState', () => {
  it('given a cached pod, when its egress IP is replaced by another with the same mark id, then the pod follows the new IP', () => {
    // Under the default mask 0x3fff, 10.0.1.17 and 10.0.65.16 both prefer mark id 1 + (ip mod 16383).
    const [before, after] = ['10.0.1.17', '10.0.65.16'];
    const id = (ip: string) => 1 + Number(ip.split('.').reduce((n, o) => n * 256n + BigInt(o), 0n) % 16383n);
    expect(id(before)).toBe(id(after));
    const cache = new DesiredCache();
    const pods = [pod('a', '10.244.1.10')];
    const first = desiredState(
      inputs({ policies: [egressPolicy([ready(before, 'node-2')])], pods }),
      S,
      cache,
    );
    expect(first.podsByIp).toEqual(new Map([[before, 1]]));
    const second = desiredState(
      inputs({ policies: [egressPolicy([ready(after, 'node-2')])], pods }),
      S,
      cache,
    );
    expect(second.podsByIp).toEqual(new Map([[after, 1]]));
  });

  it('steers a selected pod on a source node into the tunnel towards the gateway node', () => {
    const { desired } = desiredState(
      inputs({ policies: [egressPolicy([ready('10.0.1.17', 'node-2')])], pods: [pod('a', '10.244.1.10')] }),
      S,
    );
    const id = 1 + ((10 * 2 ** 24 + 1 * 256 + 17) % S.markMask);
    expect(podsSet(desired)).toEqual(new Map([['10.244.1.10', `goto ${markChain(id)}`]]));
    expect(desired.rules).toEqual([
      { mark: id, mask: S.markMask, table: S.tableBase + id, priority: S.rulePriority },
    ]);
    expect(desired.routes).toEqual([
      { table: S.tableBase + id, kind: 'via', via: '10.0.0.2', dev: S.tunnelName },
      { table: S.tableBase + id, kind: 'throw', dst: '10.0.0.2' },
    ]);
    expect(desired.peers).toEqual([{ nodeIp: '10.0.0.2', mac: '02:ce:0a:00:00:02' }]);
    expect(desired.addresses).toEqual([]);
    expect(desired.tunnel).toMatchObject({ localIp: '10.0.0.1', parent: 'eth0', mtu: 9001 - 50 });
    expect(desired.nftStructure).not.toContain('snat ip to');
  });

  it('holds the IP, SNATs to it and routes nothing into the tunnel on the gateway node', () => {
    const { desired } = desiredState(
      inputs({ policies: [egressPolicy([ready('10.0.1.17', 'node-1')])], pods: [pod('a', '10.244.1.10')] }),
      S,
    );
    expect(desired.addresses).toEqual([{ ip: '10.0.1.17', dev: 'eth0' }]);
    expect(desired.rules).toEqual([]);
    expect(desired.peers).toEqual([]);
    expect(desired.nftStructure).toMatch(/snat ip to 10\.0\.1\.17/);
    expect([...desired.nft.sets[SETS.owned]!.keys()]).toEqual(['10.0.1.17']);
    expect(desired.nft.sets[SETS.held]!.size).toBe(1);
    expect(podsSet(desired).get('10.244.1.10')).toMatch(/^goto m\d+$/);
  });

  it('with a dedicated egress interface: the IP on it, marked and sourced traffic routed out by it', () => {
    const base = inputs({
      policies: [egressPolicy([ready('10.0.1.17', 'node-1'), ready('10.0.1.18', 'node-2')])],
      pods: [pod('a', '10.244.1.10')],
    });
    const egress = { iface: 'eth1', gateway: '10.0.1.1' };
    const { desired } = desiredState({ ...base, node: { ...base.node, egress } }, S);
    const id = 1 + ((10 * 2 ** 24 + 1 * 256 + 17) % S.markMask);
    expect(desired.addresses).toEqual([{ ip: '10.0.1.17', dev: 'eth1' }]);
    const toEgress = { table: S.tableBase, priority: S.rulePriority };
    expect(desired.rules).toEqual(
      expect.arrayContaining([
        { mark: id, mask: S.markMask, ...toEgress },
        { mark: 0, mask: 0, from: '10.0.1.17', ...toEgress },
      ]),
    );
    expect(desired.routes).toContainEqual({ table: S.tableBase, kind: 'via', via: '10.0.1.1', dev: 'eth1' });
    // The tunnel stays on the node IP's device.
    expect(desired.tunnel).toMatchObject({ parent: 'eth0', localIp: '10.0.0.1' });
    // Holding nothing: no egress rules or route.
    const idle = desiredState(
      { ...base, policies: [egressPolicy([ready('10.0.1.18', 'node-2')])], node: { ...base.node, egress } },
      S,
    ).desired;
    expect(idle.routes.filter((r) => r.table === S.tableBase)).toEqual([]);
    expect(idle.rules.filter((r) => r.table === S.tableBase)).toEqual([]);
  });

  it('with a dedicated egress interface and an IPv6 gateway: IPv6 egress IPs routed out by it in ip -6; without one, no IPv6 rules', () => {
    const base = inputs({
      policies: [egressPolicy([ready('10.0.1.17', 'node-1'), ready('2001:db8::17', 'node-1')])],
      pods: [pod('a', '10.244.1.10')],
    });
    const egress = { iface: 'eth1', gateway: '10.0.1.1', gateway6: 'fe80::1' };
    const { desired } = desiredState({ ...base, node: { ...base.node, egress } }, S);
    expect(desired.addresses).toEqual(
      expect.arrayContaining([
        { ip: '10.0.1.17', dev: 'eth1' },
        { ip: '2001:db8::17', dev: 'eth1' },
      ]),
    );
    const egressRules = desired.rules.filter((r) => r.table === S.tableBase);
    expect(egressRules.filter((r) => r.family === 6).map((r) => r.from ?? 'mark')).toEqual([
      'mark',
      '2001:db8::17',
    ]);
    expect(egressRules.filter((r) => r.family === undefined).map((r) => r.from ?? 'mark')).toEqual([
      'mark',
      '10.0.1.17',
    ]);
    expect(desired.routes.filter((r) => r.table === S.tableBase)).toEqual([
      { table: S.tableBase, kind: 'via', via: '10.0.1.1', dev: 'eth1' },
      { table: S.tableBase, kind: 'via', via: 'fe80::1', dev: 'eth1' },
    ]);
    const without = desiredState(
      { ...base, node: { ...base.node, egress: { iface: 'eth1', gateway: '10.0.1.1' } } },
      S,
    ).desired;
    expect(without.rules.filter((r) => r.family === 6 && r.table === S.tableBase)).toEqual([]);
    expect(without.routes.filter((r) => r.table === S.tableBase)).toHaveLength(1);
  });

  it('leaves out unselected pods, pods of other namespaces, and keeps cluster traffic out', () => {
    const { desired } = desiredState(
      inputs({
        policies: [egressPolicy([ready('10.0.1.17', 'node-2')])],
        pods: [pod('a', '10.244.1.10', { app: 'web' }), pod('b', '10.244.1.11', { app: 'api' }, 'lab')],
      }),
      S,
    );
    expect(podsSet(desired).size).toBe(0);
    expect(desired.rules).toEqual([]);
    expect([...desired.nft.sets[SETS.cluster]!.keys()]).toEqual([
      '10.0.0.1-10.0.0.3',
      '10.96.0.0-10.111.255.255',
      '10.244.0.0-10.244.255.255',
      // Link-local (instance metadata, NodeLocal DNSCache) is the node's own, never a gateway's.
      '169.254.0.0-169.254.255.255',
    ]);
  });

  it('selects pods of labelled namespaces with a ClusterEgressPolicy', () => {
    const { desired } = desiredState(
      inputs({
        policies: [clusterPolicy([ready('10.0.1.17', 'node-2')])],
        pods: [pod('a', '10.244.1.10'), pod('b', '10.244.1.11', { app: 'api' }, 'lab')],
      }),
      S,
    );
    expect([...podsSet(desired).keys()]).toEqual(['10.244.1.10']);
  });

  it('programs a Pending IP on the node it is moving to, like an Assigned or Ready one', () => {
    const pending = desiredState(
      inputs({
        policies: [egressPolicy([{ ip: '10.0.1.17', node: 'node-2', state: 'Pending' }])],
        pods: [pod('a', '10.244.1.10')],
      }),
      S,
    );
    const settled = desiredState(
      inputs({
        policies: [egressPolicy([ready('10.0.1.17', 'node-2')])],
        pods: [pod('a', '10.244.1.10')],
      }),
      S,
    );
    expect(pending.desired.rules).toHaveLength(1);
    expect(pending.desired.rules).toEqual(settled.desired.rules);
    expect(pending.desired.routes).toEqual(settled.desired.routes);
    expect(podsSet(pending.desired)).toEqual(podsSet(settled.desired));
    expect(pending.podsWithoutIp).toBe(0);
  });

  it('a planned move from node-2 to node-3: both hold the IP and copy to each other, sources steer by `node`', () => {
    const result = (node: string, handover: object, me: string) =>
      desiredState(
        inputs(
          {
            policies: [egressPolicy([{ ...ready('10.0.1.17', node), ...handover }])],
            pods: [pod('a', '10.244.1.10')],
          },
          me,
        ),
        S,
      );
    const at = (node: string, handover: object, me: string) => result(node, handover, me).desired;
    for (const [node, handover] of [
      ['node-2', { handoverTo: 'node-3' }],
      ['node-3', { handoverFrom: 'node-2' }],
    ] as const) {
      const old = at(node, handover, 'node-2');
      const next = at(node, handover, 'node-3');
      expect(old.addresses.map((a) => a.ip)).toEqual(['10.0.1.17']);
      expect(next.addresses.map((a) => a.ip)).toEqual(['10.0.1.17']);
      expect(old.nftStructure).toMatch(/ether daddr set 02:ce:0a:00:00:03 dup to "cegress0"/);
      expect(old.peers.map((p) => p.nodeIp)).toContain('10.0.0.3');
      expect(next.nftStructure).toMatch(/ether daddr set 02:ce:0a:00:00:02 dup to "cegress0"/);
      expect(next.peers.map((p) => p.nodeIp)).toContain('10.0.0.2');
      // Each gateway sends the answers it has no connection for on to the other, through the egress IP's own
      // neighbour entry on the tunnel (its MAC readdressed by the tunnel's egress hook).
      for (const [gw, other] of [
        [old, '10.0.0.3'],
        [next, '10.0.0.2'],
      ] as const) {
        expect(gw.peers).toContainEqual({ nodeIp: '10.0.1.17', mac: '02:ce:0a:00:01:11' });
        expect(gw.nftStructure).toContain(`dup to ip daddr map { 10.0.1.17 : ${other} } device "cegress0"`);
      }
      expect(at(node, handover, 'node-1').peers.map((p) => p.nodeIp)).not.toContain('10.0.1.17');
      // The two gateways adopt the move's half-open connections meanwhile; the source node has none.
      expect(result(node, handover, 'node-2').handingOver).toEqual(['10.0.1.17']);
      expect(result(node, handover, 'node-3').handingOver).toEqual(['10.0.1.17']);
      expect(result(node, handover, 'node-1').handingOver).toEqual([]);
      // The source node (node-1, with the pod) routes to the node named in `node`.
      const source = at(node, handover, 'node-1');
      expect(source.addresses).toEqual([]);
      expect(source.routes).toContainEqual(
        expect.objectContaining({ kind: 'via', via: node === 'node-2' ? '10.0.0.2' : '10.0.0.3' }),
      );
    }
    // Without the handover the old node lets go.
    expect(at('node-3', {}, 'node-2').addresses).toEqual([]);
    expect(result('node-3', {}, 'node-3').handingOver).toEqual([]);
  });

  it('programs no Failed IP; a policy without a usable IP drops its pods (fails closed)', () => {
    const result = desiredState(
      inputs({
        policies: [
          egressPolicy([
            { ip: '10.0.1.17', node: 'node-2', state: 'Failed' },
            { ip: '10.0.1.18', node: 'node-3', state: 'Failed' },
          ]),
        ],
        pods: [pod('a', '10.244.1.10')],
      }),
      S,
    );
    expect(podsSet(result.desired)).toEqual(new Map([['10.244.1.10', 'drop']]));
    expect(result.desired.rules).toEqual([]);
    expect(result.podsWithoutIp).toBe(1);
  });

  it('merges overlapping destination CIDRs and defaults to everything', () => {
    const withCidrs = desiredState(
      inputs({
        policies: [
          egressPolicy([ready('10.0.1.17', 'node-2')], {
            destinationCIDRs: ['203.0.113.0/25', '203.0.113.128/25', '203.0.113.7/32', '2001:db8::/32'],
            excludedCIDRs: ['203.0.113.9/32'],
          }),
        ],
      }),
      S,
    ).desired;
    const names = policySets(
      Object.keys(withCidrs.nft.sets)
        .find((k) => k.endsWith('_dst4'))!
        .slice(0, -5),
    );
    expect([...withCidrs.nft.sets[names.dst]!.keys()]).toEqual(['203.0.113.0-203.0.113.255']);
    expect([...withCidrs.nft.sets[names.exc]!.keys()]).toEqual(['203.0.113.9-203.0.113.9']);
    const all = desiredState(inputs({ policies: [egressPolicy([ready('10.0.1.17', 'node-2')])] }), S).desired;
    expect([...all.nft.sets[names.dst]!.keys()]).toEqual(['0.0.0.0-255.255.255.255']);
  });

  it('skips IPs on nodes without a known IP, saying why', () => {
    const { desired, notes } = desiredState(
      inputs({
        policies: [egressPolicy([ready('10.0.1.17', 'node-9')])],
        pods: [pod('a', '10.244.1.10')],
      }),
      S,
    );
    expect(podsSet(desired).get('10.244.1.10')).toBe('drop');
    expect(notes).toEqual([
      'EgressPolicy/shop/to-partner: egress IP 10.0.1.17 skipped: node node-9 has no known InternalIP',
    ]);
  });

  it('steers a dual-stack pod per family: IPv6 through the tunnel by an ip -6 rule, its route via the link-local', () => {
    const policy = egressPolicy([ready('10.0.1.17', 'node-2'), ready('2001:db8::5', 'node-2')]);
    const dual = { ...pod('a', '10.244.1.10'), ips: ['10.244.1.10', 'fd00:244:1::10'] };
    const { desired, podsByIp, notes } = desiredState(inputs({ policies: [policy], pods: [dual] }), S);
    expect(notes).toEqual([]);
    expect([...podsByIp]).toEqual([
      ['10.0.1.17', 1],
      ['2001:db8::5', 1],
    ]);
    const names = policySets(policyPrefix(policyKey(policy)));
    const [v4, v6] = [
      podsSet(desired).get('10.244.1.10'),
      desired.nft.sets[names.pods6]!.get('fd00:244:1::10'),
    ];
    expect(v4).toMatch(/^goto m\d+$/);
    expect(v6).toMatch(/^goto m\d+$/);
    expect(v6).not.toBe(v4);
    // Its IPv6 destinations: everything (no destinationCIDRs), but the cluster's own and link-local.
    expect([...desired.nft.sets[names.dst6]!.keys()]).toEqual(['::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']);
    expect([...desired.nft.sets[SETS.cluster6]!.keys()]).toContain(
      'fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    );
    const gw = '10.0.0.2';
    const v6Rule = desired.rules.find((r) => r.family === 6);
    expect(v6Rule).toBeDefined();
    expect(desired.routes.filter((r) => r.table === v6Rule!.table)).toEqual([
      { table: v6Rule!.table, kind: 'via', via: tunnelLinkLocal(gw), dev: S.tunnelName },
    ]);
    expect(desired.peers).toContainEqual({ nodeIp: tunnelLinkLocal(gw), mac: tunnelMac(gw) });
    expect(desired.nftStructure).toContain('ip6 daddr @');
  });

  it('prefers IPs held in its own zone with zoneAffinity Preferred', () => {
    const policy = egressPolicy([ready('10.0.1.17', 'node-2'), ready('10.0.2.17', 'node-3')], {
      zoneAffinity: 'Preferred',
    });
    const pods = Array.from({ length: 20 }, (_, i) => pod(`p${i}`, `10.244.1.${i + 10}`));
    const { podsByIp } = desiredState(inputs({ policies: [policy], pods }), S);
    expect([...podsByIp]).toEqual([['10.0.1.17', 20]]);
  });

  it('matches a pod by the first policy: namespaced before cluster-wide, then oldest, then by name', () => {
    const at = <P extends AnyEgressPolicy>(p: P, creationTimestamp: string, name = p.metadata.name): P => ({
      ...p,
      metadata: { ...p.metadata, name, creationTimestamp },
    });
    const namespacedNew = at(egressPolicy([ready('10.0.1.17', 'node-2')]), '2026-03-01T00:00:00Z');
    const clusterOld = at(clusterPolicy([ready('10.0.1.18', 'node-2')]), '2026-01-01T00:00:00Z');
    const clusterB = at(clusterPolicy([ready('10.0.1.19', 'node-2')]), '2026-02-01T00:00:00Z', 'b');
    const clusterA = at(clusterPolicy([ready('10.0.1.20', 'node-2')]), '2026-02-01T00:00:00Z', 'a');
    const pods = [pod('a', '10.244.1.10')];
    const podsSetName = (p: AnyEgressPolicy) =>
      Object.keys(desiredState(inputs({ policies: [p], pods }), S).desired.nft.sets).find((k) =>
        k.endsWith('_pods4'),
      );
    // The classify chain tries the policies' pod maps in this order; the first that holds the pod decides.
    const { desired } = desiredState(
      inputs({ policies: [clusterB, clusterA, clusterOld, namespacedNew], pods }),
      S,
    );
    const classifyOrder = [...desired.nftStructure.matchAll(/vmap @(\S+_pods4)/g)].map((m) => m[1]);
    expect(classifyOrder).toEqual([namespacedNew, clusterOld, clusterA, clusterB].map(podsSetName));
  });

  it('is deterministic: the same inputs in any order give the same fingerprint and sets', () => {
    const a = inputs({
      policies: [
        egressPolicy([ready('10.0.1.17', 'node-2')]),
        egressPolicy([ready('10.0.1.30', 'node-3')], {}, 'b'),
      ],
      pods: [pod('a', '10.244.1.10'), pod('b', '10.244.1.11')],
    });
    const b = { ...a, policies: [...a.policies].reverse(), pods: [...a.pods].reverse() };
    expect(desiredState(a, S).desired.nft.fingerprint).toBe(desiredState(b, S).desired.nft.fingerprint);
    expect(desiredState(a, S).desired.nft.sets).toEqual(desiredState(b, S).desired.nft.sets);
  });

  it('moves only the pods of an IP that becomes unusable (rendezvous hashing)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 6 }), fc.integer({ min: 0, max: 5 }), (count, failIndex) => {
        const ips = Array.from({ length: count }, (_, i) => `10.0.1.${20 + i}`);
        const failed = ips[failIndex % count]!;
        const pods = Array.from({ length: 60 }, (_, i) => pod(`p${i}`, `10.244.1.${i + 10}`));
        const assign = (down: string | undefined) =>
          ips.map((ip) => ({
            ip,
            node: 'node-2',
            state: ip === down ? ('Failed' as const) : ('Ready' as const),
          }));
        const before = podsSet(
          desiredState(inputs({ policies: [egressPolicy(assign(undefined))], pods }), S).desired,
        );
        const after = podsSet(
          desiredState(inputs({ policies: [egressPolicy(assign(failed))], pods }), S).desired,
        );
        // The failed IP's mark chain is the one verdict that no longer occurs; exactly its pods move.
        const remaining = new Set(after.values());
        for (const [podIp, verdict] of before) {
          const moved = after.get(podIp) !== verdict;
          const wasOnFailed = !remaining.has(verdict);
          expect(moved).toBe(wasOnFailed);
        }
      }),
      { numRuns: 40 },
    );
  });
});
