/**
 * @module
 * GCP provider on the local Compute Engine emulator: a failover move of 50 egress IPs off one node onto two
 * nodes (25 each, one in another zone of the same regional subnetwork), through the real
 * `@google-cloud/compute` clients. Counts the calls the emulator received per move (mutating =
 * `updateNetworkInterface`) and times the move, two ways:
 *
 * - SDK cost: the emulator's operations are DONE at the first wait (`operationPolls: 1`), so the time is the
 *   provider's and the SDK's own over local HTTP.
 * - Modelled outage: the emulator answers in GCP's published time (`GCP_PUBLISHED_LATENCY`, latency.ts: 300 ms
 *   a call, 15 s a zonal operation), so the time is what the move would take on GCP if GCP took that long. It
 *   is modelled, not measured on GCP. The window is how long each IP is on no NIC: from the DONE of its removal
 *   on the old NIC to the DONE of its addition on the new one, read from the emulator's write log. Measured
 *   with the old node's instance still there (a hung or stopped VM: its aliases must be removed first) and
 *   with it deleted (they went with it: only the additions).
 */
import type { Change, NodeRef } from '../src/provider/contract.ts';
import { GCP_PUBLISHED_LATENCY, type GcpWorld, startGcpWorld } from '../test/gcp/index.ts';
import { type Bench, type BenchResult, median } from './types.ts';

const IPS = 50;
const TRIALS = 15;
/** A modelled move takes 16 to 32 s; GCP's modelled times vary by nothing but the host's load. */
const MODELLED_TRIALS = 2;

/** One move of the 50 IPs off node-a, measured at the emulator. */
interface Move {
  readonly ms: number;
  readonly mutating: number;
  readonly calls: number;
  /** Longest time an IP was on no NIC: last addition DONE minus the removal DONE, in ms. */
  readonly windowMs: number;
}

const bench: Bench = async () => {
  const world = await startGcpWorld({ operationPolls: 1 });
  try {
    const { a, b } = world.nodes;
    world.emulator.state.addInstance({
      project: 'egress-test',
      zone: 'europe-west1-d',
      name: 'node-d',
      subnetwork: 'nodes-a',
      networkIP: '10.0.1.12',
    });
    const d: NodeRef = { name: 'node-d', providerID: 'gce://egress-test/europe-west1-d/node-d' };
    const provider = world.newProvider({}, {});

    const nodeA = 'egress-test/europe-west1-b/node-a';
    /**
     * Seeds 50 IPs on node-a (at once), then moves them with `latency` on (node-a's instance deleted first when
     * `deleted`), and checks the cloud after.
     */
    const move = async (latency: GcpWorld['emulator']['latency'], deleted = false): Promise<Move> => {
      await world.reset();
      const ips = await world.freeIPs(a.subnet, IPS);
      const seeded = await provider.apply({
        changes: ips.map((ip): Change => ({ kind: 'assign', ip, node: a.ref })),
      });
      if (!seeded.outcomes.every((o) => o.ok)) throw new Error('seeding 50 IPs on node-a failed');
      world.emulator.clearFaults();
      const instanceA = world.emulator.state.instances.get(nodeA)!;
      if (deleted) world.emulator.state.instances.delete(nodeA);
      world.emulator.latency = latency;
      const changes = ips.map(
        (ip, i): Change => ({ kind: 'assign', ip, node: i % 2 ? b.ref : d, from: a.ref }),
      );
      const start = performance.now();
      const result = await provider.apply({ changes });
      const ms = performance.now() - start;
      world.emulator.latency = undefined;
      world.emulator.state.instances.set(nodeA, instanceA);
      if (!result.outcomes.every((o) => o.ok)) throw new Error('the move failed');
      if (deleted) instanceA.networkInterfaces[0]!.aliasIpRanges = [];
      if ((await world.cloudIPs(a)).length !== 0) throw new Error('IPs left on node-a');
      const writes = world.emulator.writes;
      const onA = (w: { interfaceId: string }) => w.interfaceId.includes('/node-a#');
      const removals = writes.filter(onA).map((w) => w.endedAt);
      const removed = removals.length ? Math.max(...removals) : start;
      const added = Math.max(...writes.filter((w) => !onA(w)).map((w) => w.endedAt));
      return {
        ms,
        mutating: world.emulator.mutatingCalls(),
        calls: world.emulator.calls.length,
        windowMs: added - removed,
      };
    };

    await move(undefined); // warm-up
    const sdk: Move[] = [];
    for (let trial = 0; trial < TRIALS; trial++) sdk.push(await move(undefined));
    const modelled: Move[] = [];
    const modelledGone: Move[] = [];
    for (let trial = 0; trial < MODELLED_TRIALS; trial++) {
      modelled.push(await move(GCP_PUBLISHED_LATENCY));
      modelledGone.push(await move(GCP_PUBLISHED_LATENCY, true));
    }

    const calls = median(sdk.map((m) => m.mutating));
    const times = sdk.map((m) => m.ms);
    const outage = modelled.map((m) => m.ms / 1000);
    const windows = modelled.map((m) => m.windowMs / 1000);
    const outageGone = modelledGone.map((m) => m.ms / 1000);
    const range = (xs: readonly number[]) =>
      `min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)}`;
    const { requestMs, operationMs } = GCP_PUBLISHED_LATENCY;
    const rows: BenchResult[] = [
      {
        name: `gcp: mutating calls to move ${IPS} IPs off 1 node onto 2 (emulator)`,
        value: calls,
        unit: 'calls',
        trials: TRIALS,
        target: '<= 1 per NIC touched (3)',
        ok: calls <= 3,
        note: `${(calls / IPS).toFixed(2)} per IP; all calls incl. reads and waits: ${median(sdk.map((m) => m.calls))}; CNCC: 2 per IP plus polling`,
      },
      {
        name: `gcp: wall time of that move (emulator, real SDK)`,
        value: median(times),
        unit: 'ms',
        trials: TRIALS,
        note: `min ${Math.min(...times).toFixed(1)}, max ${Math.max(...times).toFixed(1)}; operations DONE at first wait`,
      },
      {
        name: `gcp: that move with GCP's published operation times, old instance still there (modelled)`,
        value: median(outage),
        unit: 's',
        trials: MODELLED_TRIALS,
        note: `modelled, not measured on GCP: ${requestMs} ms a call, ${operationMs / 1000} s a zonal operation (test/emulators/gcp/latency.ts); ${range(outage)}; mutating calls ${median(modelled.map((m) => m.mutating))}`,
      },
      {
        name: `gcp: longest time an IP is on no NIC in that move (modelled)`,
        value: median(windows),
        unit: 's',
        trials: MODELLED_TRIALS,
        note: `removal DONE on the old NIC to addition DONE on the new one; ${range(windows)}`,
      },
      {
        name: `gcp: the same move when the old instance was deleted (modelled)`,
        value: median(outageGone),
        unit: 's',
        trials: MODELLED_TRIALS,
        note: `its aliases went with it: only the 2 additions, in parallel; ${range(outageGone)}; mutating calls ${median(modelledGone.map((m) => m.mutating))}`,
      },
    ];
    return rows;
  } finally {
    await world.close();
  }
};

export default bench;
