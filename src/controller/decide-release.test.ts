import { describe, expect, it } from 'vitest';
import type { EgressPolicy } from '../api/egress-policy.ts';
import { decideRelease } from './decide-release.ts';

/** Policy `name` of gateway `gw`, being deleted or not, whose status lists `ips` on node n1. */
const policy = (name: string, ips: string[], deleting: boolean): EgressPolicy => ({
  apiVersion: 'cloudegress.io/v1alpha1',
  kind: 'EgressPolicy',
  metadata: { name, namespace: 'team-a', ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
  spec: { gatewayName: 'gw', podSelector: {} },
  status: { assignments: ips.map((ip) => ({ ip, node: 'n1', state: 'Ready' as const })) },
});

describe('decideRelease', () => {
  const held = new Map([
    ['10.0.1.100', 'n1'],
    ['10.0.1.101', 'n2'],
  ]);

  it('lets a deleted policy go once none of its IPs is held, and names what is left otherwise', () => {
    const released = policy('released', ['10.0.1.102'], true);
    const waiting = policy('waiting', ['10.0.1.100', '10.0.1.102'], true);
    const live = policy('live', ['10.0.1.101'], false);
    const decision = decideRelease({
      policies: [released, live, waiting],
      gatewayDeleting: false,
      held,
      placements: [],
    });
    expect(decision.policies).toEqual([
      { policy: released, left: [] },
      { policy: waiting, left: ['10.0.1.100'] },
    ]);
    expect(decision.gateway).toBe('live');
  });

  it('does not wait for an IP the plan placed for another policy', () => {
    const moved = policy('moved', ['10.0.1.101'], true);
    const decision = decideRelease({
      policies: [moved],
      gatewayDeleting: false,
      held,
      placements: [{ ip: '10.0.1.101', policy: 'EgressPolicy/team-a/other', gateway: 'gw', node: 'n2' }],
    });
    expect(decision.policies).toEqual([{ policy: moved, left: [] }]);
  });

  it('lets a deleted gateway go only when the cloud holds none of its IPs', () => {
    const input = { policies: [], gatewayDeleting: true, placements: [] };
    expect(decideRelease({ ...input, held }).gateway).toBe('waiting');
    expect(decideRelease({ ...input, held: new Map() }).gateway).toBe('released');
  });
});
