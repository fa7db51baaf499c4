import { describe, expect, it } from 'vitest';
import { type Change, type ChangeOutcome, ProviderError } from '../provider/contract.ts';
import { applyRefused, countChanges, foldApplyResult, nothingApplied } from './decide-apply.ts';

const ref = (name: string) => ({ name, providerID: `inmemory:///z1/${name}` });
const assign = (ip: string, node: string, from?: string): Change => ({
  kind: 'assign',
  ip,
  node: ref(node),
  ...(from ? { from: ref(from) } : {}),
});
const release = (ip: string, node: string): Change => ({ kind: 'release', ip, node: ref(node) });
const allocate = (node: string, count: number): Change => ({ kind: 'allocate', count, node: ref(node) });
const ok = (change: Change, allocated?: string[]): ChangeOutcome => ({
  change,
  ok: true,
  ...(allocated ? { allocated } : {}),
});
const failed = (change: Change, kind: ProviderError['kind']): ChangeOutcome => ({
  change,
  ok: false,
  error: new ProviderError(kind, `${kind} on ${change.node.name}`),
});

const before = {
  held: new Map([
    ['10.0.1.100', 'n1'],
    ['10.0.1.101', 'n2'],
  ]),
  cloudAllocatedIPs: ['10.0.1.50'],
};

describe('foldApplyResult', () => {
  it('moves an assigned IP to its node, drops a released one, and adds allocated IPs to the pool', () => {
    const moved = assign('10.0.1.100', 'n3', 'n1');
    const released = release('10.0.1.101', 'n2');
    const applied = foldApplyResult(
      {
        outcomes: [ok(moved), ok(released), ok(allocate('n2', 2), ['10.0.1.51', '10.0.1.50', '10.0.1.52'])],
      },
      before,
    );
    expect(Object.fromEntries(applied.held)).toEqual({
      '10.0.1.100': 'n3',
      '10.0.1.50': 'n2',
      '10.0.1.51': 'n2',
      '10.0.1.52': 'n2',
    });
    expect(applied.cloudAllocatedIPs).toEqual(['10.0.1.50', '10.0.1.51', '10.0.1.52']);
    expect([...applied.outcomes.keys()]).toEqual(['10.0.1.100', '10.0.1.101']);
    expect(applied).toMatchObject({ failed: [], invalidate: [], retryable: undefined });
    // The state before is not changed.
    expect(Object.fromEntries(before.held)).toEqual({ '10.0.1.100': 'n1', '10.0.1.101': 'n2' });
  });

  it('keeps a failed IP where it was, and records the failure by IP (allocations have no IP)', () => {
    const applied = foldApplyResult(
      {
        outcomes: [
          failed(assign('10.0.1.100', 'n3', 'n1'), 'terminal'),
          failed(allocate('n2', 1), 'terminal'),
        ],
      },
      before,
    );
    expect(applied.held.get('10.0.1.100')).toBe('n1');
    expect(applied.cloudAllocatedIPs).toEqual(['10.0.1.50']);
    expect([...applied.outcomes.keys()]).toEqual(['10.0.1.100']);
    expect(applied.failed.map((f) => f.change.kind)).toEqual(['assign', 'allocate']);
    expect(applied.retryable).toBeUndefined();
  });

  it("drops the nodes' descriptions after capacity and not-found errors, once each", () => {
    const applied = foldApplyResult(
      {
        outcomes: [
          failed(assign('10.0.1.102', 'n3'), 'capacity'),
          failed(assign('10.0.1.103', 'n3'), 'capacity'),
          failed(release('10.0.1.101', 'n2'), 'notFound'),
          failed(assign('10.0.1.104', 'n1'), 'throttled'),
        ],
      },
      before,
    );
    expect(applied.invalidate).toEqual(['n3', 'n2']);
  });

  it('keeps the first retryable error for the work queue', () => {
    const throttled = new ProviderError('throttled', 'slow down');
    const applied = foldApplyResult(
      {
        outcomes: [
          failed(assign('10.0.1.104', 'n1'), 'terminal'),
          { change: assign('10.0.1.102', 'n3'), ok: false, error: throttled },
          failed(assign('10.0.1.105', 'n1'), 'conflict'),
        ],
      },
      before,
    );
    expect(applied.retryable).toBe(throttled);
  });
});

describe('applyRefused', () => {
  it('fails every assign and release with the error and changes nothing else', () => {
    const error = new ProviderError('terminal', 'credentials refused');
    const changes = [assign('10.0.1.102', 'n3'), release('10.0.1.101', 'n2'), allocate('n1', 1)];
    const applied = applyRefused(changes, error, before);
    expect([...applied.outcomes.values()]).toEqual([
      { change: changes[0], ok: false, error },
      { change: changes[1], ok: false, error },
    ]);
    expect({ ...applied, outcomes: undefined }).toEqual({ ...nothingApplied(before), outcomes: undefined });
    expect(applied.retryable).toBeUndefined();
  });
});

describe('countChanges', () => {
  it('counts the changes of each kind', () => {
    expect(countChanges([assign('a', 'n1'), assign('b', 'n1'), release('c', 'n2')])).toEqual({
      assign: 2,
      release: 1,
      allocate: 0,
    });
  });
});
