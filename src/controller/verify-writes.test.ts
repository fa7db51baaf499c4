import { describe, expect, it } from 'vitest';
import { egressGateway } from '../../test/support/egress-gateways.ts';
import { egressPolicy } from '../../test/support/egress-policies.ts';
import { REASON } from '../api/conditions.ts';
import type { IpAssignmentStatus } from '../api/egress-policy.ts';
import { type Change, type NodeRef, ProviderError } from '../provider/contract.ts';
import type { SchedulePlan } from '../scheduler/types.ts';
import { decidePolicyStatus } from './decide-policy-status.ts';
import { asWritten, reassert, unconfirmed, verifyWrites } from './verify-writes.ts';

const X = '10.0.0.50';
const ref = (name: string): NodeRef => ({ name, providerID: `inmemory:///z/${name}` });
const refs = new Map(['n1', 'n2', 'n3'].map((n) => [n, ref(n)]));
const holding = (...assignments: IpAssignmentStatus[]) => [egressPolicy({ assignments })];
const verify = (
  assignments: IpAssignmentStatus[],
  read: Record<string, string>,
  mayHold = ['n1', 'n2'],
  gateway = egressGateway(),
) =>
  verifyWrites({
    gateway,
    live: holding(...assignments),
    policies: holding(...assignments),
    read: new Map(Object.entries(read)),
    mayHold: new Set(mayHold),
  });

describe('verifyWrites', () => {
  it('a read that shows each acknowledged IP where it was written agrees', () => {
    const v = verify([{ ip: X, node: 'n1', state: 'Ready' }], { [X]: 'n1' });
    expect(v.missing.size + v.unexpected.size).toBe(0);
  });

  it.each([
    ['Ready', undefined, {}, undefined],
    ['Assigned', undefined, { [X]: 'n2' }, 'n2'],
    ['Pending', REASON.Verifying, {}, undefined],
  ] as const)('%s (%s) on n1, read %j: missing, read at %s', (state, reason, read, at) => {
    const v = verify([{ ip: X, node: 'n1', state, ...(reason ? { reason } : {}) }], read);
    expect([...v.missing.values()]).toEqual([{ ip: X, written: 'n1', read: at }]);
  });

  it('a policy this pass does not place (deleted, not admitted) is not checked', () => {
    const policies = holding({ ip: X, node: 'n1', state: 'Ready' });
    const v = verifyWrites({
      gateway: egressGateway(),
      live: [],
      policies,
      read: new Map(),
      mayHold: new Set(['n1']),
    });
    expect(v.missing.size).toBe(0);
  });

  it('an answer not seen (Pending, Failed) and a node that may not hold IPs are not checked', () => {
    expect(verify([{ ip: X, node: 'n1', state: 'Pending', reason: REASON.Pending }], {}).missing.size).toBe(
      0,
    );
    expect(verify([{ ip: X, node: 'n1', state: 'Failed' }], {}).missing.size).toBe(0);
    expect(verify([{ ip: X, node: 'n3', state: 'Ready' }], {}).missing.size).toBe(0);
  });

  it('an IP held on a node of the gateway that nothing records is unexpected; one the gateway status lists is not', () => {
    expect([...verify([], { [X]: 'n1' }).unexpected]).toEqual([[X, 'n1']]);
    expect(verify([], { [X]: 'n3' }).unexpected.size).toBe(0);
    const listed = egressGateway();
    listed.status = { nodes: [{ name: 'n1', ready: true, ips: [X] }] };
    expect(verify([], { [X]: 'n1' }, ['n1'], listed).unexpected.size).toBe(0);
    expect(verify([{ ip: X, node: 'n1', state: 'Failed' }], { [X]: 'n1' }).unexpected.size).toBe(0);
  });
});

describe('asWritten and reassert', () => {
  const missingOnN1 = (read?: string) =>
    verify([{ ip: X, node: 'n1', state: 'Ready' }], read ? { [X]: read } : {});
  const plan = (placements: { ip: string; node: string }[]): SchedulePlan => ({
    placements: placements.map((p) => ({ ...p, policy: 'shop/to-partner', gateway: 'prod' })),
    unplaced: [],
    stranded: [],
    allocations: [],
  });

  it('the plan sees a missing IP where it was written', () => {
    const current = asWritten([{ ip: X, node: 'n2', interfaceId: 'eni-2' }], missingOnN1('n2'));
    expect(current.map((a) => [a.ip, a.node])).toEqual([[X, 'n1']]);
  });

  it('kept where written: assigned there again, taken from where the read shows it', () => {
    expect(reassert([], plan([{ ip: X, node: 'n1' }]), missingOnN1('n2'), refs)).toEqual([
      { kind: 'assign', ip: X, node: ref('n1'), from: ref('n2') },
    ]);
    expect(reassert([], plan([{ ip: X, node: 'n1' }]), missingOnN1(), refs)).toEqual([
      { kind: 'assign', ip: X, node: ref('n1') },
    ]);
  });

  it('moved or released by the plan: from where the read shows it, or nothing to release', () => {
    const move: Change = { kind: 'assign', ip: X, node: ref('n3'), from: ref('n1') };
    expect(reassert([move], plan([{ ip: X, node: 'n3' }]), missingOnN1('n2'), refs)).toEqual([
      { kind: 'assign', ip: X, node: ref('n3'), from: ref('n2') },
    ]);
    expect(reassert([move], plan([{ ip: X, node: 'n3' }]), missingOnN1(), refs)).toEqual([
      { kind: 'assign', ip: X, node: ref('n3') },
    ]);
    const release: Change = { kind: 'release', ip: X, node: ref('n1') };
    expect(reassert([release], plan([]), missingOnN1('n2'), refs)).toEqual([
      { kind: 'release', ip: X, node: ref('n2') },
    ]);
    expect(reassert([release], plan([]), missingOnN1(), refs)).toEqual([]);
  });

  it('other changes pass unchanged', () => {
    const other: Change = { kind: 'assign', ip: '10.0.0.51', node: ref('n2') };
    expect(reassert([other], plan([]), missingOnN1(), refs)).toEqual([other]);
  });
});

describe('the status of an unconfirmed IP', () => {
  it('is Pending, reason Verifying, in both phases; the policy is not Ready; a failed write still fails', () => {
    const policy = egressPolicy({ spec: { count: 1 }, assignments: [{ ip: X, node: 'n1', state: 'Ready' }] });
    const verdict = verify([{ ip: X, node: 'n1', state: 'Ready' }], {});
    const input = {
      policy,
      placements: [{ policy: 'shop/to-partner', gateway: 'prod', ip: X, node: 'n1' }],
      unplaced: [],
      changing: new Set([X]),
      healthy: () => true,
      unconfirmed: unconfirmed(verdict),
      now: new Date(0),
    } as const;
    for (const phase of ['pending', 'final'] as const) {
      const status = decidePolicyStatus({ ...input, phase, outcomes: new Map() });
      expect(status.assignments).toMatchObject([
        { ip: X, node: 'n1', state: 'Pending', reason: 'Verifying' },
      ]);
      expect(status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    }
    const change: Change = { kind: 'assign', ip: X, node: ref('n1') };
    const failed = decidePolicyStatus({
      ...input,
      phase: 'final',
      outcomes: new Map([[X, { change, ok: false, error: new ProviderError('terminal', 'refused') }]]),
    });
    expect(failed.assignments?.[0]?.state).toBe('Failed');
  });
});
