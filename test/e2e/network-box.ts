/**
 * @module
 * The box's network and cloud, without Kubernetes: LocalStack with the VPC world, the namespaces, the VPC
 * router kept in step with LocalStack, and the echo server. {@link startNetworkBox} builds it all or, on
 * failure, removes whatever it had built before rethrowing; `stop()` removes everything.
 *
 * ```
 * startLocalStack ─► createAwsWorld (instances = node IPs) ─► topology.build ─► VpcSync.start ─► echo server(s)
 * (dual stack: the world first gives the VPC's IPv6 /56 and the nodes' IPv6 addresses the topology is built with)
 * stop(): echo, VpcSync, topology.destroy (namespaces, links, processes inside), LocalStack
 * ```
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LocalStack, startLocalStack } from '../../localstack/localstack.ts';
import { type AwsWorld, addVpcCniState, createAwsWorld, destroyAwsWorld } from './aws-world.ts';
import { NsProcess } from './ns-process.ts';
import {
  type BoxNode,
  DEFAULT_NODES,
  INTERNET,
  type NodeSpec,
  type PodNetwork,
  Topology,
  type UplinkSpec,
  VPC,
  VPC6,
} from './topology.ts';
import { VpcSync } from './vpc-sync.ts';

const here = dirname(fileURLToPath(import.meta.url));
/** Scripts run inside namespaces. */
export const FIXTURES = {
  echoServer: join(here, 'fixtures', 'echo-server.ts'),
  probe: join(here, 'fixtures', 'probe.ts'),
  requestOnce: join(here, 'fixtures', 'request-once.ts'),
} as const;

/** The echo server's URL (inside the box). */
export const ECHO_URL = `http://${VPC.echoIp}:${VPC.echoPort}/`;
/** The echo server's IPv6 URL (in dual stack). */
export const ECHO_URL6 = `http://[${VPC6.echoIp}]:${VPC.echoPort}/`;
/** The internet echo server's URL (with the `internet` option). */
export const INTERNET_ECHO_URL = `http://${INTERNET.echoIp}:${VPC.echoPort}/`;

/** One request the echo server answered. */
export interface EchoRecord {
  /** Epoch ms. */
  readonly at: number;
  readonly source: string;
}

/** Options of {@link startNetworkBox}. */
export interface NetworkBoxOptions {
  readonly nodes?: readonly NodeSpec[];
  /** Node name -> pod names. */
  readonly pods?: Record<string, readonly string[]>;
  /** VPC poll interval (default 50 ms). */
  readonly vpcIntervalMs?: number;
  /** Use this LocalStack instead of starting one (it is then not stopped). */
  readonly localStack?: LocalStack;
  /** Who builds the pods' network (default `box`: the topology's own pod namespaces). */
  readonly podNetwork?: PodNetwork;
  /** Networks outside the VPC attached to its router besides the echo server's. */
  readonly uplinks?: readonly UplinkSpec[];
  /**
   * The internet behind an internet gateway (topology.ts, `INTERNET`): the router NATs Elastic IPs 1:1 as
   * LocalStack associates them, and a second echo server answers there. Off by default.
   */
  readonly internet?: boolean;
  /**
   * Dual stack (topology.ts, aws-world.ts): the VPC, subnets and nodes get IPv6 addresses, pods an IPv6 address
   * each, the echo server answers on {@link ECHO_URL6} too. The box pod network only. Off by default.
   */
  readonly dualStack?: boolean;
}

/** The running network box. */
export interface NetworkBox {
  readonly topology: Topology;
  readonly localStack: LocalStack;
  readonly world: AwsWorld;
  readonly vpc: VpcSync;
  /** Every request the echo server answered, in order. */
  readonly echoLog: readonly EchoRecord[];
  /** Every request the internet's echo server answered, in order (empty without the `internet` option). */
  readonly internetLog: readonly EchoRecord[];
  /** A folder for logs of this run (removed by stop()). */
  readonly dir: string;
  /** The router link of a node. */
  linkOf(node: BoxNode): string;
  /** One HTTP request from a namespace. */
  request(ns: string, url: string, localAddress?: string, timeoutMs?: number): Promise<RequestResult>;
  /** Starts a named echo server in a namespace (answers with `x-served-by: name`). */
  serveIn(ns: string, name: string): Promise<NsProcess>;
  stop(): Promise<void>;
}

/** What {@link NetworkBox.request} got. */
export interface RequestResult {
  readonly source?: string;
  readonly servedBy?: string;
  readonly error?: string;
}

async function startEcho(
  ns: string,
  logPath: string,
  name?: string,
  log?: EchoRecord[],
  ipv6 = false,
): Promise<NsProcess> {
  const echo = new NsProcess({
    ns,
    command: process.execPath,
    args: [FIXTURES.echoServer, String(VPC.echoPort), name ?? '', ...(ipv6 ? ['ipv6'] : [])],
    logPath,
    onLine: (line) => {
      if (log && line.startsWith('{')) log.push(JSON.parse(line) as EchoRecord);
    },
  });
  await echo.waitForLine((l) => l === 'listening', 15_000);
  return echo;
}

/** Builds the network box (see the module comment). */
export async function startNetworkBox(options: NetworkBoxOptions = {}): Promise<NetworkBox> {
  const nodes = options.nodes ?? DEFAULT_NODES;
  const dir = await mkdtemp(join(tmpdir(), 'cloud-egress-box-'));
  const topology = new Topology();
  const processes: NsProcess[] = [];
  let localStack: LocalStack | undefined = options.localStack;
  let vpc: VpcSync | undefined;
  let world: AwsWorld | undefined;
  const cleanup = async () => {
    for (const p of processes.reverse()) await p.stop('SIGKILL').catch(() => {});
    await vpc?.stop().catch(() => {});
    if (world) await destroyAwsWorld(world);
    await topology.destroy();
    if (!options.localStack) await localStack?.stop().catch(() => {});
    // CLOUD_EGRESS_E2E_KEEP_LOGS=1 keeps the processes' logs for a post-mortem.
    if (process.env['CLOUD_EGRESS_E2E_KEEP_LOGS']) process.stderr.write(`box logs kept in ${dir}\n`);
    else await rm(dir, { recursive: true, force: true });
  };
  try {
    localStack ??= await startLocalStack();
    const internet: UplinkSpec[] = options.internet
      ? [
          {
            name: INTERNET.link,
            address: INTERNET.echoIp,
            router: INTERNET.router,
            prefixLength: INTERNET.prefixLength,
          },
        ]
      : [];
    const uplinks = [...(options.uplinks ?? []), ...internet];
    world = await createAwsWorld(localStack, nodes, { dualStack: options.dualStack ?? false });
    await topology.build(nodes, options.pods ?? {}, {
      podNetwork: options.podNetwork ?? 'box',
      uplinks,
      ...(world.ipv6 ? { ipv6: world.ipv6 } : {}),
    });
    if (options.podNetwork === 'vpcCni') await addVpcCniState(world, topology.nodes, topology.pods);
    const ofInstance = new Map<string, string>();
    const ofEni = new Map<string, string>();
    for (const node of topology.nodes) {
      ofInstance.set(world.instances.get(node.name)!, node.vpcLink);
      const egressEni = world.egressEnis.get(node.name);
      if (egressEni && node.egressLink) ofEni.set(egressEni, node.egressLink);
    }
    vpc = new VpcSync({
      ec2: world.ec2,
      vpcId: world.vpcId,
      ns: topology.vpc,
      links: { ofInstance, ofEni },
      uplink: ['echo', ...uplinks.map((u) => u.name)],
      ...(options.internet ? { internet: INTERNET.link } : {}),
      intervalMs: options.vpcIntervalMs ?? 50,
    });
    await vpc.start();
    const echoLog: EchoRecord[] = [];
    processes.push(
      await startEcho(topology.echo, join(dir, 'echo.log'), undefined, echoLog, options.dualStack ?? false),
    );
    const internetLog: EchoRecord[] = [];
    if (options.internet) {
      const ns = topology.uplink(INTERNET.link);
      processes.push(await startEcho(ns, join(dir, 'internet-echo.log'), undefined, internetLog));
    }
    const sync = vpc;
    const stack = localStack;
    let stopped: Promise<void> | undefined;
    return {
      topology,
      localStack: stack,
      world,
      vpc: sync,
      echoLog,
      internetLog,
      dir,
      linkOf: (node) => node.vpcLink,
      async request(ns, url, localAddress, timeoutMs = 1500) {
        const out: string[] = [];
        const p = new NsProcess({
          ns,
          command: process.execPath,
          args: [FIXTURES.requestOnce, url, localAddress ?? '', String(timeoutMs)],
          onLine: (l) => out.push(l),
        });
        await p.exited;
        return JSON.parse(out[0] ?? '{"error":"no output"}') as RequestResult;
      },
      async serveIn(ns, name) {
        const p = await startEcho(ns, join(dir, `serve-${name}.log`), name);
        processes.push(p);
        return p;
      },
      stop() {
        stopped ??= cleanup();
        return stopped;
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
