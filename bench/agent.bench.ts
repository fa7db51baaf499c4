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
import { AgentSync } from '../src/agent/agent-sync.ts';
import type { AgentInputs, LocalPod } from '../src/agent/desired-state.ts';
import { LinuxDataplane } from '../src/agent/linux/linux-dataplane.ts';
import { DEFAULT_DATAPLANE_SETTINGS as settings } from '../src/agent/settings.ts';
import { egressPolicy } from '../src/agent/test-fixtures.ts';
import { EXTERNAL, NetnsLab, netnsAvailable } from '../test/agent/netns-lab.ts';
import { ensurePackages } from '../test/support/ensure-packages.ts';
import { type BenchResult, median, timeTrials } from './types.ts';

const PODS = 10_000;

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
  const agent = new AgentSync({
    dataplane: new LinuxDataplane({ run: node.run, settings, iface: 'eth0', announce: false }),
    settings,
  });
  const inputs = (p: LocalPod[]): AgentInputs => ({
    node: { name: node.name, ip: node.ip, iface: 'eth0', mtu: 1500 },
    policies: [egressPolicy([{ ip: '192.168.100.50', node: 'node-2', state: 'Ready' }])],
    nodes: lab.nodes.map((n) => ({ name: n.name, ip: n.ip })),
    pods: p,
    namespaceLabels: new Map(),
    clusterCidrs: ['10.244.0.0/16'],
  });
  const all = pods(PODS);
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < 6; i++) {
    await agent.cleanup();
    let start = performance.now();
    await agent.sync(inputs(all));
    if (i > 0) cold.push(performance.now() - start);
    await agent.sync(inputs([]));
    start = performance.now();
    await agent.sync(inputs(all));
    if (i > 0) warm.push(performance.now() - start);
  }
  let extra = PODS;
  const one = await timeTrials(30, async () => {
    const { changes } = await agent.sync(inputs([...all, ...pods(1, extra++)]));
    if (changes.length !== 1) throw new Error(`expected one change, got ${changes.length}`);
  });
  await agent.cleanup();
  const range = (v: number[]) => `min ${Math.min(...v).toFixed(1)}, max ${Math.max(...v).toFixed(1)}`;
  return [
    {
      name: 'agent: program 10,000 local pod IPs, cold (tunnel, table, rules, elements)',
      value: median(cold),
      unit: 'ms',
      trials: cold.length,
      target: '<= 200 ms',
      ok: median(cold) <= 200,
      note: range(cold),
    },
    {
      name: 'agent: program 10,000 local pod IPs into the existing table',
      value: median(warm),
      unit: 'ms',
      trials: warm.length,
      target: '<= 200 ms',
      ok: median(warm) <= 200,
      note: range(warm),
    },
    {
      name: 'agent: add one pod to a node with 10,000 (one nft transaction)',
      value: median(one),
      unit: 'ms',
      trials: one.length,
      target: '<= 10 ms',
      ok: median(one) <= 10,
      note: range(one),
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
  for (const node of lab.nodes) {
    const agent = new AgentSync({
      dataplane: new LinuxDataplane({ run: node.run, settings, iface: 'eth0', announce: true }),
      settings,
    });
    await agent.sync({
      node: { name: node.name, ip: node.ip, iface: 'eth0', mtu: 1500 },
      policies: [egressPolicy([{ ip: '192.168.100.50', node: 'node-2', state: 'Ready' }])],
      nodes: lab.nodes.map((n) => ({ name: n.name, ip: n.ip })),
      pods: lab.pods
        .filter((p) => p.node === node)
        .map((p) => ({
          uid: p.name,
          namespace: 'shop',
          name: p.name,
          ips: [p.ip],
          labels: (p.name.endsWith('b') ? {} : { app: 'api' }) as Record<string, string>,
        })),
      namespaceLabels: new Map(),
      clusterCidrs: ['10.244.0.0/16'],
    });
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
    for (let i = 0; i < 3; i++) {
      tunnel.push(await run('n1a'));
      direct.push(await run('n1b'));
    }
    const ratio = (100 * median(tunnel)) / median(direct);
    return [
      {
        name: 'agent: TCP throughput pod -> gateway (VXLAN) -> echo host',
        value: median(tunnel),
        unit: 'Gbit/s',
        trials: 3,
        note: `iperf3 -t 3; direct path ${median(direct).toFixed(2)} Gbit/s`,
      },
      {
        name: 'agent: throughput through the gateway vs direct',
        value: ratio,
        unit: '%',
        trials: 3,
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
  const missing = await ensurePackages();
  const why = missing.length > 0 ? `missing ${missing.join(', ')}` : await netnsAvailable();
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
