import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { egressPolicy, inputs, pod } from '../../test/support/policy-fixtures.ts';
import type { AgentInputs } from './agent-inputs.ts';
import { AgentSync, SyncError } from './agent-sync.ts';
import { desiredState } from './desired-state.ts';
import { LocalPodStore } from './local-pods.ts';
import { MemoryDataplane } from './memory-dataplane.ts';
import { createAgentMetrics } from './metrics.ts';
import { type DataplaneSettings, DEFAULT_DATAPLANE_SETTINGS } from './settings.ts';

/** The egress rows alone: the return path `tunnel` adds its own (tested in node-dataplane.test.ts). */
const S: DataplaneSettings = { ...DEFAULT_DATAPLANE_SETTINGS, returnPath: 'podNetwork' };

const ready = (ip: string, node: string) => ({ ip, node, state: 'Ready' as const });
const base = (gateway = 'node-2') =>
  inputs({ policies: [egressPolicy([ready('10.0.1.17', gateway)])], pods: [pod('a', '10.244.1.10')] });

describe('AgentSync over the in-memory dataplane', () => {
  it('programs once, then a second sync and a restarted agent change nothing', async () => {
    const dp = new MemoryDataplane();
    const first = await new AgentSync({ dataplane: dp, settings: S }).sync(base());
    expect(first.changes.map((c) => c.kind)).toEqual([
      'tunnel.create',
      'peer.add',
      'route.add',
      'route.add',
      'rule.add',
      'nft.replace',
    ]);
    const agent = new AgentSync({ dataplane: dp, settings: S });
    expect((await agent.sync(base())).changes).toEqual([]);
    expect((await agent.sync(base())).changes).toEqual([]);
  });

  it('adds one pod with one element change and nothing else', async () => {
    const dp = new MemoryDataplane();
    const agent = new AgentSync({ dataplane: dp, settings: S });
    await agent.sync(base());
    const more = { ...base(), pods: [...base().pods, pod('b', '10.244.1.11')] };
    const { changes } = await agent.sync(more);
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({
      kind: 'nft.elements',
      add: new Map([['10.244.1.11', expect.any(String)]]),
    });
  });

  it('on a move, the old gateway drops the address and the new one adds and announces it', async () => {
    const n2 = new MemoryDataplane();
    const n3 = new MemoryDataplane();
    const a2 = new AgentSync({ dataplane: n2, settings: S });
    const a3 = new AgentSync({ dataplane: n3, settings: S });
    await a2.sync(inputs({ policies: base('node-2').policies }, 'node-2'));
    await a3.sync(inputs({ policies: base('node-2').policies }, 'node-3'));
    expect(n2.state.addresses).toEqual([{ ip: '10.0.1.17', dev: 'eth0' }]);
    expect(n2.announced).toEqual(['10.0.1.17']);

    await a2.sync(inputs({ policies: base('node-3').policies }, 'node-2'));
    await a3.sync(inputs({ policies: base('node-3').policies }, 'node-3'));
    expect(n2.state.addresses).toEqual([]);
    expect(n3.state.addresses).toEqual([{ ip: '10.0.1.17', dev: 'eth0' }]);
    expect(n3.announced).toEqual(['10.0.1.17']);
  });

  it('removes what is stale and adopts what is right, without duplicating', async () => {
    const dp = new MemoryDataplane();
    await new AgentSync({ dataplane: dp, settings: S }).sync(base());
    const stale = { mark: 0x99, mask: S.markMask, table: S.tableBase + 0x99, priority: S.rulePriority };
    await dp.apply([{ kind: 'rule.add', rule: stale }]);
    const { changes } = await new AgentSync({ dataplane: dp, settings: S }).sync(base());
    expect(changes).toEqual([{ kind: 'rule.delete', rule: stale }]);
    expect(dp.state.rules).toHaveLength(1);
  });

  it('re-reads the kernel after a failure and finishes the job on the next sync', async () => {
    const dp = new MemoryDataplane();
    const metrics = createAgentMetrics();
    const agent = new AgentSync({ dataplane: dp, settings: S, metrics });
    dp.failOn = 'route.add';
    await expect(agent.sync(base())).rejects.toBeInstanceOf(SyncError);
    const { changes } = await agent.sync(base());
    expect(changes.map((c) => c.kind)).toEqual(['route.add', 'route.add', 'rule.add', 'nft.replace']);
    expect((await agent.sync(base())).changes).toEqual([]);
    expect(await metrics.registry.getSingleMetricAsString('cloud_egress_agent_sync_errors_total')).toMatch(
      / 1$/m,
    );
  });

  it('repairs drift made by others after resync()', async () => {
    const dp = new MemoryDataplane();
    const agent = new AgentSync({ dataplane: dp, settings: S });
    await agent.sync(base());
    await dp.apply([{ kind: 'peer.delete', peer: dp.state.peers[0]!, dev: S.tunnelName }]);
    expect((await agent.sync(base())).changes).toEqual([]);
    agent.resync();
    expect((await agent.sync(base())).changes.map((c) => c.kind)).toEqual(['peer.add']);
  });

  it('cleanup removes everything it owns', async () => {
    const dp = new MemoryDataplane();
    const agent = new AgentSync({ dataplane: dp, settings: S });
    await agent.sync(inputs({ policies: base('node-1').policies, pods: base().pods }));
    expect(dp.state.addresses).toHaveLength(1);
    await agent.cleanup();
    expect(dp.state).toEqual({
      tunnel: undefined,
      peers: [],
      rules: [],
      routes: [],
      addresses: [],
      nft: undefined,
    });
  });
});

describe('incremental decisions', () => {
  const policies = [
    egressPolicy([ready('10.0.1.17', 'node-2'), ready('10.0.1.18', 'node-3')], {}, 'a'),
    egressPolicy([{ ip: '10.0.1.19', node: 'node-2', state: 'Pending' }], {}, 'b'),
  ];
  /** The dataplane holds what a decision from scratch over `now` builds. */
  const expectFromScratch = (dp: MemoryDataplane, now: AgentInputs) => {
    const fresh = desiredState(now, S).desired;
    expect(dp.state.nft?.sets).toEqual(fresh.nft.sets);
    expect(dp.state.nft?.fingerprint).toBe(fresh.nft.fingerprint);
    const byMark = (a: { mark: number }, b: { mark: number }) => a.mark - b.mark;
    expect([...dp.state.rules].sort(byMark)).toEqual([...fresh.rules].sort(byMark));
  };

  it('leave the dataplane exactly where a from-scratch decision would, whatever the pod churn', async () => {
    const step = fc.record({
      index: fc.integer({ min: 0, max: 15 }),
      action: fc.constantFrom('add', 'remove', 'relabel', 'readd'),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
        const dp = new MemoryDataplane();
        const agent = new AgentSync({ dataplane: dp, settings: S });
        const pods = new Map<number, ReturnType<typeof pod>>();
        for (const { index, action } of steps) {
          const ip = `10.244.1.${10 + index}`;
          if (action === 'remove') pods.delete(index);
          else if (action === 'relabel' && pods.has(index))
            pods.set(index, { ...pods.get(index)!, labels: { app: 'web' } });
          else if (action === 'readd') pods.set(index, pod(`p${index}`, ip));
          else if (!pods.has(index)) pods.set(index, pod(`p${index}`, ip));
          const now = inputs({ policies, pods: [...pods.values()] });
          await agent.sync(now);
          expectFromScratch(dp, now);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('from pod events (LocalPods), also leave it where a from-scratch decision over the same pods would', async () => {
    // The same policies with other destinations: an edit that changes the steering epoch.
    const edited = policies.map((p) => ({ ...p, spec: { ...p.spec, destinationCIDRs: ['192.0.2.0/24'] } }));
    const step = fc.record({
      index: fc.integer({ min: 0, max: 15 }),
      action: fc.constantFrom('set', 'relabel', 'same', 'reborn', 'finished', 'delete', 'resync', 'edit'),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 30 }), async (steps) => {
        const dp = new MemoryDataplane();
        const agent = new AgentSync({ dataplane: dp, settings: S });
        const store = new LocalPodStore();
        let now = policies;
        let generation = 0;
        for (const { index, action } of steps) {
          const key = `shop/p${index}`;
          const ip = `10.244.1.${10 + index}`;
          const current = [...store].find((p) => p.name === `p${index}`);
          if (action === 'set') store.set(key, pod(`p${index}`, ip));
          else if (action === 'relabel' && current) store.set(key, { ...current, labels: { app: 'web' } });
          else if (action === 'same' && current)
            store.set(key, { ...current, labels: { ...current.labels } });
          else if (action === 'reborn')
            store.set(key, { ...pod(`p${index}`, ip), uid: `uid-${++generation}` });
          else if (action === 'finished') store.set(key, undefined);
          else if (action === 'delete') store.delete(key);
          else if (action === 'resync') {
            store.replace([...store].map((p) => [`shop/${p.name}`, { ...p }] as const));
            agent.resync();
          } else if (action === 'edit') now = now === policies ? edited : policies;
          await agent.sync(inputs({ policies: now, pods: store }));
          expectFromScratch(dp, inputs({ policies: now, pods: [...store] }));
        }
      }),
      { numRuns: 80 },
    );
  });
});
