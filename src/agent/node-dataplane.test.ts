import { describe, expect, it } from 'vitest';
import { egressPolicy, inputs } from '../../test/support/policy-fixtures.ts';
import { policySets, SETS } from './nft-model.ts';
import { type NodeDataplaneInput, nodeDataplane } from './node-dataplane.ts';
import { type DataplaneSettings, DEFAULT_DATAPLANE_SETTINGS, markValue, returnMarkId } from './settings.ts';
import { tunnelMac } from './tunnel-mac.ts';

/** The egress rows alone (the return path `podNetwork` adds nothing to them); `tunnel` is tested below. */
const S: DataplaneSettings = { ...DEFAULT_DATAPLANE_SETTINGS, returnPath: 'podNetwork' };
const T = DEFAULT_DATAPLANE_SETTINGS;

const { node, nodes, clusterCidrs } = inputs(); // node-1; node-2 10.0.0.2, node-3 10.0.0.3
const USED = '10.0.1.17'; // on node-2, a local pod uses it
const IDLE = '10.0.1.18'; // on node-3, usable, no local pod uses it
const HELD = '10.0.1.19'; // on node-1 (here)
const markIds = new Map([
  [USED, 5],
  [IDLE, 6],
  [HELD, 7],
]);
const names = policySets('ptest');
const podMap = new Map([['10.244.1.10', 'goto m5']]);

function build(over: Partial<NodeDataplaneInput> = {}) {
  return nodeDataplane({
    node,
    nodes,
    clusterCidrs,
    settings: S,
    policies: [{ policy: egressPolicy([]), prefix: 'ptest', names }],
    podMaps: [podMap, new Map()],
    placement: new Map([
      [USED, 'node-2'],
      [IDLE, 'node-3'],
      [HELD, 'node-1'],
    ]),
    nodeIps: new Map(nodes.map((n) => [n.name, n.ip])),
    markIds,
    steering: new Map([
      [USED, { id: 5, verdict: 'goto m5' }],
      [IDLE, { id: 6, verdict: 'goto m6' }],
    ]),
    podsByIp: new Map([[USED, 1]]),
    ...over,
  });
}

describe('nodeDataplane', () => {
  it('routes into the tunnel only towards IPs local pods use; every usable IP gets a mark chain', () => {
    const d = build();
    const table = S.tableBase + 5;
    expect(d.rules).toEqual([
      { mark: markValue(5, S.markMask), mask: S.markMask, table, priority: S.rulePriority },
    ]);
    expect(d.routes).toEqual([
      { table, kind: 'via', via: '10.0.0.2', dev: S.tunnelName },
      { table, kind: 'throw', dst: '10.0.0.2' },
    ]);
    expect(d.peers.map((p) => p.nodeIp)).toEqual(['10.0.0.2']);
    expect(d.nftStructure).toContain('chain m5 {');
    expect(d.nftStructure).toContain('chain m6 {');
    // Without any local pod on it, the idle IP still has its chain (a new pod changes only elements).
    const none = build({ podsByIp: new Map() });
    expect([none.rules, none.routes, none.peers]).toEqual([[], [], []]);
    expect(none.nft.fingerprint).toBe(d.nft.fingerprint);
  });

  it('holds an IP placed here: address, SNAT by its mark, owned and held sets', () => {
    const d = build();
    expect(d.addresses).toEqual([{ ip: HELD, dev: 'eth0' }]);
    expect(d.nftStructure).toContain(`snat ip to ${HELD}`);
    expect([...d.nft.sets[SETS.owned]!.keys()]).toEqual([HELD]);
    expect([...d.nft.sets[SETS.held]!.keys()]).toEqual([String(markValue(7, S.markMask))]);
  });

  it('puts the pod maps into the sets as they are, so updates in place reach the next plan', () => {
    const d = build();
    expect(d.nft.sets[names.pods]).toBe(podMap);
    expect(Object.keys(d.nft.sets)).toEqual([
      names.pods,
      names.pods6,
      names.dst,
      names.exc,
      names.dst6,
      names.exc6,
      SETS.cluster,
      SETS.cluster6,
      SETS.nodes,
      SETS.owned,
      SETS.owned6,
      SETS.held,
    ]);
    expect(d.nftSetKinds[names.pods]).toBe('map');
  });

  it('builds the tunnel on the node IP and its device, the MTU less the VXLAN overhead', () => {
    expect(build().tunnel).toEqual({
      name: S.tunnelName,
      vni: S.vni,
      port: S.port,
      localIp: '10.0.0.1',
      parent: 'eth0',
      mac: '02:ce:0a:00:00:01',
      mtu: 9001 - S.tunnelOverhead,
      address: S.tunnelAddress,
    });
  });

  it('with the return path tunnel (the default), routes the reserved mark into the tunnel and knows every node', () => {
    expect(T.returnPath).toBe('tunnel');
    const d = build({ settings: T });
    const id = returnMarkId(T.markMask);
    const table = T.tableBase + id;
    // The egress rows as with podNetwork, plus one rule and one route for the replies.
    expect(d.rules).toEqual([
      { mark: markValue(5, T.markMask), mask: T.markMask, table: T.tableBase + 5, priority: T.rulePriority },
      { mark: T.markMask, mask: T.markMask, table, priority: T.rulePriority + 1 },
    ]);
    expect(d.routes).toContainEqual({ table, kind: 'via', via: T.returnHop, dev: T.tunnelName });
    // Every other node is in the FDB (a reply may go back to any of them), and the return hop's neighbour.
    expect(d.peers.map((p) => p.nodeIp).sort()).toEqual(['10.0.0.2', '10.0.0.3', T.returnHop].sort());
    for (const p of d.peers) expect(p.mac).toBe(tunnelMac(p.nodeIp));
    // The nft side: the record rule maps each node's MAC to an id in nodeIdMask, the egress hook maps back.
    const idsRule = /ct mark set ether saddr map \{ ([^}]+) \}/.exec(d.nftStructure)?.[1] ?? '';
    const ids = new Map(idsRule.split(', ').map((e) => e.split(' : ') as [string, string]));
    expect([...ids.keys()].sort()).toEqual(nodes.map((n) => tunnelMac(n.ip)).sort());
    for (const value of ids.values()) {
      expect(Number(value) & ~T.nodeIdMask).toBe(0);
      expect(d.nftStructure).toContain(`${value} : `);
    }
    expect(new Set(ids.values()).size).toBe(nodes.length);
    expect(d.nftStructure).toContain(`table netdev ${T.nftTable}_return {`);
    expect(d.nftStructure).toContain('type filter hook egress device "cegress0"');
  });

  it('with the return path podNetwork, adds no rule, route, peer or return table', () => {
    const d = build();
    expect(d.rules.some((r) => r.table === S.tableBase + returnMarkId(S.markMask))).toBe(false);
    expect(d.peers.map((p) => p.nodeIp)).toEqual(['10.0.0.2']);
    expect(d.nftStructure).not.toContain('ether saddr map');
    expect(d.nftStructure).not.toContain(`table netdev ${S.nftTable}_return {`);
    // The table of an earlier tunnel mode goes with the replace.
    expect(d.nftStructure).toContain(`delete table netdev ${S.nftTable}_return`);
  });
});
