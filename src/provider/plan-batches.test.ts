import { describe, expect, it } from 'vitest';
import { IPV4_AND_IPV6, type ProviderCapabilities } from './capabilities.ts';
import { type Change, type NodeRef, ProviderError } from './contract.ts';
import type { Edit } from './interface-driver.ts';
import {
  assignBatches,
  changeOutcomes,
  type EditOutcome,
  nodesToResolve,
  planBatches,
  type Resolution,
} from './plan-batches.ts';

const node = (name: string): NodeRef => ({ name, providerID: `test:///${name}` });
const [a, b, gone, flaky] = ['a', 'b', 'gone', 'flaky'].map(node) as [NodeRef, NodeRef, NodeRef, NodeRef];
const resolutions = new Map<string, Resolution<string>>([
  ['a', { ok: true, target: 'nic-a', key: 'nic-a' }],
  ['b', { ok: true, target: 'nic-b', key: 'nic-b' }],
  ['gone', { ok: false, error: new ProviderError('notFound', 'instance gone') }],
  ['flaky', { ok: false, error: new ProviderError('throttled', 'slow down') }],
]);
const resolved = (n: NodeRef) => resolutions.get(n.name)!;
const twoStep: ProviderCapabilities = {
  atomicMove: false,
  publicAddresses: true,
  cloudAllocatedIPs: true,
  ownershipRecord: true,
  families: IPV4_AND_IPV6,
};
const atomic: ProviderCapabilities = { ...twoStep, atomicMove: true };
const edits = (batches: readonly { key: string; items: readonly { edit: Edit }[] }[]) =>
  Object.fromEntries(batches.map((b) => [b.key, b.items.map((i) => i.edit)]));

describe('planBatches', () => {
  it('given a two-step provider, a move releases on the source in phase 1 and adds on the target after', () => {
    const changes: Change[] = [{ kind: 'assign', ip: '10.0.0.5', node: b, from: a }];
    const plan = planBatches(changes, resolved, twoStep);
    expect(edits(plan.releases)).toEqual({ 'nic-a': [{ kind: 'remove', ip: '10.0.0.5' }] });
    expect(plan.halves.get(0)).toEqual({ kind: 'remove', ip: '10.0.0.5' });
    expect(nodesToResolve(changes, twoStep).map((n) => n.name)).toEqual(['b', 'a']);
  });

  it('given an atomic provider, a move is one add on the target and its source is not resolved', () => {
    const changes: Change[] = [{ kind: 'assign', ip: '10.0.0.5', node: b, from: a }];
    const plan = planBatches(changes, resolved, atomic);
    expect(plan.releases).toEqual([]);
    expect(edits(assignBatches(plan, new Map(), new Map()))).toEqual({
      'nic-b': [{ kind: 'add', ip: '10.0.0.5' }],
    });
    expect(nodesToResolve(changes, atomic).map((n) => n.name)).toEqual(['b']);
  });

  it('given a per-move answer, a move it calls atomic is one add naming its source, the others take two steps', () => {
    const changes: Change[] = [
      { kind: 'assign', ip: '10.0.0.5', node: b, from: a },
      { kind: 'assign', ip: '10.0.0.6', node: a, from: b },
    ];
    // One write for moves onto nic-b only (say, a feature of nic-b's subscription).
    const plan = planBatches(changes, resolved, twoStep, (_from, to) => to === 'nic-b');
    expect(edits(plan.releases)).toEqual({ 'nic-b': [{ kind: 'remove', ip: '10.0.0.6' }] });
    expect(plan.halves.has(0)).toBe(false);
    expect(edits(assignBatches(plan, new Map(), new Map()))).toEqual({
      'nic-b': [{ kind: 'add', ip: '10.0.0.5', from: 'nic-a' }],
    });
    expect(nodesToResolve(changes, atomic, true).map((n) => n.name)).toEqual(['b', 'a']);
  });

  it('given a per-move answer and a source that cannot be resolved, the capability decides', () => {
    const changes: Change[] = [
      { kind: 'assign', ip: '10.0.0.5', node: b, from: gone },
      { kind: 'assign', ip: '10.0.0.6', node: b, from: flaky },
    ];
    const asked: string[] = [];
    const inOne = (from: string) => {
      asked.push(from);
      return true;
    };
    const plan = planBatches(changes, resolved, twoStep, inOne);
    expect(asked).toEqual([]);
    expect(plan.decided.get(1)).toMatchObject({ ok: false, error: { kind: 'throttled' } });
    expect(edits(assignBatches(plan, new Map(), new Map()))).toEqual({
      'nic-b': [{ kind: 'add', ip: '10.0.0.5' }],
    });
    const onAtomic = planBatches(changes, resolved, atomic, inOne);
    expect(onAtomic.decided.size).toBe(0);
  });

  it('groups edits per interface and phase, in plan order', () => {
    const plan = planBatches(
      [
        { kind: 'assign', ip: '10.0.0.5', node: a },
        { kind: 'release', ip: '10.0.0.6', node: a },
        { kind: 'allocate', count: 2, node: a },
        { kind: 'assign', ip: '10.0.0.7', node: b },
      ],
      resolved,
      twoStep,
    );
    expect(edits(plan.releases)).toEqual({ 'nic-a': [{ kind: 'remove', ip: '10.0.0.6' }] });
    expect(edits(assignBatches(plan, new Map(), new Map()))).toEqual({
      'nic-a': [
        { kind: 'add', ip: '10.0.0.5' },
        { kind: 'allocate', count: 2 },
      ],
      'nic-b': [{ kind: 'add', ip: '10.0.0.7' }],
    });
  });

  it('decides at once: bad IPs, refused public addresses, releases on gone nodes, resolution errors', () => {
    const plan = planBatches(
      [
        { kind: 'assign', ip: 'not-an-ip', node: a },
        { kind: 'assign', ip: '10.0.0.5', node: a, publicAddress: 'eip-1' },
        { kind: 'release', ip: '10.0.0.6', node: gone },
        { kind: 'release', ip: '10.0.0.7', node: flaky },
        { kind: 'assign', ip: '10.0.0.8', node: gone },
        { kind: 'assign', ip: '10.0.0.9', node: b, from: flaky },
        { kind: 'assign', ip: '10.0.0.10', node: b, from: gone },
      ],
      resolved,
      { ...twoStep, publicAddresses: false, publicAddressHint: 'use the NAT instead' },
    );
    const decided = (i: number) => {
      const o = plan.decided.get(i);
      return o && (o.ok ? 'ok' : `${o.error.kind}: ${o.error.message}`);
    };
    expect(decided(0)).toBe('terminal: "not-an-ip" is not an IP address');
    expect(decided(1)).toMatch(/^terminal: 10\.0\.0\.5: .*public address.*; use the NAT instead$/);
    expect(decided(2)).toBe('ok');
    expect(decided(3)).toBe('throttled: slow down');
    expect(decided(4)).toBe('notFound: instance gone');
    expect(decided(5)).toBe('throttled: slow down');
    // The source is gone, so it holds nothing: the move is a plain add.
    expect(decided(6)).toBeUndefined();
    expect(edits(assignBatches(plan, new Map(), new Map()))).toEqual({
      'nic-b': [{ kind: 'add', ip: '10.0.0.10' }],
    });
  });

  it('canonicalises IPs in edits', () => {
    const plan = planBatches([{ kind: 'release', ip: '2001:DB8:0:0::5', node: a }], resolved, twoStep);
    expect(edits(plan.releases)).toEqual({ 'nic-a': [{ kind: 'remove', ip: '2001:db8::5' }] });
  });
});

describe('assignBatches and changeOutcomes', () => {
  const changes: Change[] = [
    { kind: 'assign', ip: '10.0.0.5', node: b, from: a },
    { kind: 'assign', ip: '10.0.0.6', node: b, from: a },
    { kind: 'assign', ip: '10.0.0.7', node: b },
  ];

  it('drops a move whose release half failed, carries a public address along, and fails the unanswered transient', () => {
    const plan = planBatches(changes, resolved, twoStep);
    const [half5, half6] = [plan.halves.get(0)!, plan.halves.get(1)!];
    const outcomes = new Map<Edit, EditOutcome>([
      [half5, { ok: true }],
      [half6, { ok: false, error: new ProviderError('conflict', 'etag mismatch') }],
    ]);
    const phase2 = assignBatches(plan, outcomes, new Map([['10.0.0.5', 'pip-1']]));
    expect(edits(phase2)).toEqual({
      'nic-b': [
        { kind: 'add', ip: '10.0.0.5', publicAddress: 'pip-1' },
        { kind: 'add', ip: '10.0.0.7' },
      ],
    });
    const mains = new Map(phase2.flatMap((batch) => batch.items.map((i) => [i.index, i.edit] as const)));
    outcomes.set(mains.get(0)!, { ok: true });
    const result = changeOutcomes(changes, plan, mains, outcomes);
    expect(result.map((o) => (o.ok ? 'ok' : `${o.error.kind}: ${o.error.message}`))).toEqual([
      'ok',
      'conflict: etag mismatch',
      'transient: 10.0.0.7 on node b: not carried out; its effect is unknown',
    ]);
  });
});
