/**
 * @module
 * Node agent dataplane benchmarks, on a real kernel in scratch network namespaces (root only):
 *
 * - programming 10,000 local pod IPs: a cold sync (tunnel, nft table, rules from nothing) and adding all
 *   10,000 to an existing table (wall time);
 * - on nodes with 100, 1,000 and 10,000 pods, fed through the agent's pod store: one pod added, one
 *   removed, a policy edit and a full resync (the agent's CPU time, which does not grow with the load;
 *   the children's beside it), and one pod added with the decision and plan alone, no kernel (100 or
 *   10,000 pods, 3 or 1,000 nodes; needs no root);
 * - TCP throughput and the 64-byte UDP packet rate pod -> gateway node (VXLAN) -> echo host against pod ->
 *   echo host direct (iperf3), with the CPU per Gbit/s; `npm run bench agent -- throughput` runs these alone.
 *
 * `npm run bench agent`
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism as availableCpus, loadavg } from 'node:os';
import type { AgentInputs, LocalPod } from '../src/agent/agent-inputs.ts';
import { AgentSync } from '../src/agent/agent-sync.ts';
import { type Dataplane, EMPTY_STATE } from '../src/agent/dataplane.ts';
import { LocalPodStore } from '../src/agent/local-pods.ts';
import { DEFAULT_DATAPLANE_SETTINGS as settings } from '../src/agent/settings.ts';
import { EXTERNAL, egressPolicy, NetnsLab, netnsUnavailable } from '../test/agent/index.ts';
import { type BenchResult, median } from './types.ts';

const PODS = 10_000;
/** Pod counts of the per-change rows. */
const SIZES = [100, 1_000, 10_000];

/** Clock ticks of the CPU time (user + system) of process `pid` ('self': this one): fields 14-15, or 14-17. */
function ticks(pid: string, withReaped: boolean): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // After "pid (comm) ": state is field 3; utime, stime, cutime, cstime are fields 14-17.
    return [11, 12, ...(withReaped ? [13, 14] : [])].reduce((sum, i) => sum + Number(fields[i]), 0);
  } catch {
    return 0; // exited meanwhile: its time shows up among the reaped children
  }
}

/**
 * CPU time in ms of this process's children, reaped (`nft -f`, `ip`...) or alive (the `nft -i` session), from
 * /proc in clock ticks of 10 ms.
 */
function childrenCpuMs(): number {
  const self = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  let children = Number(self[13]) + Number(self[14]);
  for (const task of readdirSync('/proc/self/task')) {
    const list = readFileSync(`/proc/self/task/${task}/children`, 'utf8').trim();
    for (const pid of list ? list.split(' ') : []) children += ticks(pid, true);
  }
  return children * 10;
}

/** CPU time in ms of this process: user + system, all threads, garbage collection included (microseconds). */
function agentCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** One operation measured `trials` times: wall and agent CPU per trial, children's CPU as a mean. */
interface Measured {
  readonly wall: number[];
  readonly cpu: number[];
  readonly childrenCpu: number;
}

/** Runs `setup` (untimed) then `fn` (timed), `trials` times. */
async function measure(
  trials: number,
  fn: () => Promise<unknown>,
  setup: () => Promise<unknown> = async () => {},
): Promise<Measured> {
  const wall: number[] = [];
  const cpu: number[] = [];
  let children = 0;
  for (let i = 0; i < trials; i++) {
    await setup();
    // The /proc reads stay outside the agent's own interval.
    const childrenBefore = childrenCpuMs();
    const cpuBefore = agentCpuMs();
    const start = performance.now();
    await fn();
    wall.push(performance.now() - start);
    cpu.push(agentCpuMs() - cpuBefore);
    children += childrenCpuMs() - childrenBefore;
  }
  return { wall, cpu, childrenCpu: children / trials };
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

const load = () => `load avg ${loadavg()[0]!.toFixed(1)} on ${availableCpus()} CPUs`;
const range = (xs: number[]) => `min ${Math.min(...xs).toFixed(2)}, max ${Math.max(...xs).toFixed(2)}`;
/** The row of an operation whose value is the agent's CPU time. */
function cpuRow(name: string, m: Measured, target?: { text: string; ms: number }): BenchResult {
  const value = median(m.cpu);
  return {
    name,
    value,
    unit: 'ms CPU',
    trials: m.cpu.length,
    ...(target ? { target: target.text, ok: value <= target.ms } : {}),
    note:
      `${range(m.cpu)}; children (nft, ip) ${m.childrenCpu.toFixed(1)} ms CPU/op; ` +
      `wall median ${median(m.wall).toFixed(2)} ms (${range(m.wall)}); ${load()}`,
  };
}
/** The row of an operation whose value is the wall time (programming, dominated by `nft`). */
function wallRow(name: string, m: Measured): BenchResult {
  const total = m.cpu.reduce((a, b) => a + b, 0) / m.cpu.length + m.childrenCpu;
  return {
    name,
    value: median(m.wall),
    unit: 'ms',
    trials: m.wall.length,
    target: '<= 200 ms',
    ok: median(m.wall) <= 200,
    note: `${range(m.wall)}; CPU ${total.toFixed(1)} ms/op (agent and children); ${load()}`,
  };
}

/** Node-1's inputs: one policy (everywhere, or `destinationCIDRs`) whose egress IP is held on node-2. */
function labInputs(lab: NetnsLab, p: AgentInputs['pods'], destinationCIDRs?: string[]): AgentInputs {
  const node = lab.nodes[0]!;
  return {
    node: { name: node.name, ip: node.ip, iface: 'eth0', mtu: 1500 },
    policies: [
      egressPolicy({
        spec: destinationCIDRs ? { destinationCIDRs } : {},
        assignments: [{ ip: '192.168.100.50', node: 'node-2', state: 'Ready' }],
      }),
    ],
    nodes: lab.nodes.map((n) => ({ name: n.name, ip: n.ip })),
    pods: p,
    namespaceLabels: new Map(),
    clusterCidrs: ['10.244.0.0/16'],
  };
}

async function programming(lab: NetnsLab): Promise<BenchResult[]> {
  const dataplane = lab.dataplane(lab.nodes[0]!, { announce: false, nftSession: true });
  const agent = new AgentSync({ dataplane, settings });
  const all = pods(PODS);
  await agent.sync(labInputs(lab, all)); // warm-up
  const cold = await measure(
    5,
    () => agent.sync(labInputs(lab, all)),
    () => agent.cleanup(),
  );
  const warm = await measure(
    5,
    () => agent.sync(labInputs(lab, all)),
    () => agent.sync(labInputs(lab, [])),
  );
  // The path before pod events: the whole list handed over, the decision passes over it.
  let extra = PODS;
  const listed = await measure(30, async () => {
    oneElement(await agent.sync(labInputs(lab, [...all, ...pods(1, extra++)])));
  });
  await agent.cleanup();
  await dataplane.close();
  return [
    wallRow('agent: program 10,000 local pod IPs, cold (tunnel, table, rules, elements)', cold),
    wallRow('agent: program 10,000 local pod IPs into the existing table', warm),
    cpuRow(
      'agent: one pod added (and the previous one gone), node with 10,000 pods, given the whole pod list (the path before pod events)',
      listed,
    ),
  ];
}

/** Expects one `nft.elements` change (one pod's element). */
const oneElement = ({ changes }: { changes: readonly { kind: string }[] }) => {
  if (changes.length !== 1 || changes[0]!.kind !== 'nft.elements')
    throw new Error(`expected one element change, got ${changes.map((c) => c.kind).join(', ')}`);
};

/**
 * Per change on a node with `count` pods, fed as the agent feeds them (a {@link LocalPodStore} that the pod
 * informer's events update): one pod added, one removed, a policy edit (its destinations: a new steering
 * epoch, so every pod is looked at and the pod map compared), and a full resync (the kernel read back, every
 * pod looked at).
 */
async function perChange(lab: NetnsLab, count: number): Promise<BenchResult[]> {
  const dataplane = lab.dataplane(lab.nodes[0]!, { announce: false, nftSession: true });
  const agent = new AgentSync({ dataplane, settings });
  const store = new LocalPodStore();
  for (const p of pods(count)) store.set(`shop/${p.name}`, p);
  const inputs = labInputs(lab, store);
  await agent.sync(inputs);
  let extra = count;
  let added: LocalPod | undefined;
  const add = await measure(
    30,
    async () => {
      store.set(`shop/${added!.name}`, added);
      oneElement(await agent.sync(inputs));
    },
    async () => {
      if (added) {
        store.delete(`shop/${added.name}`);
        await agent.sync(inputs);
      }
      added = pods(1, extra++)[0]!;
    },
  );
  const remove = await measure(
    30,
    async () => {
      store.delete(`shop/${added!.name}`);
      oneElement(await agent.sync(inputs));
    },
    async () => {
      added = pods(1, extra++)[0]!;
      store.set(`shop/${added.name}`, added);
      await agent.sync(inputs);
    },
  );
  let edits = 0;
  const edit = await measure(10, async () => {
    const { changes } = await agent.sync(labInputs(lab, store, ++edits % 2 ? ['203.0.113.0/24'] : undefined));
    if (changes.length !== 1) throw new Error(`expected one change, got ${changes.length}`);
  });
  await agent.sync(inputs);
  const resync = await measure(10, async () => {
    agent.resync();
    await agent.sync(inputs);
  });
  await agent.cleanup();
  await dataplane.close();
  const n = count.toLocaleString('en-US');
  const oneTarget = count === PODS ? { text: '<= 2 ms CPU', ms: 2 } : undefined;
  return [
    cpuRow(
      `agent: one pod added, node with ${n} pods (pod event -> one element on the nft -i session)`,
      add,
      oneTarget,
    ),
    cpuRow(`agent: one pod removed, node with ${n} pods`, remove, oneTarget),
    cpuRow(
      `agent: a policy edit (destinations), node with ${n} pods`,
      edit,
      count === PODS ? { text: '<= 50 ms CPU', ms: 50 } : undefined,
    ),
    cpuRow(`agent: full resync (kernel read back, every pod looked at), node with ${n} pods`, resync),
  ];
}
/** A dataplane that takes the changes and keeps nothing: what remains is the decision and the plan. */
const discard: Dataplane = { observe: async () => EMPTY_STATE, apply: async () => {} };

/**
 * The decision and the plan alone (no kernel, no root): one pod added through the pod store, with `count`
 * pods on a cluster of `nodeCount` nodes.
 */
async function decisionAlone(count: number, nodeCount: number): Promise<BenchResult> {
  const agent = new AgentSync({ dataplane: discard, settings });
  const store = new LocalPodStore();
  for (const p of pods(count)) store.set(`shop/${p.name}`, p);
  const nodes = Array.from({ length: nodeCount }, (_, i) => ({
    name: `node-${i + 1}`,
    ip: `192.168.${Math.floor(i / 250)}.${(i % 250) + 1}`,
  }));
  const inputs: AgentInputs = {
    node: { name: 'node-1', ip: nodes[0]!.ip, iface: 'eth0', mtu: 1500 },
    policies: [egressPolicy({ assignments: [{ ip: '192.168.100.50', node: 'node-2', state: 'Ready' }] })],
    nodes,
    pods: store,
    namespaceLabels: new Map(),
    clusterCidrs: ['10.244.0.0/16'],
  };
  await agent.sync(inputs);
  let extra = count;
  const m = await measure(300, async () => {
    const p = pods(1, extra++)[0]!;
    store.set(`shop/${p.name}`, p);
    oneElement(await agent.sync(inputs));
  });
  const name = `agent: decision and plan alone (no kernel), one pod added, ${count.toLocaleString('en-US')} pods, ${nodeCount.toLocaleString('en-US')} nodes`;
  return cpuRow(name, m);
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

/** One iperf3 run from a pod: its rate, and for UDP the packets per second the server received. */
interface IperfRun {
  readonly gbps: number;
  readonly pps: number;
  /** CPU ms per second of transfer per Gbit/s: client and server processes (see {@link throughput}). */
  readonly cpuPerGbps: number;
  readonly load: number;
}

async function iperfRun(lab: NetnsLab, pod: string, udp: boolean): Promise<IperfRun> {
  const load = loadavg()[0]!;
  const args = ['-c', EXTERNAL.inPolicy, '-t', '3', '-J', ...(udp ? ['-u', '-l', '64', '-b', '0'] : [])];
  const end = JSON.parse(await iperf(lab.pod(pod).ns, args)).end;
  const sum = udp ? end.sum : end.sum_received;
  const gbps = (sum.bits_per_second as number) / 1e9;
  const pps = udp ? (sum.packets - sum.lost_packets) / sum.seconds : 0;
  const cpu = end.cpu_utilization_percent as { host_total: number; remote_total: number };
  // Percent of one CPU -> ms per s, per Gbit/s.
  return { gbps, pps, cpuPerGbps: ((cpu.host_total + cpu.remote_total) * 10) / gbps, load };
}

/**
 * Pod -> gateway (VXLAN) -> echo host against pod -> echo host direct, 5 trials each, alternating (direct,
 * tunnel, direct...) so that both see the same load: TCP (iperf3 -t 3) and 64-byte UDP (`-u -l 64 -b 0`,
 * packets per second the server received). The CPU rows are the CPU time of the iperf3 client and server
 * per Gbit/s: the kernel charges the softirq work of every hop (the nodes' forwarding, nftables,
 * conntrack, VXLAN) to the process it interrupts, and on veths that is the sender or the receiver.
 */
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
    const tcp = { tunnel: [] as IperfRun[], direct: [] as IperfRun[] };
    const udp = { tunnel: [] as IperfRun[], direct: [] as IperfRun[] };
    for (let i = 0; i < TRIALS; i++) {
      tcp.direct.push(await iperfRun(lab, 'n1b', false));
      tcp.tunnel.push(await iperfRun(lab, 'n1a', false));
    }
    for (let i = 0; i < TRIALS; i++) {
      udp.direct.push(await iperfRun(lab, 'n1b', true));
      udp.tunnel.push(await iperfRun(lab, 'n1a', true));
    }
    const { tunnel, direct } = tcp;
    const m = (xs: IperfRun[], key: 'gbps' | 'pps' | 'cpuPerGbps') => median(xs.map((x) => x[key]));
    const loads = (xs: IperfRun[]) =>
      `load avg per trial ${xs.map((x) => x.load.toFixed(1)).join(', ')} on ${availableCpus()} CPUs`;
    const span = (xs: IperfRun[], key: 'gbps' | 'pps' | 'cpuPerGbps', digits = 2) =>
      `min ${Math.min(...xs.map((x) => x[key])).toFixed(digits)}, max ${Math.max(...xs.map((x) => x[key])).toFixed(digits)}`;
    const ratio = (100 * m(tunnel, 'gbps')) / m(direct, 'gbps');
    const ppsRatio = (100 * m(udp.tunnel, 'pps')) / m(udp.direct, 'pps');
    return [
      {
        name: 'agent: TCP throughput pod -> gateway (VXLAN) -> echo host',
        value: m(tunnel, 'gbps'),
        unit: 'Gbit/s',
        trials: TRIALS,
        note: `iperf3 -t 3; ${span(tunnel, 'gbps')}; direct path ${m(direct, 'gbps').toFixed(2)} Gbit/s (${span(direct, 'gbps')}); ${loads(direct)}`,
      },
      {
        name: 'agent: throughput through the gateway vs direct',
        value: ratio,
        unit: '%',
        trials: TRIALS,
        target: '>= 90 %',
        ok: ratio >= 90,
        note: 'medians of alternating trials; spidernet on VMs: 41 %',
      },
      {
        name: 'agent: CPU per Gbit/s through the gateway (iperf3 client + server, every hop in softirq)',
        value: m(tunnel, 'cpuPerGbps'),
        unit: 'ms/s per Gbit/s',
        trials: TRIALS,
        note: `${span(tunnel, 'cpuPerGbps', 1)}; direct path ${m(direct, 'cpuPerGbps').toFixed(1)} (${span(direct, 'cpuPerGbps', 1)})`,
      },
      {
        name: 'agent: 64-byte UDP packets per second pod -> gateway (VXLAN) -> echo host, received',
        value: m(udp.tunnel, 'pps') / 1000,
        unit: 'kpps',
        trials: TRIALS,
        note: `iperf3 -u -l 64 -b 0 -t 3; ${span(udp.tunnel, 'pps', 0)}; direct path ${(m(udp.direct, 'pps') / 1000).toFixed(1)} kpps (${span(udp.direct, 'pps', 0)}); ${loads(udp.direct)}`,
      },
      {
        name: 'agent: small-packet rate through the gateway vs direct',
        value: ppsRatio,
        unit: '%',
        trials: TRIALS,
        target: '>= 80 %',
        ok: ppsRatio >= 80,
        note: 'medians of alternating trials',
      },
    ];
  } finally {
    server.kill('SIGKILL');
  }
}

export default async function agentBench(): Promise<BenchResult[]> {
  const throughputOnly = process.argv[3] === 'throughput';
  const alone: BenchResult[] = [];
  for (const [count, nodeCount] of [
    [100, 3],
    [10_000, 3],
    [10_000, 1_000],
  ] as const) {
    if (throughputOnly) break;
    alone.push(await decisionAlone(count, nodeCount));
  }
  const why = await netnsUnavailable();
  if (why) {
    process.stderr.write(`agent.bench: kernel rows skipped (${why})\n`);
    return alone;
  }
  const lab = new NetnsLab();
  try {
    await lab.build(3, { 1: ['n1a', 'n1b'] });
    if (throughputOnly) return await throughput(lab);
    const rows = await programming(lab);
    for (const count of SIZES) rows.push(...(await perChange(lab, count)));
    return [...rows, ...alone, ...(await throughput(lab))];
  } finally {
    await lab.destroy();
  }
}
