import { describe, expect, it } from 'vitest';
import type { EgressPolicy, EgressPolicyStatus, IpAssignmentStatus } from '../api/egress-policy.ts';
import { decideOutcome, dropsForeignIPs } from './decide-outcome.ts';

const withAssignments = (assignments: IpAssignmentStatus[]): EgressPolicy => ({
  apiVersion: 'cloudegress.io/v1alpha1',
  kind: 'EgressPolicy',
  metadata: { name: 'p', namespace: 'team-a' },
  spec: { gatewayName: 'gw', podSelector: {} },
  status: { assignments },
});
const ready = (ip: string, node = 'n1'): IpAssignmentStatus => ({ ip, node, state: 'Ready' });

describe('decideOutcome', () => {
  it('reports the held IPs, the Ready ones and how many entries are in each state', () => {
    const held = new Map([
      ['10.0.1.100', 'n1'],
      ['10.0.1.101', 'n2'],
    ]);
    const statuses: EgressPolicyStatus[] = [
      { assignments: [ready('10.0.1.100'), { ip: '10.0.1.101', node: 'n2', state: 'Assigned' }] },
      { assignments: [{ state: 'Failed', reason: 'PoolExhausted', message: 'no free IP' }] },
    ];
    const { outcome, states } = decideOutcome({
      policies: [withAssignments([]), withAssignments([])],
      statuses,
      current: held,
      held,
      leaving: [],
    });
    expect(outcome.held).toBe(held);
    expect(outcome.freedIPs).toBe(false);
    expect([...outcome.ready]).toEqual(['10.0.1.100']);
    expect(outcome.droppedForeignIPs).toBe(false);
    expect(states).toEqual({ Pending: 0, Assigned: 1, Ready: 1, Failed: 1 });
  });

  it('says so when a status dropped an IP another gateway may hold', () => {
    const came = withAssignments([ready('10.0.9.9', 'elsewhere')]);
    const { outcome } = decideOutcome({
      policies: [came],
      statuses: [{ assignments: [ready('10.0.1.100')] }],
      current: new Map(),
      held: new Map([['10.0.1.100', 'n1']]),
      leaving: [],
    });
    expect(outcome.droppedForeignIPs).toBe(true);
  });

  it('says an IP was freed when a policy lets go of one it held, or a policy holding one leaves', () => {
    const holder = withAssignments([ready('10.0.1.100')]);
    const refused = { state: 'Failed' as const, ip: '10.0.1.101', reason: 'IPInUse', message: 'held' };
    const freed = (statuses: EgressPolicyStatus[], leaving: EgressPolicy[] = []) =>
      decideOutcome({ policies: [holder], statuses, current: new Map(), held: new Map(), leaving }).outcome
        .freedIPs;
    expect(freed([{ assignments: [ready('10.0.1.100')] }])).toBe(false);
    expect(freed([{ assignments: [] }])).toBe(true);
    expect(freed([{ assignments: [ready('10.0.1.100')] }], [holder])).toBe(true);
    expect(freed([{ assignments: [ready('10.0.1.100')] }], [withAssignments([refused])])).toBe(false);
  });
});

describe('dropsForeignIPs', () => {
  const before = withAssignments([ready('10.0.1.100'), ready('10.0.9.9', 'elsewhere')]);
  const current = new Map([['10.0.1.100', 'n1']]);
  it.each([
    ['keeps every IP', [ready('10.0.1.100'), ready('10.0.9.9', 'elsewhere')], false],
    ['drops an IP this gateway held (it releases it itself)', [ready('10.0.9.9', 'elsewhere')], false],
    ['drops an IP this gateway did not hold', [ready('10.0.1.100')], true],
  ] as const)('%s', (_title, assignments, expected) => {
    expect(dropsForeignIPs(before, { assignments: [...assignments] }, current)).toBe(expected);
  });
});
