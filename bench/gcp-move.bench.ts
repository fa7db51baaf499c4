/**
 * @module
 * GCP provider on the local Compute Engine emulator: a failover move of 50 egress IPs off one node onto two
 * nodes (25 each, one in another zone of the same regional subnetwork), through the real
 * `@google-cloud/compute` clients. Counts the calls the emulator received per move (mutating =
 * `updateNetworkInterface`) and times the move.
 *
 * The emulator's operations are DONE at the first wait (`operationPolls: 1`), so the time is the provider's
 * and the SDK's own cost over local HTTP, not GCP's operation latency (seconds on real GCP).
 */
import type { Change, NodeRef } from '../src/provider/contract.ts';
import { startGcpWorld } from '../test/gcp/index.ts';
import { type Bench, type BenchResult, median } from './types.ts';

const IPS = 50;
const TRIALS = 15;

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
    const times: number[] = [];
    const mutating: number[] = [];
    const total: number[] = [];
    for (let trial = 0; trial <= TRIALS; trial++) {
      await world.reset();
      const ips = await world.freeIPs(a.subnet, IPS);
      const seeded = await provider.apply({
        changes: ips.map((ip): Change => ({ kind: 'assign', ip, node: a.ref })),
      });
      if (!seeded.outcomes.every((o) => o.ok)) throw new Error('seeding 50 IPs on node-a failed');
      world.emulator.clearFaults();
      const changes = ips.map(
        (ip, i): Change => ({ kind: 'assign', ip, node: i % 2 ? b.ref : d, from: a.ref }),
      );
      const start = performance.now();
      const result = await provider.apply({ changes });
      const elapsed = performance.now() - start;
      if (!result.outcomes.every((o) => o.ok)) throw new Error('the move failed');
      if ((await world.cloudIPs(a)).length !== 0) throw new Error('IPs left on node-a');
      if (trial === 0) continue; // warm-up
      times.push(elapsed);
      mutating.push(world.emulator.mutatingCalls());
      total.push(world.emulator.calls.length);
    }
    const calls = median(mutating);
    const rows: BenchResult[] = [
      {
        name: `gcp: mutating calls to move ${IPS} IPs off 1 node onto 2 (emulator)`,
        value: calls,
        unit: 'calls',
        trials: TRIALS,
        target: '<= 1 per NIC touched (3)',
        ok: calls <= 3,
        note: `${(calls / IPS).toFixed(2)} per IP; all calls incl. reads and waits: ${median(total)}; CNCC: 2 per IP plus polling`,
      },
      {
        name: `gcp: wall time of that move (emulator, real SDK)`,
        value: median(times),
        unit: 'ms',
        trials: TRIALS,
        note: `min ${Math.min(...times).toFixed(1)}, max ${Math.max(...times).toFixed(1)}; operations DONE at first wait`,
      },
    ];
    return rows;
  } finally {
    await world.close();
  }
};

export default bench;
