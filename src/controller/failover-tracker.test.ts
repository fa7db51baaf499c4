import { describe, expect, it } from 'vitest';
import type { EgressPolicy, IpAssignmentStatus } from '../api/egress-policy.ts';
import { FailoverTracker } from './failover-tracker.ts';

const statusOf = (assignments: IpAssignmentStatus[]): EgressPolicy => ({
  apiVersion: 'cloudegress.io/v1alpha1',
  kind: 'EgressPolicy',
  metadata: { name: 'p', namespace: 'team-a' },
  spec: { gatewayName: 'gw', podSelector: {} },
  status: { assignments },
});

/** A tracker on a clock the test moves. */
function tracker() {
  const clock = { now: 1000 };
  return { clock, t: new FailoverTracker(() => clock.now) };
}

describe('FailoverTracker', () => {
  it('times a failover from the failure to every IP of the node Ready elsewhere', () => {
    const { clock, t } = tracker();
    t.reconciled(
      'gw',
      new Map([
        ['10.0.1.100', 'n1'],
        ['10.0.1.101', 'n1'],
        ['10.0.1.102', 'n2'],
      ]),
      new Set(),
    );
    t.nodeFailed('n1', []);
    clock.now = 1200;
    const moved = new Map([
      ['10.0.1.100', 'n2'],
      ['10.0.1.101', 'n3'],
    ]);
    // Both moved, one not Ready yet: not done.
    expect(t.reconciled('gw', moved, new Set(['10.0.1.100']))).toEqual([]);
    clock.now = 1450;
    expect(t.reconciled('gw', moved, new Set(['10.0.1.100', '10.0.1.101']))).toEqual([
      { node: 'n1', ips: 2, ms: 450 },
    ]);
    // Reported once.
    expect(t.reconciled('gw', new Map([['10.0.1.100', 'n2']]), new Set(['10.0.1.100']))).toEqual([]);
  });

  it("counts the IPs the policies' statuses place on the node, and IPs held by other gateways", () => {
    const { clock, t } = tracker();
    t.reconciled('other', new Map([['10.0.2.1', 'n1']]), new Set(['10.0.2.1']));
    t.nodeFailed('n1', [
      statusOf([
        { ip: '10.0.1.100', node: 'n1', state: 'Ready' },
        { ip: '10.0.1.9', node: 'n2', state: 'Ready' },
      ]),
    ]);
    clock.now = 1300;
    expect(t.reconciled('gw', new Map([['10.0.1.100', 'n2']]), new Set(['10.0.1.100']))).toEqual([]);
    expect(t.reconciled('other', new Map([['10.0.2.1', 'n3']]), new Set(['10.0.2.1']))).toEqual([
      { node: 'n1', ips: 2, ms: 300 },
    ]);
  });

  it('reports nothing for a node that recovered, or that held no IP', () => {
    const { t } = tracker();
    t.reconciled('gw', new Map([['10.0.1.100', 'n1']]), new Set(['10.0.1.100']));
    t.nodeFailed('n1', []);
    t.nodeRecovered('n1');
    expect(t.reconciled('gw', new Map([['10.0.1.100', 'n2']]), new Set(['10.0.1.100']))).toEqual([]);
    t.nodeFailed('n9', []);
    expect(t.reconciled('gw', new Map(), new Set())).toEqual([]);
    // n9 is forgotten: a later failure of n9 is a new failover.
    t.nodeFailed('n9', [statusOf([{ ip: '10.0.1.100', node: 'n9', state: 'Ready' }])]);
    expect(t.reconciled('gw', new Map([['10.0.1.100', 'n2']]), new Set(['10.0.1.100']))).toEqual([
      { node: 'n9', ips: 1, ms: 0 },
    ]);
  });
});
