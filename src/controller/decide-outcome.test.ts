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
    });
    expect(outcome.held).toBe(held);
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
    });
    expect(outcome.droppedForeignIPs).toBe(true);
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
