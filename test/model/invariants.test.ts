/**
 * The model-based test's invariants (invariants.ts) on hand-built snapshots: each one holds on a world that
 * keeps it and names what breaks it, so the model test can fail.
 */
import { describe, expect, it } from 'vitest';
import type { EgressGateway } from '../../src/api/egress-gateway.ts';
import type { EgressPolicy, IpAssignmentStatus } from '../../src/api/egress-policy.ts';
import { egressGateway } from '../support/egress-gateways.ts';
import { egressPolicy } from '../support/egress-policies.ts';
import { holderViolations, quiescenceViolations, type Snapshot, safetyViolations } from './invariants.ts';

const ready = (ip: string, node: string): IpAssignmentStatus => ({ ip, node, state: 'Ready' });

const policy = (
  name: string,
  assignments: IpAssignmentStatus[],
  options: { namespace?: string; count?: number; generation?: number; deleting?: boolean } = {},
): EgressPolicy => {
  const p = egressPolicy({
    name,
    namespace: options.namespace ?? 'ns-a',
    spec: { gatewayName: 'g1', count: options.count ?? assignments.length },
    assignments,
  });
  p.metadata.generation = options.generation ?? 1;
  if (options.deleting) p.metadata.deletionTimestamp = '2026-01-01T00:00:01Z';
  return p;
};

const gateway = (nodes: Record<string, string[]>, tenant?: string): EgressGateway => ({
  ...egressGateway({ name: 'g1', spec: { ips: ['10.1.1.100-10.1.1.109'], namespaceSelector: {} } }),
  ...(tenant ? { spec: { nodeSelector: {}, namespaceSelector: { matchLabels: { tenant } } } } : {}),
  status: { nodes: Object.entries(nodes).map(([name, ips]) => ({ name, ready: true, ips })) },
});

const snapshot = (parts: Partial<Snapshot>): Snapshot => ({
  cloud: new Map(),
  policies: [],
  gateways: [gateway({})],
  namespaces: new Map([
    ['ns-a', { tenant: 'a' }],
    ['ns-b', { tenant: 'b' }],
  ]),
  deleted: new Set(),
  goneIPs: new Map(),
  eligibleNodes: 3,
  perNode: 9,
  poolSize: 10,
  ...parts,
});

/** A quiet world: p1 holds .100 on n1, as the cloud and the gateway say. */
const quiet = () =>
  snapshot({
    cloud: new Map([['10.1.1.100', ['n1']]]),
    policies: [policy('p1', [ready('10.1.1.100', 'n1')])],
    gateways: [gateway({ n1: ['10.1.1.100'] })],
  });

describe('after every step', () => {
  it('holds on a quiet world', () => {
    expect(safetyViolations(quiet())).toEqual([]);
  });

  it('an IP on two interfaces', () => {
    expect(safetyViolations(snapshot({ cloud: new Map([['10.1.1.100', ['n1', 'n2']]]) }))).toEqual([
      '10.1.1.100 is on n1 and n2',
    ]);
  });

  it('an IP usable in two live policies (not one being deleted)', () => {
    const two = [policy('p1', [ready('10.1.1.100', 'n1')]), policy('p2', [ready('10.1.1.100', 'n2')])];
    expect(safetyViolations(snapshot({ policies: two }))).toEqual([
      '10.1.1.100 is usable for EgressPolicy/ns-a/p1 and EgressPolicy/ns-a/p2',
    ]);
    const deleting = [two[0]!, policy('p2', [ready('10.1.1.100', 'n2')], { deleting: true })];
    expect(safetyViolations(snapshot({ policies: deleting }))).toEqual([]);
  });

  it('an IP of a deleted policy still held, named by no status', () => {
    const s = snapshot({
      cloud: new Map([['10.1.1.100', ['n1']]]),
      goneIPs: new Map([['10.1.1.100', 'EgressPolicy/ns-a/p1']]),
    });
    expect(safetyViolations(s)).toEqual([
      '10.1.1.100 of EgressPolicy/ns-a/p1 is still on n1 after the policy is gone',
    ]);
  });
});

describe('between two steps: the holder keeps its IP', () => {
  const before = quiet();

  it('holds while the holder keeps it, or moves it to another node', () => {
    expect(holderViolations(before, quiet())).toEqual([]);
    const moved = snapshot({ policies: [policy('p1', [ready('10.1.1.100', 'n2')])] });
    expect(holderViolations(before, moved)).toEqual([]);
  });

  it('another policy taking it while the holder still asks for it', () => {
    const taken = snapshot({
      policies: [
        policy('p1', [{ ip: '10.1.1.100', state: 'Failed', reason: 'IPInUse' }]),
        policy('p2', [{ ip: '10.1.1.100', node: 'n2', state: 'Pending' }], { namespace: 'ns-b' }),
      ],
    });
    expect(holderViolations(before, taken)).toEqual([
      "10.1.1.100 was Ready for EgressPolicy/ns-a/p1, which still asks for it, and is now EgressPolicy/ns-b/p2's",
    ]);
  });

  it('holds once the holder was edited, is gone, or its gateway no longer admits it', () => {
    const p2 = policy('p2', [ready('10.1.1.100', 'n2')], { namespace: 'ns-b' });
    const edited = policy('p1', [], { generation: 2 });
    expect(holderViolations(before, snapshot({ policies: [edited, p2] }))).toEqual([]);
    expect(holderViolations(before, snapshot({ policies: [p2] }))).toEqual([]);
    const onlyB = snapshot({ policies: [policy('p1', []), p2], gateways: [gateway({}, 'b')] });
    expect(holderViolations(before, onlyB)).toEqual([]);
  });
});

describe('at quiescence', () => {
  it('holds on a quiet world', () => {
    expect(quiescenceViolations(quiet())).toEqual([]);
  });

  it('status Ready for what the cloud does not hold there', () => {
    const s = { ...quiet(), cloud: new Map([['10.1.1.100', ['n2']]]) };
    expect(quiescenceViolations(s)).toContain(
      'EgressPolicy/ns-a/p1: 10.1.1.100 Ready on n1, the cloud has it on n2',
    );
  });

  it('an IP the cloud holds for no live policy (leaked)', () => {
    const s = snapshot({ cloud: new Map([['10.1.1.105', ['n3']]]) });
    expect(quiescenceViolations(s)).toEqual(['10.1.1.105 held on n3 for no live policy']);
  });

  it('an IP held for a policy of a namespace the gateway does not admit', () => {
    const s = { ...quiet(), gateways: [gateway({ n1: ['10.1.1.100'] }, 'b')] };
    expect(quiescenceViolations(s)).toContain(
      '10.1.1.100 held for EgressPolicy/ns-a/p1, which no live gateway admits',
    );
  });

  it('still Pending, a gateway status apart from the cloud, a deleted object still there', () => {
    const s = snapshot({
      cloud: new Map([['10.1.1.100', ['n1']]]),
      policies: [policy('p1', [{ ip: '10.1.1.100', node: 'n1', state: 'Pending', reason: 'Verifying' }])],
      gateways: [gateway({ n1: [] })],
      deleted: new Set(['EgressPolicy/ns-a/p1']),
    });
    const violations = quiescenceViolations(s);
    expect(violations).toContain('EgressPolicy/ns-a/p1: 10.1.1.100 still Pending (Verifying)');
    expect(violations).toContain('EgressPolicy/ns-a/p1 was deleted but is still there');
  });

  it('a count policy short of IPs with room for all', () => {
    const s = { ...quiet(), policies: [policy('p1', [ready('10.1.1.100', 'n1')], { count: 2 })] };
    expect(quiescenceViolations(s)).toEqual(['EgressPolicy/ns-a/p1: 1 of 2 IPs Ready with room for all']);
    expect(quiescenceViolations({ ...s, eligibleNodes: 0 })).toEqual([]);
  });
});
