import { describe, expect, it } from 'vitest';
import { egressPolicy, inputs, pod } from '../../test/support/policy-fixtures.ts';
import type { IpAssignmentStatus } from '../api/index.ts';
import { AgentSync } from './agent-sync.ts';
import type { Change } from './dataplane.ts';
import { desiredState } from './desired-state.ts';
import { MemoryDataplane } from './memory-dataplane.ts';
import { planChanges } from './plan-changes.ts';
import { type DataplaneSettings, DEFAULT_DATAPLANE_SETTINGS } from './settings.ts';

/** The egress rows alone: the return path `tunnel` adds its own (tested in node-dataplane.test.ts). */
const S: DataplaneSettings = { ...DEFAULT_DATAPLANE_SETTINGS, returnPath: 'podNetwork' };

const IP = '10.0.1.17';
const on = (node: string, state: IpAssignmentStatus['state'] = 'Ready') =>
  inputs({ policies: [egressPolicy([{ ip: IP, node, state }])], pods: [pod('a', '10.244.1.10')] });

/** Index of the first change of `kind` (-1 when absent). */
const at = (changes: readonly Change[], kind: Change['kind']) => changes.findIndex((c) => c.kind === kind);

/** The changes a source node (node-1) makes going from `from` to `to`. */
async function transition(from: ReturnType<typeof on>, to: ReturnType<typeof on>) {
  const dp = new MemoryDataplane();
  const agent = new AgentSync({ dataplane: dp, settings: S });
  await agent.sync(from);
  const { changes } = await agent.sync(to);
  expect((await new AgentSync({ dataplane: dp, settings: S }).sync(to)).changes).toEqual([]);
  return changes;
}

describe('planChanges orders a source node to fail closed', () => {
  it('replaces the default route in one step when the gateway moves, after the throw of the new gateway, and removes the old path last', async () => {
    const changes = await transition(on('node-2'), on('node-3'));
    const kinds = changes.map((c) =>
      `${c.kind} ${'route' in c ? `${c.route.kind} ${c.route.kind === 'via' ? c.route.via : c.route.dst}` : ''}`.trim(),
    );
    expect(kinds).toEqual([
      'peer.add',
      'route.add throw 10.0.0.3',
      'route.add via 10.0.0.3',
      'route.delete throw 10.0.0.2',
      'peer.delete',
    ]);
  });

  it('keeps the families apart: an IPv6 route added to a table does not stand for the IPv4 route left in it', () => {
    const dual = { ...pod('a', '10.244.1.10'), ips: ['10.244.1.10', 'fd00:244:1::10'] };
    const v6 = inputs({
      policies: [egressPolicy([{ ip: '2001:db8::17', node: 'node-2', state: 'Ready' }])],
      pods: [dual],
    });
    const desired = desiredState(v6, S).desired;
    const route6 = desired.routes.find((r) => r.kind === 'via')!;
    const rule6 = desired.rules[0]!;
    expect(rule6.family).toBe(6);
    // What an IPv4 IP of the same table number left, and the IPv6 route not there yet.
    const leftover4 = { table: route6.table, kind: 'via', via: '10.0.0.3', dev: S.tunnelName } as const;
    const observed = {
      ...desired,
      routes: [leftover4],
      rules: [{ ...rule6, family: undefined }],
    };
    const changes = planChanges(observed, desired);
    expect(changes).toContainEqual({ kind: 'route.add', route: route6 });
    expect(changes).toContainEqual({ kind: 'route.delete', route: leftover4 });
    expect(changes).toContainEqual({ kind: 'rule.add', rule: rule6 });
    expect(changes).toContainEqual({ kind: 'rule.delete', rule: { ...rule6, family: undefined } });
  });

  it('stops marking before removing the rule and routes when the IP goes Failed', async () => {
    const changes = await transition(on('node-2'), on('node-2', 'Failed'));
    expect(at(changes, 'nft.replace')).toBe(0);
    expect(at(changes, 'rule.delete')).toBeGreaterThan(0);
    expect(at(changes, 'route.delete')).toBeGreaterThan(at(changes, 'rule.delete'));
  });

  it('completes the route and rule before marking when the IP comes back', async () => {
    const changes = await transition(on('node-2', 'Failed'), on('node-2'));
    expect(changes.map((c) => c.kind)).toEqual([
      'peer.add',
      'route.add',
      'route.add',
      'rule.add',
      'nft.replace',
    ]);
  });
});

describe('planChanges finishes an interrupted replace', () => {
  it('replaces the table again when the handover table of a replace is still there, and not otherwise', async () => {
    const dp = new MemoryDataplane();
    await new AgentSync({ dataplane: dp, settings: S }).sync(on('node-2'));
    const observed = await dp.observe();
    const { desired } = desiredState(on('node-2'), S);
    expect(planChanges(observed, desired)).toEqual([]);
    const interrupted = { ...observed, nft: { ...observed.nft!, handover: true } };
    expect(planChanges(interrupted, desired).map((c) => c.kind)).toEqual(['nft.replace']);
  });
});

describe('planChanges after the tunnel is made again', () => {
  it('replaces the table too: its netdev hooks are bound to the device', async () => {
    const dp = new MemoryDataplane();
    await new AgentSync({ dataplane: dp, settings: DEFAULT_DATAPLANE_SETTINGS }).sync(on('node-2'));
    const observed = await dp.observe();
    const { desired } = desiredState(on('node-2'), DEFAULT_DATAPLANE_SETTINGS);
    expect(planChanges(observed, desired)).toEqual([]);
    const changed = { ...observed, tunnel: { ...observed.tunnel!, mtu: observed.tunnel!.mtu - 1 } };
    const kinds = planChanges(changed, desired).map((c) => c.kind);
    expect(kinds.slice(0, 2)).toEqual(['tunnel.delete', 'tunnel.create']);
    expect(kinds).toContain('nft.replace');
  });
});

describe('planChanges flushes the connections whose NAT no longer fits', () => {
  it('flushes the egress IP’s connections, last, when this node starts or stops holding it', async () => {
    for (const [from, to] of [
      ['node-2', 'node-1'],
      ['node-1', 'node-2'],
    ] as const) {
      const changes = await transition(on(from), on(to));
      const flushes = changes.filter((c) => c.kind === 'conntrack.flush');
      expect(flushes, `${from} -> ${to}`).toHaveLength(1);
      expect(changes.at(-1)).toBe(flushes[0]);
    }
  });

  it('flushes nothing when only the gateway of a tunnelled IP changes, or nothing changes', async () => {
    expect((await transition(on('node-2'), on('node-3'))).map((c) => c.kind)).not.toContain(
      'conntrack.flush',
    );
    expect(await transition(on('node-1'), on('node-1'))).toEqual([]);
  });
});
