/**
 * @module
 * A rolling replacement of gateway nodes in the box, as a node-pool upgrade does it, with the probes running;
 * shared by the end-to-end test and the `e2e-drain` benchmark. Each node in turn:
 *
 * ```
 * mode drain:    cordon (spec.unschedulable, as kubectl drain and the managed upgrades do first)
 *                ─► wait until the cloud and the VPC hold none of its IPs on it and the status (what the
 *                   agents steer by) names another node, the handover from it over
 *                ─► power off (stop the instance) + delete the Node ─► replace
 * mode failover: power off + delete the Node at once (what a drain amounted to before planned moves,
 *                and what every peer does) ─► wait until the VPC delivers its IPs elsewhere ─► replace
 * replace:       the instance starts again as a new node (NIC up, agent and forwarder started, a fresh
 *                Node object) ─► wait until the gateway's status has it ready ─► steady traffic
 * ```
 *
 * Moves are counted from the VPC's delivery (the world's state): every change of the node an egress IP is
 * delivered to. The expected count is the sum, over the nodes replaced, of the IPs each held when its turn came.
 * A box plays its part through a {@link RollTarget}: in the process box ({@link processBoxRoll}) no kubelet
 * runs, so "drain" is the cordon alone (the gateway nodes carry no Pods but the agent's, which a drain leaves
 * to the end, a DaemonSet's) and the test writes the new Node; the real-node box (test/cluster/real-roll.ts)
 * runs `kubectl drain` on a kubelet and the booted kubelet registers the new Node itself.
 */

import { eventually } from '../support/eventually.ts';
import type { CloudBox } from './cloud-box.ts';
import { deliveredTo, holdersInCloud } from './cloud-state.ts';
import type { KubeObjects } from './kube-objects.ts';
import type { NetworkBox } from './network-box.ts';
import { isGood, type OutageWindow, outageWindows, type ProbeSample } from './outage.ts';
import { type ProbeSamples, waitForSteadyTraffic } from './scenario.ts';
import type { AppliedEvent } from './vpc-sync.ts';

/** One egress IP per zone of the box, so that both zones' gateway nodes hold one in turn. */
export const ROLL_IPS = ['10.0.1.100', '10.0.2.100'] as const;
/** Every gateway node of the box, in the order a roll replaces them. */
export const GATEWAY_NODES = ['gw-a1', 'gw-a2', 'gw-b1', 'gw-b2'] as const;

/** How a node leaves in a roll. */
export type RollMode = 'drain' | 'failover';

/** One node's turn. */
export interface NodeTurn {
  readonly node: string;
  /** Egress IPs the VPC delivered to it when its turn came. */
  readonly held: readonly string[];
  /** From the start of its turn until the VPC delivered none of its IPs to it, ms. */
  readonly handOverMs: number;
  /** When its turn started (epoch ms). */
  readonly startedAt: number;
  /** When the VPC first delivered one of its IPs elsewhere in its turn (epoch ms), if it did. */
  readonly movedAt?: number;
}

/** What one rolling replacement did. */
export interface RollResult {
  readonly mode: RollMode;
  readonly turns: readonly NodeTurn[];
  /** Moves the VPC showed (delivery changes of the egress IPs). */
  readonly moves: number;
  /** Sum of `held` over the turns. */
  readonly expectedMoves: number;
  /** Probe requests sent during the roll, all pods. */
  readonly requests: number;
  /** Requests that failed or answered from another source (a request over 1 s is a failure: the probe's timeout). */
  readonly failed: number;
  /** The slowest request that answered from an egress IP, ms. */
  readonly slowestMs: number;
  /** Outage windows per pod. */
  readonly windows: ReadonlyMap<string, readonly OutageWindow[]>;
  /** The longest outage window over all pods, ms (0 without any). */
  readonly worstMs: number;
  /** How long the roll took, ms. */
  readonly tookMs: number;
}

/**
 * What a roll needs of a box: the process box ({@link processBoxRoll}) and the real-node box. The cloud's and
 * the VPC's state come from `net` (cloud-state.ts), the policies' status from `kube`; the box itself says how a
 * node leaves and comes back.
 */
export interface RollTarget {
  readonly net: NetworkBox;
  readonly kube: Pick<KubeObjects, 'policyAssignments' | 'gatewayNodes'>;
  /** What a node-pool upgrade does first: cordon, and evict what a drain evicts. */
  drain(name: string): Promise<void>;
  /** The instance stops (a power cut) and its Node object is deleted. */
  removeNode(name: string): Promise<void>;
  /** The instance starts again and joins as a new Node; returns once `gateway`'s status has it ready. */
  replaceNode(name: string, gateway: string, timeoutMs: number): Promise<void>;
}

/** The process box's part in a roll: the cordon alone, and the test writes the new Node. */
export function processBoxRoll(box: CloudBox): RollTarget {
  return {
    net: box.net,
    kube: box.kube,
    drain: (name) => box.kube.cordon(name),
    removeNode: async (name) => {
      await box.killNode(name);
      await box.kube.deleteNode(name);
    },
    replaceNode: async (name, gateway, timeoutMs) => {
      await box.recoverNode(name);
      await box.kube.createNode(box.node(name), box.net.world);
      await waitForGatewayNodeReady(box.kube, name, gateway, timeoutMs);
    },
  };
}

/** Waits until `gateway`'s status lists `name` as ready with nothing to say about it. */
export async function waitForGatewayNodeReady(
  kube: Pick<KubeObjects, 'gatewayNodes'>,
  name: string,
  gateway: string,
  timeoutMs: number,
): Promise<void> {
  await eventually(
    `${name} ready again in EgressGateway ${gateway}'s status`,
    async () => (await kube.gatewayNodes(gateway)).find((n) => n.name === name),
    { until: (n) => n?.ready === true && n.message === undefined, timeoutMs, intervalMs: 200 },
  );
}

/** Options of {@link rollGatewayNodes}. */
export interface RollOptions {
  readonly mode: RollMode;
  /** The nodes to replace, in order. */
  readonly nodes: readonly string[];
  /** The policies' egress IPs (the good sources). */
  readonly expected: ReadonlySet<string>;
  /** The gateway whose status says when a replaced node is ready again. */
  readonly gateway: string;
  /** Per node step, ms (default 60 s). */
  readonly timeoutMs?: number;
}

/** Replaces `nodes` one after the other (see the module comment) and measures what the probes saw. */
export async function rollGatewayNodes(
  box: RollTarget,
  probes: ProbeSamples,
  options: RollOptions,
): Promise<RollResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const started = Date.now();
  const linkNode = new Map(box.net.topology.nodes.map((n) => [n.vpcLink, n.name]));
  const last = new Map<string, string>();
  for (const ip of options.expected) {
    const node = deliveredTo(box.net, ip);
    if (node) last.set(ip, node);
  }
  let moves = 0;
  let movedAt: number | undefined;
  const onApplied = (event: AppliedEvent) => {
    for (const ip of options.expected) {
      const link = event.delivery.get(ip);
      const node = link === undefined ? undefined : linkNode.get(link);
      if (node === undefined) continue;
      if (last.has(ip) && last.get(ip) !== node) {
        moves++;
        movedAt ??= Date.now();
      }
      last.set(ip, node);
    }
  };
  box.net.vpc.on('applied', onApplied);
  const turns: NodeTurn[] = [];
  try {
    for (const name of options.nodes) {
      const turnAt = Date.now();
      movedAt = undefined;
      const held: string[] = [];
      for (const ip of options.expected)
        if ((await holdersInCloud(box.net, ip)).includes(name)) held.push(ip);
      if (options.mode === 'drain') {
        await box.drain(name);
        // Handed over: the cloud holds none of its IPs, the VPC delivers none to it, and the policies' status
        // (what the agents steer by) names another node for each and no longer a handover from it (the
        // controller ends the handover a settle after the agents were told to switch).
        await eventually(
          `${name}'s IPs handed over before it goes`,
          async () => {
            const status = await box.kube.policyAssignments();
            for (const ip of held) {
              if (deliveredTo(box.net, ip) === name) return undefined;
              if ((await holdersInCloud(box.net, ip)).includes(name)) return undefined;
              const a = status.find((x) => x.ip === ip);
              if (a?.node === name || a?.handoverFrom === name) return undefined;
            }
            return true;
          },
          { timeoutMs, intervalMs: 50 },
        );
      }
      await box.removeNode(name);
      await eventually(
        `${name}'s IPs delivered elsewhere`,
        async () =>
          held.every((ip) => deliveredTo(box.net, ip) !== undefined && deliveredTo(box.net, ip) !== name)
            ? true
            : undefined,
        { timeoutMs, intervalMs: 50 },
      );
      turns.push({
        node: name,
        held,
        handOverMs: Date.now() - turnAt,
        startedAt: turnAt,
        ...(movedAt === undefined ? {} : { movedAt }),
      });
      await box.replaceNode(name, options.gateway, timeoutMs);
      await waitForSteadyTraffic(probes, options.expected, { after: Date.now(), consecutive: 20, timeoutMs });
    }
    // Let the requests in flight land.
    await new Promise((r) => setTimeout(r, 1100));
  } finally {
    box.net.vpc.off('applied', onApplied);
  }
  return measure(options, probes, turns, moves, started);
}

function measure(
  options: RollOptions,
  probes: ProbeSamples,
  turns: readonly NodeTurn[],
  moves: number,
  started: number,
): RollResult {
  const windows = new Map<string, OutageWindow[]>();
  let requests = 0;
  let failed = 0;
  let slowestMs = 0;
  let worstMs = 0;
  for (const [pod, all] of probes.samples) {
    const during: ProbeSample[] = all.filter((s) => s.sentAt >= started);
    requests += during.length;
    for (const s of during) {
      if (!isGood(s, options.expected)) failed++;
      else slowestMs = Math.max(slowestMs, s.ms);
    }
    const list = outageWindows(during, options.expected);
    windows.set(pod, list);
    for (const w of list) worstMs = Math.max(worstMs, w.ms);
  }
  return {
    mode: options.mode,
    turns,
    moves,
    expectedMoves: turns.reduce((n, t) => n + t.held.length, 0),
    requests,
    failed,
    slowestMs,
    windows,
    worstMs,
    tookMs: Date.now() - started,
  };
}

/** One line about a roll, for logs. */
export function describeRoll(r: RollResult): string {
  const turns = r.turns.map((t) => `${t.node}: [${t.held.join(', ')}] ${t.handOverMs} ms`).join('; ');
  const causes = new Map<string, number>();
  for (const list of r.windows.values()) {
    for (const w of list)
      for (const [c, n] of Object.entries(w.causes)) causes.set(c, (causes.get(c) ?? 0) + n);
  }
  const why = [...causes].map(([c, n]) => `${n}× ${c}`).join(', ');
  const when = windowTimes(r);
  return `${r.mode}: ${r.failed} of ${r.requests} requests failed${why ? ` (${why})` : ''}${when ? ` [${when}]` : ''}, slowest ${r.slowestMs.toFixed(0)} ms, worst window ${r.worstMs.toFixed(0)} ms, moves ${r.moves} (expected ${r.expectedMoves}), ${(r.tookMs / 1000).toFixed(0)} s; ${turns}`;
}

/**
 * Where each outage window fell in its node's turn: `gw-a1 +4.31 s (VPC +2.40 s) 15:52:10.123Z`, the window's
 * first bad request after the turn's start, beside the VPC's first move of the turn; the first eight (pure).
 */
export function windowTimes(r: Pick<RollResult, 'turns' | 'windows'>): string {
  const sec = (ms: number) => `+${(ms / 1000).toFixed(2)} s`;
  const out: string[] = [];
  for (const list of r.windows.values()) {
    for (const w of list) {
      const turn = r.turns.findLast((t) => t.startedAt <= w.from);
      if (!turn) continue;
      const moved = turn.movedAt === undefined ? '' : ` (VPC ${sec(turn.movedAt - turn.startedAt)})`;
      out.push(
        `${turn.node} ${sec(w.from - turn.startedAt)}${moved} ${new Date(w.from).toISOString().slice(11)}`,
      );
    }
  }
  const shown = out.slice(0, 8).join('; ');
  return out.length > 8 ? `${shown}; and ${out.length - 8} more` : shown;
}
