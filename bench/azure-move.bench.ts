/**
 * @module
 * Azure provider on the local ARM emulator: a failover move of 50 egress IPs off one node onto two nodes
 * (25 each, in two zones of the same regional subnet), through the real `@azure/arm-network` and
 * `@azure/arm-compute` clients over HTTPS. Counts the requests the emulator received per move (mutating =
 * NIC PUTs) and times the move.
 *
 * The emulator's operations answer InProgress once and then Succeeded (`operationPolls: 1`, polled every
 * 5 ms), so the time is the provider's and the SDK's own cost over local HTTPS, not Azure's operation latency
 * (6-7 s on the new network control plane, a minute or more on the legacy one).
 */
import type { Change, NodeRef } from '../src/provider/contract.ts';
import { FAST, startAzureWorld } from '../test/azure/index.ts';
import { type Bench, type BenchResult, median } from './types.ts';

const IPS = 50;
const TRIALS = 15;

const bench: Bench = async () => {
  const world = await startAzureWorld();
  try {
    const { cloud } = world.emulator;
    const { a, b } = world.nodes;
    cloud.addVm({
      resourceGroup: 'rg-egress',
      name: 'gw-d',
      location: 'westeurope',
      zone: '3',
      subnetId: a.subnetId,
      primaryIP: '10.1.0.6',
    });
    const d: NodeRef = { name: 'gw-d', providerID: b.ref.providerID.replace(/gw-b$/, 'gw-d') };
    const provider = world.newProvider(FAST, 'bench');
    const times: number[] = [];
    const mutating: number[] = [];
    const total: number[] = [];
    for (let trial = 0; trial <= TRIALS; trial++) {
      cloud.reset();
      cloud.operationPolls = 1;
      const ips = cloud.freeIPs(a.subnetId, IPS);
      const seeded = await provider.apply({
        changes: ips.map((ip): Change => ({ kind: 'assign', ip, node: a.ref })),
      });
      if (!seeded.outcomes.every((o) => o.ok)) throw new Error('seeding 50 IPs on gw-a failed');
      cloud.clearLogs();
      const changes = ips.map(
        (ip, i): Change => ({ kind: 'assign', ip, node: i % 2 ? b.ref : d, from: a.ref }),
      );
      const start = performance.now();
      const result = await provider.apply({ changes });
      const elapsed = performance.now() - start;
      if (!result.outcomes.every((o) => o.ok)) throw new Error('the move failed');
      if (cloud.secondaryIPs(a.nicId).length !== 0) throw new Error('IPs left on gw-a');
      if (trial === 0) continue; // warm-up
      times.push(elapsed);
      mutating.push(cloud.mutatingCalls);
      total.push(cloud.requests.length);
    }
    const calls = median(mutating);
    const rows: BenchResult[] = [
      {
        name: `azure: mutating calls to move ${IPS} IPs off 1 node onto 2 (emulator)`,
        value: calls,
        unit: 'calls',
        trials: TRIALS,
        target: '<= 1 per NIC touched (3)',
        ok: calls <= 3,
        note: `${(calls / IPS).toFixed(2)} per IP; all requests incl. VM/NIC/subnet reads and operation polls: ${median(total)}; CNCC: 2 per IP plus polling`,
      },
      {
        name: 'azure: wall time of that move (emulator, real SDK over HTTPS)',
        value: median(times),
        unit: 'ms',
        trials: TRIALS,
        note: `min ${Math.min(...times).toFixed(1)}, max ${Math.max(...times).toFixed(1)}; each operation polled twice, 5 ms apart`,
      },
    ];
    return rows;
  } finally {
    await world.close();
  }
};

export default bench;
