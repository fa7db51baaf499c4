import { describe, expect, it } from 'vitest';
import { egressPolicy, inputs } from '../../test/support/policy-fixtures.ts';
import type { IpAssignmentStatus } from '../api/index.ts';
import { USABLE_STATES } from '../api/index.ts';
import { handoversOf, placeEgressIps, usableIps } from './usable-ips.ts';

const { nodes } = inputs(); // node-1, node-2 in zone a; node-3 in zone b
const nodeIps = new Map(nodes.map((n) => [n.name, n.ip]));
const zoneOf = new Map(nodes.map((n) => [n.name, n.zone]));
const at = (ip: string, node: string, state: IpAssignmentStatus['state'] = 'Ready'): IpAssignmentStatus => ({
  ip,
  node,
  state,
});

describe('placeEgressIps', () => {
  it('places Pending, Assigned and Ready IPs on their node, and nothing Failed', () => {
    expect([...USABLE_STATES].sort()).toEqual(['Assigned', 'Pending', 'Ready']);
    const p = egressPolicy([
      at('10.0.1.17', 'node-2', 'Pending'),
      at('10.0.1.18', 'node-3', 'Assigned'),
      at('10.0.1.19', 'node-1', 'Ready'),
      at('10.0.1.20', 'node-2', 'Failed'),
    ]);
    const { nodeOf, notes } = placeEgressIps([p], nodeIps);
    expect([...nodeOf]).toEqual([
      ['10.0.1.17', 'node-2'],
      ['10.0.1.18', 'node-3'],
      ['10.0.1.19', 'node-1'],
    ]);
    expect(notes).toEqual([]);
  });

  it('leaves out assignments without an IP or a node yet, silently', () => {
    const p = egressPolicy([
      { state: 'Pending' },
      { ip: '10.0.1.17', state: 'Pending' },
      { node: 'node-2', state: 'Pending' },
    ]);
    expect(placeEgressIps([p], nodeIps)).toEqual({ nodeOf: new Map(), notes: [], handovers: new Map() });
  });

  it('a planned move under way: traffic goes where `node` says, the handover names the old and the new node', () => {
    const before = egressPolicy([{ ...at('10.0.1.17', 'node-1'), handoverTo: 'node-2' }]);
    const after = egressPolicy([{ ...at('10.0.1.17', 'node-2'), handoverFrom: 'node-1' }]);
    const moving = new Map([['10.0.1.17', { from: 'node-1', to: 'node-2' }]]);
    expect(placeEgressIps([before], nodeIps)).toMatchObject({
      nodeOf: new Map([['10.0.1.17', 'node-1']]),
      handovers: moving,
    });
    expect(placeEgressIps([after], nodeIps)).toMatchObject({
      nodeOf: new Map([['10.0.1.17', 'node-2']]),
      handovers: moving,
    });
    // A node without a known InternalIP takes no part.
    const unknown = egressPolicy([{ ...at('10.0.1.17', 'node-1'), handoverTo: 'node-9' }]);
    expect(placeEgressIps([unknown], nodeIps).handovers.size).toBe(0);
  });

  it('names the moves a node is one of the two gateways of', () => {
    const moves = new Map([
      ['10.0.1.17', { from: 'node-1', to: 'node-2' }],
      ['10.0.1.18', { from: 'node-2', to: 'node-3' }],
    ]);
    expect(handoversOf(moves, 'node-2')).toEqual(['10.0.1.17', '10.0.1.18']);
    expect(handoversOf(moves, 'node-1')).toEqual(['10.0.1.17']);
    expect(handoversOf(moves, 'node-4')).toEqual([]);
  });

  it('places IPv6 IPs as IPv4 ones; leaves out nodes without a known InternalIP, saying why', () => {
    const p = egressPolicy([
      at('2001:db8::5', 'node-2'),
      at('10.0.1.17', 'node-9'),
      at('10.0.1.18', 'node-2'),
    ]);
    const { nodeOf, notes } = placeEgressIps([p], nodeIps);
    expect([...nodeOf]).toEqual([
      ['2001:db8::5', 'node-2'],
      ['10.0.1.18', 'node-2'],
    ]);
    expect(notes).toEqual([
      'EgressPolicy/shop/to-partner: egress IP 10.0.1.17 skipped: node node-9 has no known InternalIP',
    ]);
  });

  it('places an IP that two policies claim on two nodes with the later policy', () => {
    const first = egressPolicy([at('10.0.1.17', 'node-2')], {}, 'a');
    const second = egressPolicy([at('10.0.1.17', 'node-3')], {}, 'b');
    expect([...placeEgressIps([first, second], nodeIps).nodeOf]).toEqual([['10.0.1.17', 'node-3']]);
    expect([...placeEgressIps([second, first], nodeIps).nodeOf]).toEqual([['10.0.1.17', 'node-2']]);
  });
});

describe('usableIps', () => {
  const usable = (policy: ReturnType<typeof egressPolicy>, zone: string | undefined, others = [policy]) =>
    usableIps(policy, placeEgressIps(others, nodeIps).nodeOf, zoneOf, zone);

  it('is the placed assignments in assignment order, Pending included', () => {
    const p = egressPolicy([
      at('10.0.1.19', 'node-3', 'Pending'),
      at('10.0.1.17', 'node-2', 'Failed'),
      at('10.0.1.18', 'node-2'),
      at('2001:db8::5', 'node-2'),
      at('10.0.1.20', 'node-9'),
    ]);
    expect(usable(p, 'a')).toEqual(['10.0.1.19', '10.0.1.18', '2001:db8::5']);
  });

  it('leaves out an assignment whose IP is placed on another node (by a later policy)', () => {
    const mine = egressPolicy([at('10.0.1.17', 'node-2'), at('10.0.1.18', 'node-2')], {}, 'a');
    const later = egressPolicy([at('10.0.1.17', 'node-3')], {}, 'b');
    expect(usable(mine, 'a', [mine, later])).toEqual(['10.0.1.18']);
    expect(usable(later, 'a', [mine, later])).toEqual(['10.0.1.17']);
  });

  it('with zoneAffinity Preferred keeps the IPs held in this zone, when there are any', () => {
    const assignments = [at('10.0.1.17', 'node-2'), at('10.0.2.17', 'node-3'), at('10.0.1.18', 'node-1')];
    const preferred = egressPolicy(assignments, { zoneAffinity: 'Preferred' });
    expect(usable(preferred, 'a')).toEqual(['10.0.1.17', '10.0.1.18']);
    expect(usable(preferred, 'b')).toEqual(['10.0.2.17']);
    // No IP in this zone, or this node has no zone: all of them.
    expect(usable(preferred, 'c')).toEqual(['10.0.1.17', '10.0.2.17', '10.0.1.18']);
    expect(usable(preferred, undefined)).toEqual(['10.0.1.17', '10.0.2.17', '10.0.1.18']);
    // Without the preference (None or absent), the zone does not matter.
    for (const spec of [{ zoneAffinity: 'None' as const }, {}]) {
      expect(usable(egressPolicy(assignments, spec), 'b')).toEqual(['10.0.1.17', '10.0.2.17', '10.0.1.18']);
    }
  });

  it('counts a Pending IP held in this zone as local, and one on an unknown node not at all', () => {
    const preferred = egressPolicy([at('10.0.2.17', 'node-3'), at('10.0.1.17', 'node-9', 'Pending')], {
      zoneAffinity: 'Preferred',
    });
    // 10.0.1.17 is on an unknown node: not usable, so zone a holds none and the other zone's IP stays.
    expect(usable(preferred, 'a')).toEqual(['10.0.2.17']);
    const pendingHere = egressPolicy([at('10.0.2.17', 'node-3'), at('10.0.1.17', 'node-2', 'Pending')], {
      zoneAffinity: 'Preferred',
    });
    expect(usable(pendingHere, 'a')).toEqual(['10.0.1.17']);
  });
});
