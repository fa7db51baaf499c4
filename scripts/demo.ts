/**
 * @module
 * `npm run demo`: the cloud in a box, live. By default on real nodes (test/cluster/): four instances as
 * network namespaces, each a kubelet node with containerd and kube-proxy, cloud-egress installed with
 * `helm install charts/cloud-egress` from the image built from the Dockerfile, and a Deployment of two probe
 * pods; `npm run demo -- --process-box` runs the faster process box instead (test/e2e/: six instances, the
 * controllers and agents as plain processes). Sends 20 requests per second from two pods to an echo server
 * "on the internet", prints one line per second (the source IP the echo server saw, the node the VPC
 * delivers the egress IP to), cuts the power of the gateway node, shows the IP moving, prints the measured
 * outage, and removes everything. Needs root (network namespaces, nftables, containerd).
 */
import { ensureNodeBinaries, realNodeUnavailable, startRealBox } from '../test/cluster/index.ts';
import {
  BOX_POLICY,
  cliUnavailable,
  ensureControlPlaneBinaries,
  isGood,
  type NetworkBox,
  namespacesWithPrefix,
  netnsUnavailable,
  outageWindows,
  type ProbeSample,
  type ProbeSamples,
  startCloudBox,
  unexpectedSources,
  waitForHolder,
  waitForSteadyTraffic,
} from '../test/e2e/index.ts';

const tty = process.stdout.isTTY;
const paint = (code: string) => (text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);
const bold = paint('1');
const dim = paint('2');
const green = paint('32');
const red = paint('31');
const yellow = paint('33');
const cyan = paint('36');

const IP = BOX_POLICY.egressIPs[0];
const PROCESS_BOX = process.argv.includes('--process-box');

/** What the demo needs of either box. */
interface DemoBox {
  readonly net: NetworkBox;
  readonly server: string;
  readonly probes: ProbeSamples;
  leader(): Promise<string | undefined>;
  killNode(name: string): Promise<void>;
  deliveredTo(ip: string): string | undefined;
  holdersInCloud(ip: string): Promise<string[]>;
  stop(): Promise<void>;
}

/** The real-node box (default) or the process box, behind one face. */
async function startBox(): Promise<DemoBox> {
  if (PROCESS_BOX) {
    const box = await startCloudBox({ provider: 'aws' });
    const probes = box.startProbes();
    return {
      net: box.net,
      server: box.controlPlane.server,
      probes,
      leader: () => box.leader(),
      killNode: (n) => box.killNode(n),
      deliveredTo: (ip) => box.deliveredTo(ip),
      holdersInCloud: (ip) => box.holdersInCloud(ip),
      stop: async () => {
        await probes.stop();
        await box.stop();
      },
    };
  }
  // The process box's probe timings (100 ms, 3 misses): the demo shows the fast path.
  const box = await startRealBox({
    values: { controller: { probe: { interval: '100ms', misses: 3, damping: '3s' } } },
  });
  // A new leader damps every gateway its first probes missed: start once the lease has settled.
  await box.settle();
  return {
    net: box.net,
    server: box.controlPlane.server,
    probes: box,
    leader: () => box.leader(),
    killNode: (n) => box.killNode(n),
    deliveredTo: (ip) => box.deliveredTo(ip),
    holdersInCloud: (ip) => box.holdersInCloud(ip),
    stop: () => box.stop(),
  };
}
const EXPECTED = new Set<string>(BOX_POLICY.egressIPs);
const started = Date.now();
const clock = (at = Date.now()) => {
  const s = Math.floor((at - started) / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
};
const say = (text: string) => process.stdout.write(`${text}\n`);
const step = async <T>(label: string, run: () => Promise<T>, detail?: (value: T) => string): Promise<T> => {
  const t0 = Date.now();
  const value = await run();
  const extra = detail ? ` ${dim(detail(value))}` : '';
  say(`  ${green('✓')} ${label}${extra} ${dim(`(${((Date.now() - t0) / 1000).toFixed(1)} s)`)}`);
  return value;
};

function refuse(lines: string[]): never {
  process.stderr.write(
    `${red('cloud-egress demo cannot run here:')}\n${lines.map((l) => `  - ${l}`).join('\n')}\n`,
  );
  process.exit(1);
}

async function requirements(): Promise<void> {
  const problems: string[] = [];
  if (Number(process.versions.node.split('.')[0]) < 24) {
    problems.push(
      `Node 24 is required (this is ${process.version}); run it as "npm run demo" after "npm ci"`,
    );
  }
  if (process.getuid?.() !== 0) {
    refuse([
      'it must run as root: it builds network namespaces, veth links and nftables rules (all removed at the end).',
      'Run: sudo npm run demo',
    ]);
  }
  const netns = await netnsUnavailable();
  if (netns) problems.push(netns);
  const cli = await cliUnavailable();
  if (cli) problems.push(cli);
  if (!PROCESS_BOX && !netns && !cli) {
    const nodes = await realNodeUnavailable();
    if (nodes) problems.push(`${nodes} (or run the process box: npm run demo -- --process-box)`);
  }
  if (problems.length > 0) refuse(problems);
}

/** One live line: what the echo server saw from the pods in the last second, and who holds the IP. */
/** Where the VPC delivered the egress IP, over time (epoch ms), from the VPC router's changes. */
const holders: { at: number; node: string | undefined }[] = [];
const holderAt = (at: number) => holders.filter((h) => h.at <= at).at(-1)?.node;

function liveLine(probes: ProbeSamples, from: number, to: number, lastHolder: { name?: string }): string {
  const window: ProbeSample[] = [];
  for (const list of probes.samples.values())
    window.push(...list.filter((s) => s.sentAt >= from && s.sentAt < to));
  const sources = new Map<string, number>();
  let failed = 0;
  for (const s of window) {
    if (s.source === undefined) failed++;
    else sources.set(s.source, (sources.get(s.source) ?? 0) + 1);
  }
  const seen = [...sources].map(([ip, n]) =>
    EXPECTED.has(ip) ? green(`${ip} ×${n}`) : red(`${ip} ×${n} (not the egress IP)`),
  );
  if (failed > 0) seen.push(red(`${failed} failed`));
  const holder = holderAt(to) ?? '—';
  const moved = lastHolder.name !== undefined && lastHolder.name !== holder;
  const where = `${IP} on ${holder}`.padEnd(22);
  lastHolder.name = holder;
  const ok = window.filter((s) => isGood(s, EXPECTED)).length;
  const count = `${ok}/${window.length} ok`.padStart(9);
  const status = ok === window.length ? green(count) : red(count);
  return `  ${dim(clock(from))}  ${moved ? yellow(where) : cyan(where)} ${status}   ${seen.join(', ') || red('nothing')}`;
}

async function main(): Promise<void> {
  say(bold('cloud-egress demo: a cloud in a box'));
  say(
    dim(
      PROCESS_BOX
        ? '  AWS = LocalStack, Kubernetes = kube-apiserver + etcd, nodes and pods = network namespaces\n'
        : '  AWS = LocalStack, Kubernetes = kubelet nodes in network namespaces, cloud-egress = helm install of the chart\n',
    ),
  );
  await requirements();
  say(`  ${green('✓')} root, network namespaces, nftables${PROCESS_BOX ? '' : ', containerd, buildah'}`);
  await step(
    PROCESS_BOX
      ? 'kube-apiserver and etcd binaries'
      : 'kube-apiserver, etcd, kubelet, kube-proxy, helm binaries',
    async () => {
      await ensureControlPlaneBinaries(() => {});
      if (!PROCESS_BOX) await ensureNodeBinaries(() => {});
    },
    () => 'built once, cached',
  );

  let box: DemoBox | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () => {
    cleaning ??= (async () => {
      if (box) {
        const prefix = box.net.topology.prefix;
        await box.stop();
        const left = await namespacesWithPrefix(prefix);
        say(
          `  ${green('✓')} cleaned up: ${left.length === 0 ? 'no namespace, link, process or IP left' : red(`left: ${left.join(', ')}`)}`,
        );
      }
    })();
    return cleaning;
  };
  const interrupted = () => {
    say(yellow('\n  interrupted; cleaning up...'));
    void cleanup().then(() => process.exit(130));
  };
  process.on('SIGINT', interrupted);
  process.on('SIGTERM', interrupted);

  try {
    box = await step(
      PROCESS_BOX
        ? 'LocalStack (EC2), kube-apiserver, VPC with 2 subnets, 6 instances, 2 controllers, 6 agents'
        : 'image from the Dockerfile, LocalStack (EC2), VPC, 4 kubelet nodes, helm install, probe Deployment',
      () => startBox(),
      (b) => `LocalStack ${b.net.localStack.endpoint}, API ${b.server}`,
    );
    const holder = await step(
      `EgressPolicy ${BOX_POLICY.namespace}/${BOX_POLICY.name}: pods app=api leave from ${IP}`,
      () => waitForHolder(box!, IP),
      (h) => `on gateway ${h}`,
    );
    const leader = await box.leader();
    say(
      `  ${green('✓')} controller leader: ${leader ?? '?'}; the VPC delivers ${IP} only to the ENI that holds it\n`,
    );

    holders.push({ at: Date.now(), node: holder });
    const vpcBox = box;
    vpcBox.net.vpc.on('applied', (event) => {
      holders.push({ at: performance.timeOrigin + event.appliedAt, node: vpcBox.deliveredTo(IP) });
    });
    const probes = box.probes;
    await waitForSteadyTraffic(probes, EXPECTED, { timeoutMs: 120_000 });
    say(bold('  time   egress IP held by       requests  source IPs the echo server (198.51.100.10) saw'));
    const state: { name?: string } = { name: holder };
    let tick = Date.now();
    const live = async (seconds: number) => {
      for (let i = 0; i < seconds; i++) {
        await new Promise((r) => setTimeout(r, tick + 1000 + 1100 - Date.now()));
        say(liveLine(probes, tick, tick + 1000, state));
        tick += 1000;
      }
    };
    await live(4);
    const victim = box.deliveredTo(IP)!;
    say(red(`  ${clock()}  ✂ power cut on ${victim}: its NIC goes down, its agent and everything on it die`));
    say(dim('         (each line is one second of requests from both pods, printed once all have answered)'));
    const killAt = Date.now();
    await box.killNode(victim);
    await live(6);
    // Keep watching while traffic has not come back, up to 30 s after the power cut.
    const back = () =>
      [...probes.samples.values()].every((list) => {
        const last = list.filter((s) => s.sentAt >= killAt).slice(-10);
        return last.length === 10 && last.every((s) => isGood(s, EXPECTED));
      });
    while (!back() && Date.now() - killAt < 30_000) await live(1);
    if (!back()) await live(1);

    const samples = [...probes.samples.values()].map((list) => list.filter((s) => s.sentAt >= killAt - 1000));
    const strays = unexpectedSources(samples.flat(), EXPECTED);
    const windows = samples.flatMap((list) => outageWindows(list, EXPECTED));
    const worst = Math.max(0, ...windows.map((w) => w.ms));
    const failed = windows.reduce((n, w) => n + w.samples, 0);
    const after = box.deliveredTo(IP);
    const cloud = await box.holdersInCloud(IP);
    say('');
    if (windows.some((w) => w.open)) {
      say(red(`  ✗ traffic did not come back within the demo's time (see the logs in ${box.net.dir})`));
    } else {
      say(
        bold(`  Outage: ${worst.toFixed(0)} ms`) +
          dim(` (the longest run of failed requests of one pod; ${failed} failed in all)`),
      );
      say(
        `  ${IP} moved ${victim} → ${cyan(after ?? '?')} in LocalStack (${cloud.join(', ')} holds it) and kept serving: same source IP before and after.`,
      );
      say(
        dim(
          '  For comparison: Cilium Enterprise ~3 s (1 s health check), OVN-Kubernetes 5–11 s, Antrea ~4–6 s.',
        ),
      );
      if (strays.size > 0) {
        const list = [...strays].map(([ip, n]) => `${ip} ×${n}`).join(', ');
        say(
          red(`  ✗ some requests left from another source IP (${list}): a policy's pods must leave from its`),
        );
        say(red('    egress IP or not at all; the logs of this run show which agent let them through.'));
      }
    }
    say('');
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${red('demo failed:')} ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
