/**
 * @module
 * Egress outage on a hard gateway kill in the real-node box (test/cluster/): four kubelet nodes (containerd,
 * kube-proxy) in the box's namespaces, cloud-egress installed with `helm install` from the image built from
 * the Dockerfile (two controller replicas, the agent DaemonSet), two probe pods of a Deployment at 20 req/s
 * each. Each trial is a power cut of the node that holds the egress IP: its NIC, kubelet, containerd, shims
 * and pods die at once (bench/hard-kill.ts); the node then boots again. The controllers probe the agents
 * every 100 ms and fail a node after 3 misses, as in the process box's benchmark. Besides the outage the
 * table reports the load and the CPU the four nodes' processes used (their cgroups' cpuacct).
 *
 * Trials: `E2E_TRIALS` (default 10). Needs root; prints a note and returns nothing otherwise.
 */
import { readFile } from 'node:fs/promises';
import { BOX_POLICY, type RealBox, realNodeUnavailable, startSettledRealBox } from '../test/cluster/index.ts';
import { hardKillRows, hardKillTrials } from './hard-kill.ts';
import type { Bench, BenchResult } from './types.ts';

const EXPECTED = new Set<string>(BOX_POLICY.egressIPs);

/** CPU time (ns) the box's nodes used so far: every process in their cgroups, daemons and pods. */
async function nodesCpuNs(box: RealBox): Promise<number> {
  let total = 0;
  for (const node of box.cluster.nodes.values()) {
    const usage = await readFile(`/sys/fs/cgroup/cpuacct${node.cgroup}/cpuacct.usage`, 'utf8').catch(
      () => '0',
    );
    total += Number(usage.trim());
  }
  return total;
}

const bench: Bench = async () => {
  const why = await realNodeUnavailable();
  if (why) {
    process.stderr.write(`real-node-failover: skipped (${why})\n`);
    return [];
  }
  const trials = Number(process.env['E2E_TRIALS'] ?? 10);
  let box: RealBox | undefined;
  let rows: BenchResult[] = [];
  try {
    box = await startSettledRealBox({
      values: { controller: { probe: { interval: '100ms', misses: 3, damping: '3s' } } },
    });
    // Idle cost of the nodes first: 10 s with traffic flowing and nothing failing.
    const idleFrom = await nodesCpuNs(box);
    await new Promise((r) => setTimeout(r, 10_000));
    const idle = (await nodesCpuNs(box)) - idleFrom;
    const result = await hardKillTrials(box, box, EXPECTED, trials);
    rows = hardKillRows(
      'real-node box: kubelets, the chart, the image',
      result,
      box.net.vpc.stats,
      `; the 4 nodes' processes (kubelet, containerd, kube-proxy, shims, pods) use ${(idle / 1e7 / 10).toFixed(0)} % of one CPU with traffic flowing and nothing failing`,
    );
  } finally {
    await box?.stop();
  }
  return rows;
};

export default bench;
