/**
 * @module
 * Azure provider on the local ARM emulator: a failover move of 50 egress IPs off one node onto two nodes (25
 * each, in zones of one regional subnet), through the real `@azure/arm-network` and `@azure/arm-compute` clients
 * over HTTPS, on the three Azure paths:
 *
 * | path                  | nodes                           | a move is                                            |
 * |-----------------------|---------------------------------|------------------------------------------------------|
 * | remove-then-add       | standalone VMs, no feature      | a NIC PUT on the old NIC, then one per new NIC       |
 * | one-operation move    | standalone VMs, AllowMoveIpConfigurations | one moveIpConfigurations for both new NICs   |
 * | AKS scale-set routes  | uniform scale-set instances     | one route-table PUT (the batches are coalesced)      |
 *
 * Per path: the mutating calls the emulator received (PUT and POST), all requests, and the wall time with the
 * emulator's fast operations (the provider's and the SDK's own cost). Then, three times per path, the same move
 * with the emulator answering with Azure's published operation times (`useAzureTiming`: 6.5 s per NIC write on
 * the new network control plane, `Retry-After: 10`; route-table writes and the move have no published time and
 * are modelled as one NIC write) and the provider's production retry settings: the modelled outage of the cloud
 * step (apply start until every new NIC or route holds the IPs and its operation Succeeded; failure detection
 * comes on top), and the longest time an IP was on no NIC (Succeeded to Succeeded). Remove-then-add is repeated
 * polling every 10 s, as the SDK's poller does when it follows NRP's `Retry-After`.
 */
import type { Change, CloudProvider, NodeRef } from '../src/provider/contract.ts';
import {
  type AzureCloud,
  addPoolNode,
  FAST,
  startAzureWorld,
  startScaleSetWorld,
} from '../test/azure/index.ts';

import { type Bench, type BenchResult, median } from './types.ts';

const IPS = 50;
const TRIALS = 9;
/** Trials of each modelled move (7-20 s each). */
const MODELLED_TRIALS = 3;

/** A world for one path: the provider, the nodes, and how to seed and check. */
interface PathWorld {
  readonly cloud: AzureCloud;
  /** A provider polling every `pollIntervalMs`; with `production`, the Azure provider's own retry defaults. */
  readonly provider: (pollIntervalMs: number, production?: boolean) => CloudProvider;
  readonly from: NodeRef;
  readonly to: readonly [NodeRef, NodeRef];
  readonly freeIPs: () => Promise<string[]>;
  readonly leftOnSource: () => number;
  /** The longest time one of `ips` was on no NIC (0 when routes or moves keep it on one). */
  readonly gap: (ips: readonly string[]) => number;
  readonly close: () => Promise<void>;
}

/**
 * Per IP, the time from the operation that took it off its last NIC to the operation that put it on one again,
 * both as Succeeded (as the GCP bench counts DONE to DONE); the longest over `ips`. A one-operation move ends
 * both NICs' parts at once: 0.
 */
function nicGap(cloud: AzureCloud, ips: readonly string[]): number {
  let longest = 0;
  for (const ip of ips) {
    const holders = new Map<string, boolean>();
    let offSince: number | undefined;
    for (const e of cloud.events) {
      if (e.kind !== 'operation-succeeded') continue;
      holders.set(e.nic, e.secondaryIPs.includes(ip));
      const held = [...holders.values()].some(Boolean);
      if (!held && offSince === undefined) offSince = e.at;
      if (held && offSince !== undefined) {
        longest = Math.max(longest, e.at - offSince);
        offSince = undefined;
      }
    }
  }
  return longest;
}

async function nicPath(oneOperation: boolean): Promise<PathWorld> {
  const world = await startAzureWorld();
  const { cloud } = world.emulator;
  if (oneOperation) cloud.features.add('AllowMoveIpConfigurations');
  const { a, b } = world.nodes;
  const { vmId } = cloud.addVm({
    resourceGroup: 'rg-egress',
    name: 'gw-d',
    location: 'westeurope',
    zone: '3',
    subnetId: a.subnetId,
    primaryIP: '10.1.0.6',
  });
  const d: NodeRef = { name: 'gw-d', providerID: `azure://${vmId}` };
  return {
    cloud,
    provider: (pollIntervalMs, production) =>
      world.newProvider(
        production ? { pollIntervalMs, operationTimeoutMs: 120_000 } : { ...FAST, pollIntervalMs },
        'bench',
      ),
    from: a.ref,
    to: [b.ref, d],
    freeIPs: async () => cloud.freeIPs(a.subnetId, IPS),
    leftOnSource: () => cloud.secondaryIPs(a.nicId).length,
    gap: (ips) => nicGap(cloud, ips),
    close: () => world.close(),
  };
}

async function routePath(): Promise<PathWorld> {
  const world = await startScaleSetWorld();
  const { cloud } = world.emulator;
  const { a, b } = world.nodes;
  const d = addPoolNode(world, '7', '10.2.0.7');
  return {
    cloud,
    provider: (pollIntervalMs, production) =>
      world.newProvider(
        production ? { pollIntervalMs, operationTimeoutMs: 120_000 } : { ...FAST, pollIntervalMs },
        { owner: 'bench' },
      ),
    from: a.ref,
    to: [b.ref, d],
    freeIPs: () => world.freeIPs(a.subnet, IPS),
    leftOnSource: () => cloud.routes(a.routeTableId).filter((r) => r.nextHop === a.nodeIP).length,
    gap: () => 0, // a route's next hop changes in place: the IP is always routed to one node
    close: () => world.close(),
  };
}

interface Measured {
  readonly ms: number;
  readonly mutating: number;
  readonly requests: number;
  readonly gap: number;
}

/** One move of the 50 IPs: seed on `from`, clear the logs, move, check. */
async function move(world: PathWorld, provider: CloudProvider, timing: 'fast' | 'azure'): Promise<Measured> {
  const { cloud } = world;

  cloud.reset();
  const ips = await world.freeIPs();
  const seeded = await provider.apply({
    changes: ips.map((ip): Change => ({ kind: 'assign', ip, node: world.from })),
  });
  if (!seeded.outcomes.every((o) => o.ok)) throw new Error('seeding 50 IPs failed');
  cloud.clearLogs();
  if (timing === 'azure') cloud.useAzureTiming();
  else cloud.operationPolls = 1;
  const start = performance.now();
  const result = await provider.apply({
    changes: ips.map((ip, i): Change => ({ kind: 'assign', ip, node: world.to[i % 2]!, from: world.from })),
  });
  const ms = performance.now() - start;
  const failed = result.outcomes.find((o) => !o.ok);
  if (failed && !failed.ok)
    throw new Error(`the move failed: ${failed.error.message}`, { cause: failed.error });
  if (world.leftOnSource() !== 0) throw new Error('IPs left on the source node');
  return { ms, mutating: cloud.mutatingCalls, requests: cloud.requests.length, gap: world.gap(ips) };
}

const PATHS = [
  { key: 'remove-then-add', label: 'azure remove-then-add (standalone VMs)', open: () => nicPath(false) },
  {
    key: 'one-operation',
    label: 'azure one-operation move (AllowMoveIpConfigurations)',
    open: () => nicPath(true),
  },
  { key: 'scale-set', label: 'AKS scale-set nodes (/32 routes)', open: routePath },
] as const;

const bench: Bench = async () => {
  const rows: BenchResult[] = [];
  for (const path of PATHS) {
    const world = await path.open();
    process.stderr.write(`  ${path.label}\n`);
    try {
      const provider = world.provider(5);
      await move(world, provider, 'fast'); // warm-up; on remove-then-add it also finds out that there is no move
      const fast: Measured[] = [];
      for (let t = 0; t < TRIALS; t++) fast.push(await move(world, provider, 'fast'));
      const calls = median(fast.map((m) => m.mutating));
      const times = fast.map((m) => m.ms);
      rows.push({
        name: `${path.label}: mutating calls to move ${IPS} IPs off 1 node onto 2 (emulator)`,
        value: calls,
        unit: 'calls',
        trials: TRIALS,
        note: `all requests incl. reads and operation polls: ${median(fast.map((m) => m.requests))}`,
      });
      rows.push({
        name: `${path.label}: wall time of that move (emulator, fast operations)`,
        value: median(times),
        unit: 'ms',
        trials: TRIALS,
        note: `min ${Math.min(...times).toFixed(1)}, max ${Math.max(...times).toFixed(1)}; the provider's and the SDK's own cost`,
      });
      // Production retry settings (a conflict waits out a 6.5 s operation), warmed up like the one above.
      const modelled = async (pollIntervalMs: number) => {
        const production = world.provider(pollIntervalMs, true);
        await move(world, production, 'fast');
        const runs: Measured[] = [];
        for (let t = 0; t < MODELLED_TRIALS; t++) runs.push(await move(world, production, 'azure'));
        return runs;
      };
      const range = (values: readonly number[]) =>
        `min ${(Math.min(...values) / 1000).toFixed(1)}, max ${(Math.max(...values) / 1000).toFixed(1)}`;
      const modelledRows = (runs: readonly Measured[], label: string, how: string) => {
        const outage = runs.map((m) => m.ms);
        const gaps = runs.map((m) => m.gap);
        rows.push({
          name: `${path.label}: ${label} (modelled)`,
          value: median(outage) / 1000,
          unit: 's',
          trials: runs.length,
          note: `modelled, not measured on Azure: ${how}; ${range(outage)}; mutating calls ${median(runs.map((m) => m.mutating))}`,
        });
        rows.push({
          name: `${path.label}: longest time an IP is on no NIC in that move (modelled)`,
          value: median(gaps) / 1000,
          unit: 's',
          trials: runs.length,
          note:
            path.key === 'scale-set'
              ? 'a route changes its next hop in place: the IP is routed to one node throughout'
              : `Succeeded on the old NIC to Succeeded on the new; ${range(gaps)}`,
        });
      };
      modelledRows(
        await modelled(1_000),
        "the move with Azure's operation times",
        '6.5 s an operation, Retry-After 10, the provider polling every 1 s',
      );
      if (path.key === 'remove-then-add') {
        modelledRows(
          await modelled(10_000),
          'the same, polling every 10 s as the SDK poller does after Retry-After',
          '6.5 s an operation, polled every 10 s',
        );
      }
    } finally {
      await world.close();
    }
  }
  return rows;
};

export default bench;
