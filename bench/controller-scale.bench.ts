/**
 * @module
 * The controller on a real kube-apiserver + etcd at the size users run (bench/scale-world.ts: at k = 4,
 * 1,000 Nodes, 200 gateways, 5,000 policies holding 20,000 egress IPs, 50,000 Pods), with the in-memory cloud.
 * The controller runs in its own process (bench/scale-controller.ts, production defaults), so its memory is
 * its own; API requests are the API server's own counts (`/metrics`).
 *
 * ```
 * per k (default 1, 2, 4): control plane ─► world (timed, not measured) ─► controller process started
 *   converge   start ─► every IP Ready, every gateway with a status, every policy's generation observed
 *   memory     RSS after converging (and the peak)
 *   steady     60 s idle: requests per minute, watches open
 *   failover   the big gateway's node holding the most IPs goes NotReady ─► its IPs Ready elsewhere:
 *              detection -> all Ready (the controller's own timing), API writes in the failover
 *   mass       half the big gateway's nodes NotReady at once, at most 20 (20 of 40 in the full world,
 *              5 of 10 at k = 1)
 *   edit       a 50-IP policy's count 50 -> 60 -> 50 (the API caps a policy at 64 IPs)
 * ```
 *
 * `npm run bench controller-scale [k,k,...]`
 */
import { type ChildProcess, fork } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import {
  type ControlPlane,
  patchCustomObject,
  setNodeReady,
  startControlPlane,
} from '../test/controller/index.ts';
import {
  type ApiReading,
  describeRequests,
  parseApiMetrics,
  requestsBetween,
  writes,
} from './api-metrics.ts';
import { AssignmentTracker } from './assignment-tracker.ts';
import { BIG, buildScaleWorld, type ScaleShape, scaleShape } from './scale-world.ts';
import { type BenchResult, median } from './types.ts';

const here = dirname(fileURLToPath(import.meta.url));
/** The controller's `--probe-damping` (its default): how long a recovered node waits before it takes IPs. */
const DAMPING_MS = 10_000;
/** Nodes of the big gateway failed at once in the mass failover (at most half of them). */
const MASS_NODES = 20;
const FAILOVER_TRIALS = 5;
const MASS_TRIALS = 3;
const EDIT_TRIALS = 3;
const STEADY_MS = 60_000;
/** Writes that are the bench's own (the Node status it flips) or no part of the controller's work. */
const NOT_THE_CONTROLLER = ['nodes'];

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
const mib = (bytes: number) => bytes / 1024 / 1024;
const range = (xs: readonly number[]) =>
  `min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)}`;

async function reading(cp: ControlPlane): Promise<ApiReading> {
  const { stdout } = await cp.kubectl(['get', '--raw', '/metrics']);
  return parseApiMetrics(stdout);
}

/** The controller process and its messages. */
class ControllerProcess {
  readonly failovers: { node: string; ms: number }[] = [];
  readonly #child: ChildProcess;
  readonly #waiting = new Map<string, ((m: Record<string, unknown>) => void)[]>();

  constructor(kubeconfigPath: string, k: number) {
    this.#child = fork(join(here, 'scale-controller.ts'), [kubeconfigPath, String(k)], {
      stdio: 'inherit',
      execArgv: ['--expose-gc'],
    });
    this.#child.on('message', (m: Record<string, unknown>) => {
      if (m['type'] === 'failover') this.failovers.push(m as never);
      const list = this.#waiting.get(String(m['type'])) ?? [];
      this.#waiting.delete(String(m['type']));
      for (const w of list) w(m);
    });
  }

  next(type: string): Promise<Record<string, unknown>> {
    return new Promise((resolve) => this.#waiting.set(type, [...(this.#waiting.get(type) ?? []), resolve]));
  }

  async ask(type: string): Promise<Record<string, unknown>> {
    const answer = this.next(type);
    this.#child.send({ type });
    return answer;
  }

  async idle(): Promise<void> {
    await this.ask('idle');
  }

  async memory(): Promise<{ rss: number; maxRss: number; heapUsed: number; cpuMs: number }> {
    return (await this.ask('memory')) as never;
  }

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.send({ type: 'stop' });
    await Promise.race([exited, sleep(30_000)]);
    if (this.#child.exitCode === null) this.#child.kill('SIGKILL');
  }
}

/** One scale's results (the growth table) and, at the full scale, the detailed rows. */
interface ScaleRun {
  readonly k: number;
  readonly shape: ScaleShape;
  readonly buildMs: number;
  readonly convergeMs: number;
  readonly convergeWrites: number;
  readonly rssMiB: number;
  readonly maxRssMiB: number;
  readonly failoverMs: readonly number[];
  readonly failoverWrites: readonly number[];
  readonly failoverIPs: readonly number[];
  readonly rows: BenchResult[];
}

/** The big gateway's nodes by Ready IPs held, most first. */
function bigNodesByIPs(
  tracker: AssignmentTracker,
  shape: ScaleShape,
  exclude: ReadonlySet<string>,
): string[] {
  const held = tracker.readyPerNode();
  return shape.nodes
    .filter((n) => n.gateway === BIG && !exclude.has(n.name))
    .map((n) => n.name)
    .sort((a, b) => (held.get(b) ?? 0) - (held.get(a) ?? 0));
}

/**
 * Fails `nodes` at once and waits until every IP they held is Ready on another node; then brings them back.
 * Returns the controller's detection -> all Ready time (the slowest node's), the writes and the IPs moved.
 */
async function failNodes(
  cp: ControlPlane,
  core: CoreV1Api,
  controller: ControllerProcess,
  tracker: AssignmentTracker,
  nodes: readonly string[],
): Promise<{ ms: number; endToEndMs: number; writes: number; ips: number; requests: Map<string, number> }> {
  const failed = new Set(nodes);
  const moving = [...tracker.ips].filter(([, v]) => v.node && failed.has(v.node)).map(([ip]) => ip);
  const before = await reading(cp);
  const recorded = controller.failovers.length;
  const start = performance.now();
  await Promise.all(nodes.map((n) => setNodeReady(core, n, { ready: false })));
  await tracker.until(`${moving.length} IPs Ready off ${nodes.length} failed node(s)`, () =>
    moving.every((ip) => {
      const v = tracker.ips.get(ip);
      return v?.state === 'Ready' && v.node !== undefined && !failed.has(v.node);
    }),
  );
  const endToEndMs = performance.now() - start;
  while (controller.failovers.length < recorded + nodes.length) await sleep(50);
  await controller.idle();
  await sleep(1000);
  await controller.idle();
  const after = await reading(cp);
  const ms = Math.max(...controller.failovers.slice(recorded).map((f) => f.ms));
  await Promise.all(nodes.map((n) => setNodeReady(core, n, { ready: true })));
  // A recovered node takes IPs again only after the prober's damping: the next trial starts with every node.
  await sleep(DAMPING_MS + 1000);
  await controller.idle();
  const requests = requestsBetween(before, after);
  return { ms, endToEndMs, writes: writes(requests, NOT_THE_CONTROLLER), ips: moving.length, requests };
}

async function runScale(k: number): Promise<ScaleRun> {
  const shape = scaleShape(k);
  const cp = await startControlPlane({
    // Admission of 50,000 Pods and 5,000 policies from one client: more requests in flight than the default.
    apiserverFlags: ['--max-requests-inflight=800', '--max-mutating-requests-inflight=400'],
  });
  const rows: BenchResult[] = [];
  const label = `k=${k}: ${shape.nodes.length} nodes, ${shape.gateways.length} gateways, ${shape.policies.length} policies, ${shape.ips} IPs, ${shape.nodes.length * shape.podsPerNode} Pods`;
  try {
    process.stderr.write(`controller-scale: building ${label} ...\n`);
    const times = await buildScaleWorld(cp.kubeConfig, shape);
    const buildMs = times.nodesMs + times.gatewaysMs + times.policiesMs + times.podsMs;
    process.stderr.write(
      `controller-scale: built in ${(buildMs / 1000).toFixed(1)} s (nodes ${(times.nodesMs / 1000).toFixed(1)}, gateways ${(times.gatewaysMs / 1000).toFixed(1)}, policies ${(times.policiesMs / 1000).toFixed(1)}, pods ${(times.podsMs / 1000).toFixed(1)}); load ${load()}\n`,
    );
    const tracker = new AssignmentTracker(cp.kubeConfig);
    await tracker.start();
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    const custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
    const before = await reading(cp);
    const start = performance.now();
    const controller = new ControllerProcess(cp.kubeconfigPath, k);
    try {
      await controller.next('started');
      await tracker.until('the world converged', () => {
        return (
          tracker.ready() === shape.ips &&
          tracker.gatewaysWithStatus.size === shape.gateways.length &&
          tracker.allObserved()
        );
      });
      const convergeMs = performance.now() - start;
      await controller.idle();
      const converged = await reading(cp);
      const convergeRequests = requestsBetween(before, converged);
      const convergeWrites = writes(convergeRequests, NOT_THE_CONTROLLER);
      const memory = await controller.memory();
      process.stderr.write(
        `controller-scale k=${k}: converged in ${(convergeMs / 1000).toFixed(1)} s, RSS ${mib(memory.rss).toFixed(0)} MiB; ${describeRequests(convergeRequests)}; load ${load()}\n`,
      );
      rows.push(
        {
          name: `controller scale: start -> converged (${label}, in-memory cloud)`,
          value: Math.round(convergeMs),
          unit: 'ms',
          trials: 1,
          target: '<= 60000 ms',
          ok: convergeMs <= 60_000,
          note: `${convergeWrites} API writes; world built in ${(buildMs / 1000).toFixed(0)} s (not measured); load ${load()}`,
        },
        {
          name: `controller scale: RSS after converging (${label})`,
          value: Math.round(mib(memory.rss)),
          unit: 'MiB',
          trials: 1,
          target: '<= 512 MiB',
          ok: mib(memory.maxRss) <= 512,
          note: `peak ${mib(memory.maxRss).toFixed(0)} MiB; live heap after a full GC ${mib(memory.heapUsed).toFixed(0)} MiB; controller CPU to converge ${(memory.cpuMs / 1000).toFixed(1)} s; load ${load()}`,
        },
      );

      {
        const quiet = await reading(cp);
        await sleep(STEADY_MS);
        const after = await reading(cp);
        const perMinute = requestsBetween(quiet, after);
        const total = [...perMinute.values()].reduce((a, b) => a + b, 0) * (60_000 / STEADY_MS);
        // The controller's own: open now but not before it started (the API server's and the bench's were).
        const own = [...after.watches]
          .map(([r, n]) => [r, n - (before.watches.get(r) ?? 0)] as const)
          .filter(([, n]) => n > 0);
        const watches = own.reduce((sum, [, n]) => sum + n, 0);
        rows.push(
          {
            name: `controller scale: steady-state API requests (${label})`,
            value: Math.round(total),
            unit: 'per minute',
            trials: 1,
            note: `${describeRequests(perMinute, 60_000 / STEADY_MS) || 'none'}; load ${load()}`,
          },
          {
            name: `controller scale: the controller's watches open on the API server (${label})`,
            value: watches,
            unit: 'watches',
            trials: 1,
            note: `by resource: ${own.map(([r, n]) => `${r} ${n}`).join(', ')} (those open before it started, the API server's own and the bench's 2, taken out)`,
          },
        );
      }

      const failoverMs: number[] = [];
      const failoverWrites: number[] = [];
      const failoverIPs: number[] = [];
      const endToEnd: number[] = [];
      let example = '';
      for (let t = 0; t < FAILOVER_TRIALS; t++) {
        const node = bigNodesByIPs(tracker, shape, new Set())[0]!;
        const r = await failNodes(cp, core, controller, tracker, [node]);
        process.stderr.write(
          `controller-scale k=${k}: ${node} failed, ${r.ips} IPs moved in ${r.ms.toFixed(0)} ms, ${r.writes} writes; load ${load()}\n`,
        );
        failoverMs.push(r.ms);
        failoverWrites.push(r.writes);
        failoverIPs.push(r.ips);
        endToEnd.push(r.endToEndMs);
        example = describeRequests(r.requests);
      }
      const d = median(failoverMs);
      rows.push({
        name: `controller scale: a node holding ${median(failoverIPs)} IPs fails -> all Ready elsewhere (${label}, in-memory)`,
        value: Math.round(d),
        unit: 'ms',
        trials: FAILOVER_TRIALS,
        target: '<= 1000 ms',
        ok: d <= 1000,
        note: `detection -> all Ready; ${range(failoverMs)}; NotReady written -> all Ready in status ${median(endToEnd).toFixed(0)} ms; API writes ${median(failoverWrites)} (${range(failoverWrites)}), last: ${example}; load ${load()}`,
      });

      {
        const bigNodes = shape.nodes.filter((n) => n.gateway === BIG).length;
        const massCount = Math.min(MASS_NODES, Math.floor(bigNodes / 2));
        const massMs: number[] = [];
        const massIPs: number[] = [];
        const massWrites: number[] = [];
        for (let t = 0; t < MASS_TRIALS; t++) {
          const nodes = bigNodesByIPs(tracker, shape, new Set()).slice(0, massCount);
          const r = await failNodes(cp, core, controller, tracker, nodes);
          massMs.push(r.ms);
          massIPs.push(r.ips);
          massWrites.push(r.writes);
          example = describeRequests(r.requests);
        }
        rows.push({
          name: `controller scale: ${massCount} of the ${bigNodes} nodes of one gateway fail at once -> all their IPs Ready elsewhere (${label}, in-memory)`,
          value: Math.round(median(massMs)),
          unit: 'ms',
          trials: MASS_TRIALS,
          note: `detection -> all Ready; ${range(massMs)}; IPs moved ${massIPs.join(', ')}; API writes ${massWrites.join(', ')}, last: ${example}; load ${load()}`,
        });

        const policy = { kind: 'EgressPolicy' as const, name: 'big-0', namespace: 'ns-0' };
        const key = `${policy.namespace}/${policy.name}`;
        const up: number[] = [];
        const down: number[] = [];
        const editWrites: number[] = [];
        for (let t = 0; t < EDIT_TRIALS; t++) {
          for (const [count, times] of [
            [60, up],
            [50, down],
          ] as const) {
            const b = await reading(cp);
            const s = performance.now();
            await patchCustomObject(custom, policy, { spec: { count } });
            await tracker.until(`${key} has ${count} IPs Ready`, () => {
              return tracker.policyObserved(key) && tracker.policyReady(key) === count;
            });
            times.push(performance.now() - s);
            await controller.idle();
            editWrites.push(writes(requestsBetween(b, await reading(cp)), NOT_THE_CONTROLLER) - 1);
          }
        }
        rows.push({
          name: `controller scale: edit of a 50-IP policy (count 50 -> 60) -> 60 Ready (${label}, in-memory)`,
          value: Math.round(median(up)),
          unit: 'ms',
          trials: EDIT_TRIALS,
          note: `patch written -> status; ${range(up)}; back to 50: median ${median(down).toFixed(0)} ms (${range(down)}); controller writes per edit ${median(editWrites)}; load ${load()}`,
        });
      }
      return {
        k,
        shape,
        buildMs,
        convergeMs,
        convergeWrites,
        rssMiB: mib(memory.rss),
        maxRssMiB: mib(memory.maxRss),
        failoverMs,
        failoverWrites,
        failoverIPs,
        rows,
      };
    } finally {
      await controller.stop();
      await tracker.stop();
    }
  } finally {
    await cp.stop();
  }
}

export default async function bench(): Promise<BenchResult[]> {
  const ks = (process.argv[3] ?? '1,2,4').split(',').map(Number);
  const runs: ScaleRun[] = [];
  for (const k of ks) runs.push(await runScale(k));
  const base = runs[0]!;
  const growth: BenchResult[] = runs.map((r) => ({
    name: `controller scale growth: ${r.k / base.k}x (${r.shape.nodes.length} nodes, ${r.shape.policies.length} policies, ${r.shape.ips} IPs)`,
    value: Math.round(r.convergeMs),
    unit: 'ms to converge',
    trials: 1,
    note: `x${(r.convergeMs / base.convergeMs).toFixed(2)} time; RSS ${r.rssMiB.toFixed(0)} MiB (x${(r.rssMiB / base.rssMiB).toFixed(2)}), peak ${r.maxRssMiB.toFixed(0)} MiB; ${r.convergeWrites} writes; one-node failover median ${median(r.failoverMs).toFixed(0)} ms, ${median(r.failoverWrites)} writes; world built in ${(r.buildMs / 1000).toFixed(0)} s`,
  }));
  return [...runs.flatMap((r) => r.rows), ...growth];
}
