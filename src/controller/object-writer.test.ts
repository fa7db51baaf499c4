import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { EgressPolicy } from '../api/egress-policy.ts';
import { FreshObjects } from './fresh-objects.ts';
import { ObjectWriter, STATUS_WRITES_AT_ONCE, statusChanged } from './object-writer.ts';

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

describe('ObjectWriter.sideBySide', () => {
  it("writes the statuses of 50 policies (a big gateway node's) in one round, of more in rounds of the limit", async () => {
    const writer = new ObjectWriter(
      { patchStatus: async () => undefined, setFinalizers: async () => undefined },
      new FreshObjects(),
    );
    let inFlight = 0;
    let most = 0;
    await writer.sideBySide(
      Array.from({ length: 100 }, (_, i) => i),
      async () => {
        inFlight++;
        most = Math.max(most, inFlight);
        await sleep(5);
        inFlight--;
      },
    );
    expect(most).toBe(STATUS_WRITES_AT_ONCE);
    expect(Math.ceil(50 / most)).toBe(1);
  });

  it('is what docs/controller.md says', async () => {
    const doc = await readFile(new URL('../../docs/controller.md', import.meta.url), 'utf8');
    expect(doc).toContain(`Up to ${STATUS_WRITES_AT_ONCE} status writes of one pass are in flight at once`);
  });
});

describe('ObjectWriter.addFinalizers', () => {
  it("adds the finalizers of a gateway's 25 policies side by side, and returns them in order", async () => {
    let inFlight = 0;
    let most = 0;
    const writer = new ObjectWriter(
      {
        patchStatus: async () => undefined,
        setFinalizers: async (obj, finalizers) => {
          inFlight++;
          most = Math.max(most, inFlight);
          await sleep(5);
          inFlight--;
          return { ...obj, metadata: { ...obj.metadata, finalizers } };
        },
      },
      new FreshObjects(),
    );
    const policies: EgressPolicy[] = Array.from({ length: 25 }, (_, i) => ({
      ...policy(undefined),
      metadata: { name: `p${i}`, namespace: 'ns' },
    }));
    const stored = await writer.addFinalizers(policies);
    expect(most).toBe(25);
    expect(stored.map((p) => [p.metadata.name, p.metadata.finalizers])).toEqual(
      policies.map((p) => [p.metadata.name, ['cloudegress.io/finalizer']]),
    );
  });
});
