/**
 * @module
 * Node agent dataplane benchmarks, on a real kernel in scratch network namespaces (root only):
 *
 * - programming 10,000 local pod IPs: a cold sync (tunnel, nft table, rules from nothing) and adding all
 *   10,000 to an existing table;
 * - adding one pod to a node that already has 10,000;
 * - TCP throughput pod -> gateway node (VXLAN) -> echo host against pod -> echo host direct (iperf3).
 *
 * `npm run bench agent`
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism as availableCpus, loadavg } from 'node:os';
import type { AgentInputs, LocalPod } from '../src/agent/agent-inputs.ts';
import { AgentSync } from '../src/agent/agent-sync.ts';
import { DEFAULT_DATAPLANE_SETTINGS as settings } from '../src/agent/settings.ts';
import { EXTERNAL, egressPolicy, NetnsLab, netnsUnavailable } from '../test/agent/index.ts';
import { type BenchResult, median } from './types.ts';

const PODS = 10_000;

/**
 * CPU time (user + system) of this process and its reaped children (`nft`, `ip`...), in ms, from
 * /proc/self/stat. Unlike wall time it does not grow when other work competes for the CPUs, so it is
 * reported next to the medians. Resolution: one clock tick (10 ms), so it is averaged over trials.
 */
function cpuMs(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  // After "pid (comm) ": state is field 3; utime, stime, cutime, cstime are fields 14-17.
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
  return ticks * 10;
}

/** Runs `setup` (untimed) then `fn` (timed), `trials` times; wall times plus mean CPU ms of `fn`. */
async function measure(
  trials: number,
  fn: () => Promise<unknown>,
  setup: () => Promise<unknown> = async () => {},
): Promise<{ wall: number[]; cpu: number }> {
  const wall: number[] = [];
  let cpu = 0;
  for (let i = 0; i < trials; i++) {
    await setup();
    const cpu0 = cpuMs();
    const start = performance.now();
    await fn();
    wall.push(performance.now() - start);
    cpu += cpuMs() - cpu0;
  }
  return { wall, cpu: cpu / trials };
}

function pods(count: number, offset = 0): LocalPod[] {
  return Array.from({ length: count }, (_, i) => {
    const n = i + offset;
    return {
      uid: `uid-${n}`,
      namespace: 'shop',
      name: `p${n}`,
      ips: [`10.${200 + Math.floor(n / 65536)}.${Math.floor(n / 256) % 256}.${n % 256}`],
      labels: { app: 'api' },
    };
  });
}

async function programming(lab: NetnsLab): Promise<BenchResult[]> {
  const node = lab.nodes[0]!;
  const dataplane = lab.dataplane(node, { announce: false, nftSession: true });
  const agent = new AgentSync({ dataplane, settings });
  const inputs = (p: LocalPod[]): AgentInputs => ({
    node: { name: node.name, ip: node.ip, iface: 'eth0', mtu: 1500 },
    policies: [egressPolicy({ assignments: [{ ip: '192.168.100.50', node: 'node-2', state: 'Ready' }] })],
    nodes: lab.nodes.map((n) => ({ name: n.name, ip: n.ip })),
    pods: p,
    namespaceLabels: new Map(),
    clusterCidrs: ['10.244.0.0/16'],
  });
  const all = pods(PODS);
  await agent.sync(inputs(all)); // warm-up
  const cold = await measure(
    5,
    () => agent.sync(inputs(all)),
    () => agent.cleanup(),
  );
  const warm = await measure(
    5,
    () => agent.sync(inputs(all)),
    () => agent.sync(inputs([])),
  );
  let extra = PODS;
  const one = await measure(30, async () => {
    const { changes } = await agent.sync(inputs([...all, ...pods(1, extra++)]));
    if (changes.length !== 1) throw new Error(`expected one change, got ${changes.length}`);
  });
  const small = pods(100);
  await agent.sync(inputs(small));
  const oneOfHundred = await measure(30, async () => {
    const { changes } = await agent.sync(inputs([...small, ...pods(1, extra++)]));
    if (changes.length !== 1) throw new Error(`expected one change, got ${changes.length}`);
  });
  await agent.cleanup();
  await dataplane.close();
  const load = `load avg ${loadavg()[0]!.toFixed(1)} on ${availableCpus()} CPUs`;
  const note = (m: { wall: number[]; cpu: number }) =>
    `min ${Math.min(...m.wall).toFixed(1)}, max ${Math.max(...m.wall).toFixed(1)}; CPU ${m.cpu.toFixed(1)} ms/op; ${load}`;
  return [
    {
      name: 'agent: program 10,000 local pod IPs, cold (tunnel, table, rules, elements)',
      value: median(cold.wall),
      unit: 'ms',
      trials: cold.wall.length,
      target: '<= 200 ms',
      ok: median(cold.wall) <= 200,
      note: note(cold),
    },
    {
      name: 'agent: program 10,000 local pod IPs into the existing table',
      value: median(warm.wall),
      unit: 'ms',
      trials: warm.wall.length,
      target: '<= 200 ms',
      ok: median(warm.wall) <= 200,
      note: note(warm),
    },
    {
      name: 'agent: add one pod to a node with 10,000 (decide + one transaction on the nft -i session)',
      value: median(one.wall),
      unit: 'ms',
      trials: one.wall.length,
      target: '<= 10 ms',
      ok: median(one.wall) <= 10,
      note: note(one),
    },
    {
      name: 'agent: add one pod to a node with 100 (for comparison)',
      value: median(oneOfHundred.wall),
      unit: 'ms',
      trials: oneOfHundred.wall.length,
      note: note(oneOfHundred),
    },
  ];
}

function iperf(ns: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, 'iperf3', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`iperf3 exited ${code}: ${out}`)),
    );
  });
}

async function throughput(lab: NetnsLab): Promise<BenchResult[]> {
  const TRIALS = 5;
  for (const node of lab.nodes) {
    const agent = new AgentSync({
      dataplane: lab.dataplane(node),
      settings,
    });
    const policy = egressPolicy({ assignments: [{ ip: '192.168.100.50', node: 'node-2', state: 'Ready' }] });
    await agent.sync(lab.inputs(node, [policy], { clusterCidrs: ['10.244.0.0/16'] }));
  }
  const server = spawn('ip', ['netns', 'exec', lab.ext, 'iperf3', '-s', '-B', EXTERNAL.inPolicy], {
    stdio: 'ignore',
  });
  try {
    await new Promise((r) => setTimeout(r, 500));
    const run = async (pod: string) => {
      const out = await iperf(lab.pod(pod).ns, ['-c', EXTERNAL.inPolicy, '-t', '3', '-J']);
      return (JSON.parse(out).end.sum_received.bits_per_second as number) / 1e9;
    };
    const tunnel: number[] = [];
    const direct: number[] = [];
    for (let i = 0; i < TRIALS; i++) {
      tunnel.push(await run('n1a'));
      direct.push(await run('n1b'));
    }
    const ratio = (100 * median(tunnel)) / median(direct);
    return [
      {
        name: 'agent: TCP throughput pod -> gateway (VXLAN) -> echo host',
        value: median(tunnel),
        unit: 'Gbit/s',
        trials: TRIALS,
        note: `iperf3 -t 3; direct path ${median(direct).toFixed(2)} Gbit/s`,
      },
      {
        name: 'agent: throughput through the gateway vs direct',
        value: ratio,
        unit: '%',
        trials: TRIALS,
        target: '>= 80 %',
        ok: ratio >= 80,
        note: 'spidernet on VMs: 41 %',
      },
    ];
  } finally {
    server.kill('SIGKILL');
  }
}

export default async function agentBench(): Promise<BenchResult[]> {
  const why = await netnsUnavailable();
  if (why) {
    process.stderr.write(`agent.bench: skipped (${why})\n`);
    return [];
  }
  const lab = new NetnsLab();
  try {
    await lab.build(3, { 1: ['n1a', 'n1b'] });
    return [...(await programming(lab)), ...(await throughput(lab))];
  } finally {
    await lab.destroy();
  }
}
