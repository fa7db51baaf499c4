/** The decisions a drain changes: planned moves, the pending status that keeps the old node, Events, Draining. */
import { describe, expect, it } from 'vitest';
import { REASON } from '../api/conditions.ts';
import type { EgressPolicy } from '../api/egress-policy.ts';
import { decideAssignmentEvents } from './decide-events.ts';
import { drainingCondition, type GatewayNodeView } from './decide-gateway-status.ts';
import { plannedMoves } from './decide-plan.ts';
import { decidePolicyStatus } from './decide-policy-status.ts';

const IP = '10.0.1.100';
const CORDONED = 'spec.unschedulable (cordoned)';
const view = (name: string, extra: Partial<GatewayNodeView> = {}): GatewayNodeView => ({
  name,
  healthy: true,
  network: undefined,
  ...extra,
});
const policy = (node: string): EgressPolicy => ({
  apiVersion: 'cloudegress.io/v1alpha1',
  kind: 'EgressPolicy',
  metadata: { name: 'p', namespace: 'ns', generation: 1 },
  spec: { gatewayName: 'gw', podSelector: {}, egressIPs: [IP] },
  status: { assignments: [{ ip: IP, node, state: 'Ready', since: '2026-01-01T00:00:00.000Z' }] },
});
const moving = [{ ip: IP, policy: 'EgressPolicy/ns/p', gateway: 'gw', node: 'b', previousNode: 'a' }];
const now = new Date('2026-01-01T00:01:00Z');

describe('plannedMoves', () => {
  it('a move off a healthy leaving node is planned; off a failed one, or a node that stays, it is not', () => {
    const plan = { placements: moving, unplaced: [], allocations: [], stranded: [] };
    expect(plannedMoves(plan, [view('a', { leaving: CORDONED }), view('b')])).toEqual(
      new Map([[IP, { from: 'a', to: 'b', signal: CORDONED }]]),
    );
    expect(plannedMoves(plan, [view('a', { leaving: CORDONED, healthy: false }), view('b')]).size).toBe(0);
    expect(plannedMoves(plan, [view('a'), view('b')]).size).toBe(0);
  });
});

describe('decidePolicyStatus, make-before-break', () => {
  const input = (phase: 'pending' | 'final', planned: Set<string> = new Set()) => ({
    policy: policy('a'),
    placements: moving,
    unplaced: [],
    phase,
    outcomes: new Map([
      [
        IP,
        {
          ok: true as const,
          change: { kind: 'assign' as const, ip: IP, node: { name: 'b', providerID: 'inmemory:///z/b' } },
        },
      ],
    ]),
    changing: new Set([IP]),
    healthy: () => true,
    handover: { planned, settleMs: 2000 },
    now,
  });

  it('a planned move keeps the old node through the cloud call with handoverTo, then goes Ready on the new one with handoverFrom, dropped a settle later', () => {
    const pending = decidePolicyStatus(input('pending', new Set([IP])));
    expect(pending.assignments).toEqual([{ ...policy('a').status!.assignments![0], handoverTo: 'b' }]);
    const final = decidePolicyStatus(input('final', new Set([IP])));
    expect(final.assignments).toEqual([
      { ip: IP, node: 'b', state: 'Ready', handoverFrom: 'a', since: now.toISOString() },
    ]);
    // Later passes: the IP is on b, nothing changes; handoverFrom stays for settleMs after since.
    const later = (ms: number) =>
      decidePolicyStatus({
        ...input('final'),
        policy: { ...policy('b'), status: final },
        placements: [{ ip: IP, policy: 'EgressPolicy/ns/p', gateway: 'gw', node: 'b' }],
        changing: new Set(),
        now: new Date(now.getTime() + ms),
      }).assignments;
    expect(later(1000)).toEqual([expect.objectContaining({ node: 'b', handoverFrom: 'a' })]);
    expect(later(2000)).toEqual([{ ip: IP, node: 'b', state: 'Ready', since: now.toISOString() }]);
  });

  it('a failover writes Pending on the new node first', () => {
    const pending = decidePolicyStatus(input('pending'));
    expect(pending.assignments).toEqual([
      expect.objectContaining({ ip: IP, node: 'b', state: 'Pending', reason: REASON.Pending }),
    ]);
  });
});

describe('decideAssignmentEvents, planned moves', () => {
  it('a move off a leaving node is a Normal Drained Event naming the signal; other moves stay Moved', () => {
    const after = { assignments: [{ ip: IP, node: 'b', state: 'Ready' as const }] };
    expect(decideAssignmentEvents(policy('a').status, after, new Map([['a', CORDONED]]))).toEqual([
      {
        type: 'Normal',
        reason: REASON.Drained,
        message: `${IP} moved from a to b before a leaves (${CORDONED})`,
      },
    ]);
    expect(decideAssignmentEvents(policy('a').status, after)).toEqual([
      { type: 'Normal', reason: REASON.Moved, message: `${IP} moved from a to b` },
    ]);
  });
});

describe('drainingCondition', () => {
  const stranded = [
    {
      ip: IP,
      policy: 'EgressPolicy/ns/p',
      gateway: 'gw',
      node: 'a',
      message: `${IP} stays on a, which is leaving: …`,
    },
  ];
  it('False while no node leaves', () => {
    expect(drainingCondition([view('a'), view('b')], [])).toMatchObject({
      status: 'False',
      reason: REASON.NoDrain,
    });
  });
  it('Drained while the leaving nodes hold nothing that cannot move', () => {
    expect(drainingCondition([view('a', { leaving: CORDONED }), view('b')], [])).toMatchObject({
      status: 'True',
      reason: REASON.Drained,
      message: `leaving: a (${CORDONED}); their egress IPs are on nodes that stay`,
    });
  });
  it('DrainBlocked naming the IPs, and saying so when no node stays (the last gateway node)', () => {
    const c = drainingCondition([view('a', { leaving: CORDONED })], stranded);
    expect(c).toMatchObject({ status: 'True', reason: REASON.DrainBlocked });
    expect(c.message).toMatch(/^no healthy node of the gateway stays; 10\.0\.1\.100 stays on a/);
  });
});
