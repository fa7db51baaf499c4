import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { NodeRef } from '../../src/provider/contract.ts';
import { InMemoryCloud } from './cloud.ts';
import { AnswerHistory, Lies } from './lies.ts';
import { createInMemoryProviderFor } from './provider.ts';

describe('Lies', () => {
  it('tells each lie to the next writes and reads it was set for, in order, then none', () => {
    const lies = new Lies();
    lies.loseWrites(1);
    lies.delayWrites(2, 300);
    expect(lies.nextWrite()).toEqual({ kind: 'lost' });
    expect(lies.nextWrite()).toEqual({ kind: 'late', delayMs: 300 });
    expect(lies.nextWrite()).toEqual({ kind: 'late', delayMs: 300 });
    expect(lies.nextWrite()).toEqual({ kind: 'honest' });
    lies.staleReads(1, 500);
    expect(lies.armed).toBe(true);
    expect(lies.nextReadAge()).toBe(500);
    expect(lies.nextReadAge()).toBe(0);
    expect(lies.told).toEqual({ lost: 1, late: 2, stale: 1 });
    expect(lies.armed).toBe(false);
  });

  it('clear stops the lies not yet told', () => {
    const lies = new Lies();
    lies.loseWrites(3);
    lies.staleReads(3, 100);
    lies.clear();
    expect(lies.nextWrite()).toEqual({ kind: 'honest' });
    expect(lies.nextReadAge()).toBe(0);
  });
});

describe('AnswerHistory', () => {
  it('answers the newest answer at least that old, else the oldest kept, else nothing', () => {
    const history = new AnswerHistory<string>();
    expect(history.stale('k', 100, 1000)).toBeUndefined();
    history.record('k', 'v1', 1000);
    history.record('k', 'v2', 1500);
    history.record('k', 'v3', 1900);
    expect(history.stale('k', 100, 2000)).toBe('v3');
    expect(history.stale('k', 450, 2000)).toBe('v2');
    expect(history.stale('k', 5000, 2000)).toBe('v1');
    expect(history.stale('other', 100, 2000)).toBeUndefined();
  });

  it('keeps an unchanged answer once, with the time it was first given', () => {
    const history = new AnswerHistory<string>();
    history.record('k', 'same', 1000);
    history.record('k', 'same', 1800);
    history.record('k', 'new', 1900);
    expect(history.stale('k', 500, 2000)).toBe('same');
  });

  it('forgets answers older than its window but the newest of them', () => {
    const history = new AnswerHistory<string>({ keepMs: 1000 });
    history.record('k', 'a', 0);
    history.record('k', 'b', 500);
    history.record('k', 'c', 2000);
    // 'a' is gone; 'b' stays: it is what a read at 1000..2000 was told.
    expect(history.stale('k', 10_000, 2000)).toBe('b');
  });
});

describe('the in-memory cloud, lying', () => {
  const setup = () => {
    const cloud = new InMemoryCloud();
    cloud.addInstance({ name: 'a', zone: 'z', subnet: '10.0.0.0/24', primaryIP: '10.0.0.10' });
    cloud.addInstance({ name: 'b', zone: 'z', subnet: '10.0.0.0/24', primaryIP: '10.0.0.11' });
    const provider = createInMemoryProviderFor(cloud, { owner: 'test' });
    const ref = (name: string): NodeRef => ({ name, providerID: `inmemory:///z/${name}` });
    return { cloud, provider, a: ref('a'), b: ref('b') };
  };

  it('a lost write answers ok and the interface does not change', async () => {
    const { cloud, provider, a } = setup();
    cloud.lies.loseWrites(1);
    const result = await provider.apply({ changes: [{ kind: 'assign', ip: '10.0.0.50', node: a }] });
    expect(result.outcomes.every((o) => o.ok)).toBe(true);
    expect(cloud.secondaryIPs('a')).toEqual([]);
    expect(cloud.mutatingCalls).toBe(1);
    await provider.apply({ changes: [{ kind: 'assign', ip: '10.0.0.50', node: a }] });
    expect(cloud.secondaryIPs('a')).toEqual(['10.0.0.50']);
  });

  it('a late write lands after its answer, on the state of that time: a move never leaves an IP on two interfaces', async () => {
    const { cloud, provider, a, b } = setup();
    cloud.lies.delayWrites(1, 80);
    await provider.apply({ changes: [{ kind: 'assign', ip: '10.0.0.50', node: a }] });
    expect(cloud.secondaryIPs('a')).toEqual([]);
    // Meanwhile the IP goes to b; then the late write to a lands and takes it from b.
    await provider.apply({ changes: [{ kind: 'assign', ip: '10.0.0.50', node: b }] });
    expect(cloud.secondaryIPs('b')).toEqual(['10.0.0.50']);
    await cloud.lies.settled();
    expect(cloud.secondaryIPs('a')).toEqual(['10.0.0.50']);
    expect(cloud.secondaryIPs('b')).toEqual([]);
  });

  it('a late allocation answers the IPs it picked and skips one another interface took before it landed', async () => {
    const { cloud, provider, a, b } = setup();
    cloud.lies.delayWrites(1, 50);
    const result = await provider.apply({ changes: [{ kind: 'allocate', count: 2, node: a }] });
    const picked = result.outcomes[0]?.ok ? (result.outcomes[0].allocated ?? []) : [];
    expect(picked).toHaveLength(2);
    await provider.apply({ changes: [{ kind: 'assign', ip: picked[0]!, node: b }] });
    await cloud.lies.settled();
    expect(cloud.secondaryIPs('a')).toEqual([picked[1]]);
    expect(cloud.secondaryIPs('b')).toEqual([picked[0]]);
  });

  it('a stale read answers what an earlier read was told; a write still acts on the real state', async () => {
    const { cloud, provider, a } = setup();
    cloud.lies.record();
    expect(await provider.listAssignments([a])).toEqual([]);
    await sleep(30);
    await provider.apply({ changes: [{ kind: 'assign', ip: '10.0.0.50', node: a }] });
    expect((await provider.listAssignments([a])).map((x) => x.ip)).toEqual(['10.0.0.50']);
    cloud.lies.staleReads(2, 20);
    // The answer given 20+ ms ago (before the assign), for a list and for a describe.
    expect(await provider.listAssignments([a])).toEqual([]);
    expect((await provider.describeNode(a)).ownedIPs).toEqual([]);
    expect((await provider.listAssignments([a])).map((x) => x.ip)).toEqual(['10.0.0.50']);
    cloud.lies.staleReads(1, 1000);
    const release = await provider.apply({ changes: [{ kind: 'release', ip: '10.0.0.50', node: a }] });
    expect(release.outcomes.every((o) => o.ok)).toBe(true);
    expect(cloud.secondaryIPs('a')).toEqual([]);
  });
});
