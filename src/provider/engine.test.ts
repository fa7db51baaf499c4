import { describe, expect, it } from 'vitest';
import { IPV4_AND_IPV6 } from './capabilities.ts';
import type { CloudAssignment, NodeRef } from './contract.ts';
import { ProviderError } from './contract.ts';
import { createEngineProvider } from './engine.ts';
import type { BatchResult, Edit, InterfaceDriver } from './interface-driver.ts';

/**
 * A scripted cloud for the engine's own rules: interfaces are sets of IPs; `faults` make the next writes of an
 * interface throw; `replaced` interfaces moved to a new id (a cached resolution is stale until refreshed).
 */
function scriptedCloud(options: { atomicMove?: InterfaceDriver<string>['atomicMove'] } = {}) {
  const nics = new Map<string, Set<string>>([
    ['nic-a', new Set()],
    ['nic-b', new Set()],
  ]);
  const faults: { key: string; error: ProviderError }[] = [];
  const replaced = new Map<string, string>();
  const log = { reads: 0, writes: [] as string[], refreshes: 0 };
  const driver: InterfaceDriver<string> = {
    resolve: async (node) => {
      if (node.name === 'gone') throw new ProviderError('notFound', 'no such instance');
      return `nic-${node.name}`;
    },
    refresh: async (node) => {
      log.refreshes++;
      const id = `nic-${node.name}`;
      return replaced.get(id) ?? id;
    },
    key: (target) => target,
    write: (target, edits) => async (): Promise<BatchResult> => {
      log.reads++;
      const nic = nics.get(target);
      if (!nic) throw new ProviderError('notFound', `${target} is gone`);
      const fault = faults.findIndex((f) => f.key === target);
      if (fault >= 0) throw faults.splice(fault, 1)[0]!.error;
      const failed = new Map<Edit, ProviderError>();
      for (const edit of edits) {
        if (edit.kind === 'add' && edit.ip.endsWith('.99')) {
          failed.set(edit, new ProviderError('terminal', `${edit.ip} is reserved`));
        }
      }
      for (const edit of edits) {
        if (failed.has(edit)) continue;
        if (edit.kind === 'add' && edit.from) nics.get(edit.from)?.delete(edit.ip);
        if (edit.kind === 'add') nic.add(edit.ip);
        if (edit.kind === 'remove') nic.delete(edit.ip);
      }
      log.writes.push(target);
      return { failed };
    },
    describe: async ({ node, target }) => ({
      node: node.name,
      interfaceId: target,
      zone: 'z',
      subnets: ['10.0.0.0/24'],
      reservedIPs: [],
      ownedIPs: [...(nics.get(target) ?? [])],
      freeSlots: 10,
    }),
    list: async (group) =>
      group.map(({ node, target }) => {
        const nic = nics.get(target);
        return nic && [...nic].map((ip): CloudAssignment => ({ ip, node: node.name, interfaceId: target }));
      }),
    classify: (err, doing) =>
      err instanceof ProviderError ? err : new ProviderError('transient', `${doing}: ${String(err)}`),
    blame: (error, edits) => edits.find((e) => e.kind === 'add' && error.message.includes(`'${e.ip}'`)),
    ...(options.atomicMove ? { atomicMove: options.atomicMove } : {}),
    preflight: async (group) =>
      group.map(({ node, target }) => ({
        check: 'free IP slots',
        node: node.name,
        ok: true,
        message: `${target} can take 10 more IPs`,
      })),
  };
  const provider = createEngineProvider(driver, {
    name: 'scripted',
    capabilities: {
      atomicMove: false,
      publicAddresses: true,
      cloudAllocatedIPs: true,
      ownershipRecord: true,
      families: IPV4_AND_IPV6,
    },
    retry: { retries: 3, baseDelayMs: 1, throttledBaseDelayMs: 1, maxDelayMs: 2 },
  });
  return { nics, faults, replaced, log, provider };
}

const node = (name: string): NodeRef => ({ name, providerID: `scripted:///${name}` });
const summary = (outcomes: readonly { ok: boolean; error?: ProviderError }[]) =>
  outcomes.map((o) => (o.ok ? 'ok' : `${o.error!.kind}: ${o.error!.message}`));

describe('provider engine', () => {
  it('given a retryable failure, when the batch is retried, then each attempt reads the interface again', async () => {
    const { faults, log, provider, nics } = scriptedCloud();
    faults.push({ key: 'nic-a', error: new ProviderError('conflict', 'stale fingerprint') });
    const result = await provider.apply({ changes: [{ kind: 'assign', ip: '10.0.0.5', node: node('a') }] });
    expect(summary(result.outcomes)).toEqual(['ok']);
    expect(log.reads).toBe(2);
    expect([...nics.get('nic-a')!]).toEqual(['10.0.0.5']);
  });

  it('given a refusal that names one IP, then only that change fails and the rest are written again', async () => {
    const { faults, provider, nics } = scriptedCloud();
    faults.push({
      key: 'nic-a',
      error: new ProviderError('terminal', "IP '10.0.0.6' is in use by another resource"),
    });
    const result = await provider.apply({
      changes: ['10.0.0.5', '10.0.0.6', '10.0.0.7'].map((ip) => ({ kind: 'assign', ip, node: node('a') })),
    });
    expect(summary(result.outcomes)).toEqual([
      'ok',
      "terminal: IP '10.0.0.6' is in use by another resource",
      'ok',
    ]);
    expect([...nics.get('nic-a')!].sort()).toEqual(['10.0.0.5', '10.0.0.7']);
  });

  it('given a whole-batch refusal saying something else holds an IP, then only the edit it names carries the holder', async () => {
    const { faults, provider } = scriptedCloud();
    const inUse = new ProviderError('terminal', 'the address is already being used by another resource', {
      heldBy: 'another resource',
    });
    faults.push({ key: 'nic-a', error: inUse });
    const single = await provider.apply({ changes: [{ kind: 'assign', ip: '10.0.0.5', node: node('a') }] });
    expect(single.outcomes.map((o) => (o.ok ? 'ok' : o.error.heldBy))).toEqual([undefined]);
    faults.push({
      key: 'nic-a',
      error: new ProviderError('terminal', "IP '10.0.0.6' is in use by another resource", {
        heldBy: 'another resource',
      }),
    });
    const named = await provider.apply({
      changes: ['10.0.0.6', '10.0.0.7'].map((ip) => ({ kind: 'assign', ip, node: node('a') })),
    });
    expect(named.outcomes.map((o) => (o.ok ? 'ok' : o.error.heldBy))).toEqual(['another resource', 'ok']);
  });

  it('given a whole-batch refusal naming no IP, then every change of that interface fails with it, naming its IP', async () => {
    const { faults, provider } = scriptedCloud();
    faults.push({ key: 'nic-a', error: new ProviderError('terminal', 'AuthorizationFailed') });
    const result = await provider.apply({
      changes: [
        { kind: 'assign', ip: '10.0.0.5', node: node('a') },
        { kind: 'assign', ip: '10.0.0.6', node: node('b') },
      ],
    });
    expect(summary(result.outcomes)).toEqual(['terminal: 10.0.0.5: AuthorizationFailed', 'ok']);
  });

  it('given per-edit failures reported by the driver, then those changes fail and the others succeed', async () => {
    const { provider } = scriptedCloud();
    const result = await provider.apply({
      changes: ['10.0.0.5', '10.0.0.99'].map((ip) => ({ kind: 'assign', ip, node: node('a') })),
    });
    expect(summary(result.outcomes)).toEqual(['ok', 'terminal: 10.0.0.99 is reserved']);
  });

  it('given a stale cached interface, when the write meets notFound, then the node is resolved afresh once', async () => {
    const { nics, replaced, log, provider } = scriptedCloud();
    nics.delete('nic-a');
    nics.set('nic-a2', new Set());
    replaced.set('nic-a', 'nic-a2');
    const result = await provider.apply({ changes: [{ kind: 'assign', ip: '10.0.0.5', node: node('a') }] });
    expect(summary(result.outcomes)).toEqual(['ok']);
    expect(log.refreshes).toBe(1);
    expect([...nics.get('nic-a2')!]).toEqual(['10.0.0.5']);
  });

  it('given a gone interface, then its releases succeed and additions to it fail notFound', async () => {
    const { nics, provider } = scriptedCloud();
    nics.delete('nic-a');
    const result = await provider.apply({
      changes: [
        { kind: 'release', ip: '10.0.0.5', node: node('a') },
        { kind: 'assign', ip: '10.0.0.6', node: node('a') },
        { kind: 'release', ip: '10.0.0.7', node: node('gone') },
      ],
    });
    expect(summary(result.outcomes)).toEqual(['ok', 'notFound: 10.0.0.6: nic-a is gone', 'ok']);
  });

  it('given a two-step move, then the source is written before the target and a failed release stops the add', async () => {
    const { nics, faults, log, provider } = scriptedCloud();
    nics.get('nic-a')!.add('10.0.0.5');
    nics.get('nic-a')!.add('10.0.0.6');
    const moved = await provider.apply({
      changes: [{ kind: 'assign', ip: '10.0.0.5', node: node('b'), from: node('a') }],
    });
    expect(summary(moved.outcomes)).toEqual(['ok']);
    expect(log.writes).toEqual(['nic-a', 'nic-b']);
    faults.push({ key: 'nic-a', error: new ProviderError('terminal', 'locked') });
    const refused = await provider.apply({
      changes: [{ kind: 'assign', ip: '10.0.0.6', node: node('b'), from: node('a') }],
    });
    expect(summary(refused.outcomes)).toEqual(['terminal: 10.0.0.6: locked']);
    expect([...nics.get('nic-a')!]).toEqual(['10.0.0.6']);
    expect([...nics.get('nic-b')!]).toEqual(['10.0.0.5']);
  });

  it('given a driver that answers per move, a move it calls atomic is one write on the target, naming the source', async () => {
    const { nics, log, provider } = scriptedCloud({ atomicMove: (_from, to) => to === 'nic-b' });
    nics.get('nic-a')!.add('10.0.0.5');
    nics.get('nic-b')!.add('10.0.0.6');
    const result = await provider.apply({
      changes: [
        { kind: 'assign', ip: '10.0.0.5', node: node('b'), from: node('a') },
        { kind: 'assign', ip: '10.0.0.6', node: node('a'), from: node('b') },
      ],
    });
    expect(summary(result.outcomes)).toEqual(['ok', 'ok']);
    // nic-b: the release half of the two-step move (phase 1), then the atomic move onto it (phase 2).
    expect(log.writes.sort()).toEqual(['nic-a', 'nic-b', 'nic-b']);
    expect([...nics.get('nic-a')!]).toEqual(['10.0.0.6']);
    expect([...nics.get('nic-b')!]).toEqual(['10.0.0.5']);
  });

  it('lists assignments, skipping gone nodes, and reads afresh an interface missing from the answer', async () => {
    const { nics, replaced, provider } = scriptedCloud();
    nics.get('nic-b')!.add('10.0.0.8');
    nics.set('nic-a2', new Set(['10.0.0.5']));
    nics.delete('nic-a');
    replaced.set('nic-a', 'nic-a2');
    const listed = await provider.listAssignments([node('gone'), node('a'), node('b')]);
    expect(listed).toEqual([
      { ip: '10.0.0.5', node: 'a', interfaceId: 'nic-a2' },
      { ip: '10.0.0.8', node: 'b', interfaceId: 'nic-b' },
    ]);
  });

  it('preflight: the driver checks the resolved nodes, and a node that cannot be resolved fails a check', async () => {
    const { provider } = scriptedCloud();
    const checks = await provider.preflight!([node('a'), node('gone')]);
    expect(checks).toEqual([
      {
        check: 'interface found',
        node: 'gone',
        ok: false,
        message: 'no such instance',
        fix: 'check the Node spec.providerID and that the instance exists',
      },
      { check: 'free IP slots', node: 'a', ok: true, message: 'nic-a can take 10 more IPs' },
    ]);
  });

  it('describes a node, and fails notFound for a gone one', async () => {
    const { provider } = scriptedCloud();
    expect((await provider.describeNode(node('b'))).interfaceId).toBe('nic-b');
    await expect(provider.describeNode(node('gone'))).rejects.toMatchObject({ kind: 'notFound' });
  });
});
