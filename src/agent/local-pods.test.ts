import { describe, expect, it } from 'vitest';
import { pod } from '../../test/support/policy-fixtures.ts';
import { LocalPodStore, sameSteeringInput } from './local-pods.ts';

const KEY = 'shop/a';

describe('LocalPodStore', () => {
  it('logs the UID of each pod set, changed or deleted, and reads back by UID', () => {
    const store = new LocalPodStore();
    const a = pod('a', '10.244.1.10');
    store.set(KEY, a);
    store.set('shop/b', pod('b', '10.244.1.11'));
    expect(store.size).toBe(2);
    expect(store.get(a.uid)).toBe(a);
    expect(store.changedSince(0)).toEqual(new Set([a.uid, 'uid-shop-b']));
    const v = store.version;
    store.set(KEY, pod('a', '10.244.1.10', { app: 'web' }));
    store.delete('shop/b');
    expect(store.changedSince(v)).toEqual(new Set([a.uid, 'uid-shop-b']));
    expect([...store].map((p) => p.labels)).toEqual([{ app: 'web' }]);
    expect(store.changedSince(store.version)).toEqual(new Set());
  });

  it('keeps the old object and logs nothing when an update changes nothing steering reads', () => {
    const store = new LocalPodStore();
    const a = pod('a', '10.244.1.10');
    store.set(KEY, a);
    const v = store.version;
    store.set(KEY, { ...pod('a', '10.244.1.10'), name: 'a' });
    expect(store.version).toBe(v);
    expect(store.get(a.uid)).toBe(a);
  });

  it('treats a name reused by a new pod (other UID) as the old pod gone and the new one added', () => {
    const store = new LocalPodStore();
    const old = pod('a', '10.244.1.10');
    store.set(KEY, old);
    const v = store.version;
    const reborn = { ...old, uid: 'uid-new' };
    store.set(KEY, reborn);
    expect(store.changedSince(v)).toEqual(new Set([old.uid, 'uid-new']));
    expect(store.get(old.uid)).toBeUndefined();
    expect([...store]).toEqual([reborn]);
  });

  it('drops a pod set to undefined (finished, no IP any more)', () => {
    const store = new LocalPodStore();
    store.set(KEY, pod('a', '10.244.1.10'));
    store.set(KEY, undefined);
    store.set('shop/never', undefined);
    expect(store.size).toBe(0);
    expect(store.changedSince(0)).toEqual(new Set(['uid-shop-a']));
  });

  it('replace() logs only what differs and deletes the keys not given', () => {
    const store = new LocalPodStore();
    store.set(KEY, pod('a', '10.244.1.10'));
    store.set('shop/b', pod('b', '10.244.1.11'));
    const v = store.version;
    store.replace([
      [KEY, pod('a', '10.244.1.10')],
      ['shop/c', pod('c', '10.244.1.12')],
      ['shop/d', undefined],
    ]);
    expect(store.changedSince(v)).toEqual(new Set(['uid-shop-b', 'uid-shop-c']));
    expect([...store].map((p) => p.name).sort()).toEqual(['a', 'c']);
  });

  it('says it no longer knows once the log is dropped, and never for a version it has not reached', () => {
    const store = new LocalPodStore();
    store.set(KEY, pod('a', '10.244.1.10'));
    expect(store.changedSince(store.version + 1)).toBeUndefined();
    for (let i = 0; i < 1100; i++) store.set(KEY, pod('a', '10.244.1.10', { n: String(i) }));
    expect(store.changedSince(0)).toBeUndefined();
    expect(store.changedSince(store.version)).toEqual(new Set());
  });

  it('a pod whose UID is set under a second key stays when the first key is deleted', () => {
    const store = new LocalPodStore();
    const a = pod('a', '10.244.1.10');
    store.set(KEY, a);
    const twin = { ...a, ips: ['10.244.1.99'] };
    store.set('shop/twin', twin);
    store.delete(KEY);
    expect([...store]).toEqual([twin]);
  });
});

describe('sameSteeringInput', () => {
  it('compares namespace, IPs and labels, not names', () => {
    const a = pod('a', '10.244.1.10');
    expect(sameSteeringInput(a, { ...a, name: 'other', labels: { ...a.labels } })).toBe(true);
    expect(sameSteeringInput(a, { ...a, namespace: 'lab' })).toBe(false);
    expect(sameSteeringInput(a, { ...a, ips: ['10.244.1.10', 'fd00::1'] })).toBe(false);
    expect(sameSteeringInput(a, { ...a, labels: { app: 'web' } })).toBe(false);
    expect(sameSteeringInput(a, { ...a, labels: { app: 'api', tier: 'x' } })).toBe(false);
    expect(sameSteeringInput({ ...a, labels: { x: '' } }, { ...a, labels: { y: '' } })).toBe(false);
  });
});
