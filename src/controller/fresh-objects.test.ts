import { describe, expect, it } from 'vitest';
import { EventRecorder } from './events.ts';
import { FreshObjects } from './fresh-objects.ts';

const obj = (rv: string, note: string) => ({
  kind: 'EgressPolicy',
  metadata: { name: 'p', namespace: 'ns', resourceVersion: rv },
  note,
});

describe('FreshObjects', () => {
  it('serves the written object while the cache still holds a version it replaced, then the cache', () => {
    const fresh = new FreshObjects();
    fresh.remember(obj('1', 'cache'), obj('2', 'pending written'));
    fresh.remember(obj('2', 'pending written'), obj('3', 'final written'));
    expect(fresh.resolve(obj('1', 'stale cache')).note).toBe('final written');
    expect(fresh.resolve(obj('2', 'stale cache')).note).toBe('final written');
    expect(fresh.resolve(obj('3', 'cache caught up')).note).toBe('cache caught up');
    // Once the cache caught up, the entry is gone.
    expect(fresh.resolve(obj('1', 'old')).note).toBe('old');
  });

  it('forgets an object that was deleted or whose write found it gone', () => {
    const fresh = new FreshObjects();
    fresh.remember(obj('1', 'a'), obj('2', 'b'));
    fresh.remember(obj('2', 'b'), undefined);
    expect(fresh.resolve(obj('1', 'cache')).note).toBe('cache');
  });
});

describe('EventRecorder', () => {
  it('records the same Event for the same object once per dedupe window, and never throws', async () => {
    const created: string[] = [];
    let fail = false;
    const recorder = new EventRecorder({
      instance: 'test',
      dedupeMs: 60_000,
      api: {
        createEvent: async (e) => {
          if (fail) throw new Error('forbidden');
          created.push(`${e.type}/${e.reason}/${e.message}/${e.involvedObject.kind}/${e.metadata.namespace}`);
        },
      },
    });
    const gateway = {
      apiVersion: 'cloudegress.io/v1alpha1',
      kind: 'EgressGateway' as const,
      metadata: { name: 'gw', uid: 'u1' },
      spec: { nodeSelector: {} },
    };
    await recorder.warning(gateway, 'ProviderUnknown', 'no provider');
    await recorder.warning(gateway, 'ProviderUnknown', 'no provider');
    await recorder.normal(gateway, 'Released', 'released');
    fail = true;
    await expect(recorder.normal(gateway, 'Moved', 'moved')).resolves.toBeUndefined();
    expect(created).toEqual([
      'Warning/ProviderUnknown/no provider/EgressGateway/default',
      'Normal/Released/released/EgressGateway/default',
    ]);
  });
});
