import { describe, expect, it } from 'vitest';
import { pod } from '../../test/support/policy-fixtures.ts';
import type { LocalPod, LocalPods } from './agent-inputs.ts';
import type { DesiredDataplane } from './dataplane.ts';
import { DesiredCache } from './desired-cache.ts';
import { LocalPodStore } from './local-pods.ts';
import type { PodVerdict } from './pod-steering.ts';

const MAP = 'p1_pods4';
/** Pods labelled app=api go to 10.0.1.17 (goto m1), others have no IP (drop); counts the calls. */
function steering() {
  const steered: string[] = [];
  const steer = (p: LocalPod): PodVerdict[] => {
    steered.push(p.name);
    const egressIp = p.labels.app === 'api' ? '10.0.1.17' : undefined;
    return [{ map: 0, podIps: p.ips, egressIp, verdict: egressIp ? 'goto m1' : 'drop' }];
  };
  return { steer, steered };
}
/** Stands in for the dataplane built on the maps (the cache only keeps it as the basis). */
const decision = () => ({}) as DesiredDataplane;

describe('DesiredCache', () => {
  it('keeps the cluster set for the same CIDRs and node IPs, through reset(), and merges again for others', () => {
    const cache = new DesiredCache();
    const first = cache.clusterSet(['10.244.1.0/24', '10.244.2.0/24'], ['192.168.100.1']);
    const linkLocal = '169.254.0.0-169.254.255.255';
    expect([...first.keys()]).toEqual(['10.244.1.0-10.244.2.255', linkLocal, '192.168.100.1-192.168.100.1']);
    cache.reset();
    expect(cache.clusterSet(['10.244.1.0/24', '10.244.2.0/24'], ['192.168.100.1'])).toBe(first);
    const other = cache.clusterSet(['10.244.1.0/24'], ['192.168.100.1']);
    expect(other).not.toBe(first);
    expect([...other.keys()]).toEqual(['10.244.1.0-10.244.1.255', linkLocal, '192.168.100.1-192.168.100.1']);
  });

  it('fills fresh maps on the first update, with counts and no delta', () => {
    const { steer } = steering();
    const out = new DesiredCache().update(
      'e1',
      [MAP],
      [pod('a', '10.244.1.10'), pod('b', '10.244.1.11'), pod('c', '10.244.1.12', { app: 'web' })],
      steer,
    );
    expect(out.maps).toEqual([
      new Map([
        ['10.244.1.10', 'goto m1'],
        ['10.244.1.11', 'goto m1'],
        ['10.244.1.12', 'drop'],
      ]),
    ]);
    expect(out.podsByIp).toEqual(new Map([['10.0.1.17', 2]]));
    expect(out.podsWithoutIp).toBe(1);
    expect(out.delta).toBeUndefined();
  });

  it('in the same epoch, steers only new pods, updates the maps in place and reports the delta', () => {
    const { steer, steered } = steering();
    const cache = new DesiredCache();
    const a = pod('a', '10.244.1.10');
    const first = cache.update('e1', [MAP], [a], steer);
    const basis = decision();
    cache.remember(basis);
    const second = cache.update('e1', [MAP], [a, pod('b', '10.244.1.11')], steer);
    expect(steered).toEqual(['a', 'b']);
    expect(second.maps[0]).toBe(first.maps[0]);
    expect(second.delta).toEqual({
      basis,
      sets: new Map([[MAP, { add: new Map([['10.244.1.11', 'goto m1']]), remove: new Map() }]]),
    });
    expect(second.delta?.basis).toBe(basis);
    expect(second.podsByIp).toEqual(new Map([['10.0.1.17', 2]]));
  });

  it('removes the elements of pods that are gone, and the IP from the counts at zero', () => {
    const { steer } = steering();
    const cache = new DesiredCache();
    cache.update('e1', [MAP], [pod('a', '10.244.1.10'), pod('c', '10.244.1.12', { app: 'web' })], steer);
    cache.remember(decision());
    const out = cache.update('e1', [MAP], [], steer);
    expect(out.maps[0]).toEqual(new Map());
    expect(out.delta?.sets.get(MAP)).toEqual({
      add: new Map(),
      remove: new Map([
        ['10.244.1.10', 'goto m1'],
        ['10.244.1.12', 'drop'],
      ]),
    });
    expect(out.podsByIp).toEqual(new Map());
    expect(out.podsWithoutIp).toBe(0);
  });

  it('recognises an unchanged pod by content; a changed one is steered again', () => {
    const { steer, steered } = steering();
    const cache = new DesiredCache();
    cache.update('e1', [MAP], [pod('a', '10.244.1.10')], steer);
    cache.remember(decision());
    const same = cache.update('e1', [MAP], [pod('a', '10.244.1.10')], steer); // a new object, same content
    expect(steered).toEqual(['a']);
    expect(same.delta?.sets).toEqual(new Map());
    cache.remember(decision());
    const relabelled = cache.update('e1', [MAP], [pod('a', '10.244.1.10', { app: 'web' })], steer);
    expect(steered).toEqual(['a', 'a']);
    expect(relabelled.maps[0]).toEqual(new Map([['10.244.1.10', 'drop']]));
    expect(relabelled.delta?.sets.get(MAP)).toEqual({
      add: new Map([['10.244.1.10', 'drop']]),
      remove: new Map([['10.244.1.10', 'goto m1']]),
    });
    expect([relabelled.podsByIp, relabelled.podsWithoutIp]).toEqual([new Map(), 1]);
  });

  it('keeps the IP of a pod replaced by another with the same IP and verdict, as no change', () => {
    const { steer } = steering();
    const cache = new DesiredCache();
    cache.update('e1', [MAP], [pod('old', '10.244.1.10')], steer);
    cache.remember(decision());
    const out = cache.update('e1', [MAP], [pod('new', '10.244.1.10')], steer);
    expect(out.maps[0]).toEqual(new Map([['10.244.1.10', 'goto m1']]));
    expect(out.delta?.sets.get(MAP)).toEqual({ add: new Map(), remove: new Map() });
    expect(out.podsByIp).toEqual(new Map([['10.0.1.17', 1]]));
  });

  it('takes the first of two pods with the same UID', () => {
    const { steer } = steering();
    const first = pod('a', '10.244.1.10');
    const twin = { ...pod('a', '10.244.1.99'), uid: first.uid };
    const out = new DesiredCache().update('e1', [MAP], [first, twin], steer);
    expect(out.maps[0]).toEqual(new Map([['10.244.1.10', 'goto m1']]));
  });

  it('starts over when the epoch changes, before anything is remembered, and after reset()', () => {
    const pods = [pod('a', '10.244.1.10')];
    const { steer, steered } = steering();
    const cache = new DesiredCache();
    const first = cache.update('e1', [MAP], pods, steer);
    // Nothing remembered yet: no basis for a delta.
    expect(cache.update('e1', [MAP], pods, steer).delta).toBeUndefined();
    cache.remember(decision());
    const changed = cache.update('e2', [MAP], pods, steer);
    expect(changed.delta).toBeUndefined();
    expect(changed.maps[0]).not.toBe(first.maps[0]);
    cache.remember(decision());
    cache.reset();
    expect(cache.update('e2', [MAP], pods, steer).delta).toBeUndefined();
    expect(steered).toEqual(['a', 'a', 'a', 'a']);
  });

  describe('given LocalPods', () => {
    /** A store of `count` pods whose passes over all pods are counted. */
    function store(count: number) {
      const pods = new LocalPodStore();
      for (let i = 0; i < count; i++) pods.set(`shop/p${i}`, pod(`p${i}`, `10.244.1.${i}`));
      let passes = 0;
      const iterate = pods[Symbol.iterator].bind(pods);
      pods[Symbol.iterator] = () => {
        passes++;
        return iterate();
      };
      return { pods, passes: () => passes };
    }

    /** Updates that remember a decision each time, in one cache. */
    function updates() {
      const { steer } = steering();
      const cache = new DesiredCache();
      const next = (epoch: string, pods: LocalPods | LocalPod[]) => {
        const out = cache.update(epoch, [MAP], pods, steer);
        cache.remember(decision());
        return out;
      };
      return Object.assign(next, { cache });
    }

    it('looks only at the UIDs changed since the last update, without a pass over the pods', () => {
      const { steer, steered } = steering();
      const { pods, passes } = store(200);
      const cache = new DesiredCache();
      const first = cache.update('e1', [MAP], pods, steer);
      expect([passes(), steered.length]).toEqual([1, 200]);
      cache.remember(decision());
      pods.set('shop/new', pod('new', '10.244.2.1'));
      pods.delete('shop/p0');
      pods.set('shop/p1', pod('p1', '10.244.1.1', { app: 'web' }));
      const out = cache.update('e1', [MAP], pods, steer);
      expect(passes()).toBe(1);
      expect(steered.slice(200)).toEqual(['new', 'p1']);
      expect(out.maps[0]).toBe(first.maps[0]);
      expect(out.delta?.sets.get(MAP)).toEqual({
        add: new Map([
          ['10.244.2.1', 'goto m1'],
          ['10.244.1.1', 'drop'],
        ]),
        remove: new Map([
          ['10.244.1.0', 'goto m1'],
          ['10.244.1.1', 'goto m1'],
        ]),
      });
      expect([out.podsByIp, out.podsWithoutIp]).toEqual([new Map([['10.0.1.17', 199]]), 1]);
      cache.remember(decision());
      expect(cache.update('e1', [MAP], pods, steer).delta?.sets).toEqual(new Map());
      expect(passes()).toBe(1);
    });

    it('passes over every pod when the epoch changes, after reset(), for another store or a list', () => {
      const { pods, passes } = store(3);
      const next = updates();
      next('e1', pods);
      next('e2', pods);
      expect(passes()).toBe(2);
      next.cache.reset();
      next('e2', pods);
      expect(passes()).toBe(3);
      const other = store(3);
      next('e2', other.pods);
      expect(other.passes()).toBe(1);
      // After a list, the store is looked at in full again.
      next('e2', [...other.pods]);
      next('e2', other.pods);
      expect(other.passes()).toBe(3);
    });

    it('passes over every pod when the store no longer knows what changed', () => {
      const { pods, passes } = store(3);
      const next = updates();
      next('e1', pods);
      for (let i = 0; i < 1100; i++) pods.set('shop/p0', pod('p0', '10.244.1.0', { n: String(i) }));
      const out = next('e1', pods);
      expect(passes()).toBe(2);
      expect(out.maps[0]).toEqual(
        new Map([
          ['10.244.1.0', 'drop'],
          ['10.244.1.1', 'goto m1'],
          ['10.244.1.2', 'goto m1'],
        ]),
      );
    });
  });
});
