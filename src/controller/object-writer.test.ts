import { describe, expect, it } from 'vitest';
import type { EgressPolicy } from '../api/egress-policy.ts';
import { statusChanged } from './object-writer.ts';

const policy = (status: EgressPolicy['status']): EgressPolicy =>
  ({
    apiVersion: 'cloudegress.io/v1alpha1',
    kind: 'EgressPolicy',
    metadata: { name: 'p', namespace: 'ns' },
    spec: { gatewayName: 'gw', podSelector: {} },
    status,
  }) as EgressPolicy;

describe('statusChanged', () => {
  it('is false for the same status with its keys in another order (as the API server sorts them)', () => {
    const stored = policy({
      assignments: [{ ip: '10.0.0.5', node: 'n1', since: '2026-01-01T00:00:00.000Z', state: 'Ready' }],
      ips: '10.0.0.5',
      observedGeneration: 1,
    });
    const decided = {
      observedGeneration: 1,
      ips: '10.0.0.5',
      assignments: [{ state: 'Ready', since: '2026-01-01T00:00:00.000Z', node: 'n1', ip: '10.0.0.5' }],
    } as NonNullable<EgressPolicy['status']>;
    expect(statusChanged(stored, decided)).toBe(false);
  });

  it('is false when the only difference is a field left undefined', () => {
    const stored = policy({ assignments: [{ ip: '10.0.0.5', node: 'n1', state: 'Ready' }] });
    expect(
      statusChanged(stored, {
        assignments: [{ ip: '10.0.0.5', node: 'n1', state: 'Ready', reason: undefined }],
      }),
    ).toBe(false);
  });

  it('is true when a value or the order of a list differs', () => {
    const stored = policy({
      assignments: [
        { ip: '10.0.0.5', node: 'n1', state: 'Ready' },
        { ip: '10.0.0.6', node: 'n1', state: 'Ready' },
      ],
    });
    expect(
      statusChanged(stored, {
        assignments: [
          { ip: '10.0.0.5', node: 'n2', state: 'Ready' },
          { ip: '10.0.0.6', node: 'n1', state: 'Ready' },
        ],
      }),
    ).toBe(true);
    expect(
      statusChanged(stored, {
        assignments: [
          { ip: '10.0.0.6', node: 'n1', state: 'Ready' },
          { ip: '10.0.0.5', node: 'n1', state: 'Ready' },
        ],
      }),
    ).toBe(true);
    expect(statusChanged(policy(undefined), { assignments: [] })).toBe(true);
  });
});
