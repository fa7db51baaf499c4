/**
 * @module
 * The whole cloud in a box: a real control plane, LocalStack, the namespace VPC, Node and Pod objects,
 * one `cloud-egress agent` process per node namespace and `cloud-egress controller` replicas (leader
 * election) on the worker nodes, all reaching the control plane and LocalStack through the nodes' own
 * forwarders, so killing a node cuts everything on it.
 *
 * ```
 * startCloudBox()
 *   ├─ startControlPlane()                 kube-apiserver + etcd on the host's loopback
 *   ├─ startNetworkBox()                   LocalStack world, namespaces, VPC sync, echo server
 *   ├─ HostBridge (unix sockets)           apiserver and LocalStack ports, for the nodes
 *   ├─ Nodes, Pods, EgressGateway "box", EgressPolicy shop/to-partner (egressIPs: one IP in zone a)
 *   │    (`podNetwork: 'vpcCni'`: also an aws-node Pod per node, and a dedicated egress ENI per gateway node)
 *   │    (`publicEgress`: an internet gateway, an Elastic IP paired with the egress IP, the internet a destination)
 *   │    (`dualStack`: IPv6 everywhere, the gateway's IPv6 ranges, the policy's IPv6 egress IP and destinations)
 *   └─ per node: ns-forward, agent;  on wk-a and wk-b: a controller replica
 * killNode(): NIC down + every process on the node SIGKILLed (a power cut)
 * restartAgent(): a DaemonSet rollout: agent Pod deleted, agent SIGTERMed, a new Pod and agent later
 * recoverNode(): NIC up, forwarder and agent (and controller) started again
 * stop(): processes, bridge, network box, control plane — in that order, whatever failed before
 * ```
 */
import { access } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LocalStack } from '../../localstack/localstack.ts';
import { AWS_NODE_PODS } from '../../src/controller/cluster-facts.ts';
import { type ControlPlane, startControlPlane } from '../harness/control-plane.ts';
import { eventually } from '../support/eventually.ts';
import { killProcessesIn } from '../support/netns.ts';
import { allocateElasticIp, ipv6In } from './aws-world.ts';
import { deliveredTo, doubleHeldIps, holdersInCloud } from './cloud-state.ts';
import { HostBridge } from './host-bridge.ts';
import { KubeObjects } from './kube-objects.ts';
import { ECHO_URL, ECHO_URL6, FIXTURES, type NetworkBox, startNetworkBox } from './network-box.ts';
import { NsProcess } from './ns-process.ts';
import type { ProbeSample } from './outage.ts';
import { type BoxNode, type BoxPod, EGRESS_ENI, INTERNET, VPC, VPC6, ZONES } from './topology.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The CLI entry point the box runs. */
export const CLI = join(root, 'src', 'cli', 'main.ts');
const FORWARD = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'ns-forward.ts');

/** Namespace, names and addresses of the box's one policy. */
export const BOX_POLICY = {
  namespace: 'shop',
  name: 'to-partner',
  gateway: 'box',
  egressIPs: ['10.0.1.100'],
  gatewayIps: ['10.0.1.100-10.0.1.109', '10.0.2.100-10.0.2.109'],
  podLabels: { app: 'api' },
} as const;

/** Where the leader election's Lease lives. */
export const LEASE = { namespace: 'cloud-egress', name: 'cloud-egress-controller' } as const;

/** The agent Pods (one per node, in the Lease's namespace), as the chart's DaemonSet labels them. */
export const AGENT_PODS = { namespace: LEASE.namespace, labels: { app: 'cloud-egress-agent' } } as const;

/** Pods of the box: one selected pod on each worker. */
export const BOX_PODS: Record<string, readonly string[]> = { 'wk-a': ['api-a'], 'wk-b': ['api-b'] };

/** Options of {@link startCloudBox}. */
export interface CloudBoxOptions {
  /** `aws` moves IPs in LocalStack; `none` never touches the cloud (on-prem behaviour). */
  readonly provider: 'aws' | 'none';
  /** Controller replicas (on wk-a, wk-b). Default 2. */
  readonly controllers?: 1 | 2;
  /** Use this LocalStack (not stopped by the box). */
  readonly localStack?: LocalStack;
  /** Controller flags added last (e.g. faster probes). */
  readonly controllerFlags?: readonly string[];
  /** Agent flags added last (e.g. another return path). */
  readonly agentFlags?: readonly string[];
  /** The cloud endpoint the controllers use (default LocalStack's; a fault proxy in front of it for chaos). */
  readonly cloudEndpoint?: string;
  /** Log level of agents and controllers (default info). */
  readonly logLevel?: string;
  /** Called after each start-up phase with its duration in ms. */
  readonly onPhase?: (phase: string, ms: number) => void;
  /**
   * The pods' network (default `box`, Flannel-like). `vpcCni` is the EKS default's shape (topology.ts): pods on
   * VPC addresses, an aws-node Pod on every node (so the controller knows the VPC CNI runs), and the egress IPs
   * on each gateway node's dedicated ENI, which the controller selects by its tag and the agent uses as
   * `--egress-interface`.
   */
  readonly podNetwork?: 'box' | 'vpcCni';
  /**
   * Public egress: the VPC gets an internet gateway and the internet an echo server (topology.ts, `INTERNET`),
   * an Elastic IP is allocated and paired with the policy's egress IP in the gateway's `spec.publicAddresses`,
   * and the policy's destinations include the internet. Off by default.
   */
  readonly publicEgress?: boolean;
  /**
   * Dual stack (network-box.ts): besides the IPv4 ones, the gateway gets an IPv6 range in each zone's subnet
   * (`<subnet>::100-<subnet>::109`), the policy a second egress IP, `<zone a subnet>::100`
   * ({@link CloudBox.egressIPs}), and the echo server's IPv6 network as a destination. The box pod network only.
   */
  readonly dualStack?: boolean;
}

/** Controller timings of the box: sub-second health probes, a short Lease. */
export const BOX_CONTROLLER_FLAGS = [
  '--probe-interval',
  '100ms',
  '--probe-misses',
  '3',
  '--lease-duration',
  '2s',
  '--renew-deadline',
  '1500ms',
  '--retry-period',
  '250ms',
  '--probe-damping',
  '3s',
  '--resync-period',
  '5s',
  '--agent-pod-selector',
  'app=cloud-egress-agent',
  '--agent-pod-namespace',
  AGENT_PODS.namespace,
] as const;

/** Why the box cannot run its agents and controllers yet, or undefined. */
export async function cliUnavailable(): Promise<string | undefined> {
  try {
    await access(CLI);
  } catch {
    return `${CLI} is missing`;
  }
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(CLI, 'utf8');
  for (const command of ['controller', 'agent']) {
    if (!text.includes(`'${command}'`)) return `the CLI has no "${command}" command yet`;
  }
  return undefined;
}

interface NodeProcesses {
  forward?: NsProcess;
  agent?: NsProcess;
  controller?: NsProcess;
}

/** The running box. */
export class CloudBox {
  readonly controlPlane: ControlPlane;
  readonly net: NetworkBox;
  readonly kube: KubeObjects;
  readonly #bridge: HostBridge;
  readonly #options: CloudBoxOptions;
  readonly #processes = new Map<string, NodeProcesses>();
  /** The agent Pod of each node. */
  readonly #agentPods = new Map<string, string>();
  #agentPodSerial = 0;
  readonly #controllerNodes: readonly string[];
  readonly #detections: { node: string; at: number }[] = [];
  #stopped: Promise<void> | undefined;

  /** @internal Use {@link startCloudBox}. */
  constructor(controlPlane: ControlPlane, net: NetworkBox, bridge: HostBridge, options: CloudBoxOptions) {
    this.controlPlane = controlPlane;
    this.net = net;
    this.kube = new KubeObjects(controlPlane.kubeConfig);
    this.#bridge = bridge;
    this.#options = options;
    this.#controllerNodes = ['wk-a', 'wk-b'].slice(0, options.controllers ?? 2);
  }

  /** The node called `name`. */
  node(name: string): BoxNode {
    return this.net.topology.node(name);
  }

  /** The box's selected pods. */
  get pods(): readonly BoxPod[] {
    return this.net.topology.pods;
  }

  /** The policy's egress IPs: {@link BOX_POLICY}'s, and in dual stack its IPv6 egress IP after them. */
  get egressIPs(): readonly string[] {
    const zoneA = this.net.world.ipv6?.subnets.get(ZONES[0]!.name);
    return zoneA ? [...BOX_POLICY.egressIPs, ipv6In(zoneA, '100')] : BOX_POLICY.egressIPs;
  }

  /** The echo server's URLs the probes call: its IPv4 one, and in dual stack its IPv6 one. */
  get echoUrls(): readonly string[] {
    return this.net.world.ipv6 ? [ECHO_URL, ECHO_URL6] : [ECHO_URL];
  }

  /** Nodes that run a controller replica. */
  get controllerNodes(): readonly string[] {
    return this.#controllerNodes;
  }

  #env(): Record<string, string> {
    return {
      AWS_ACCESS_KEY_ID: this.net.localStack.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: this.net.localStack.credentials.secretAccessKey,
      AWS_REGION: this.net.localStack.region,
      AWS_EC2_METADATA_DISABLED: 'true',
    };
  }

  #log(name: string): string {
    return join(this.net.dir, `${name}.log`);
  }

  /** Starts the node's forwarder and agent, waits until the agent runs, then its controller replica (if any). */
  async startNode(node: BoxNode): Promise<void> {
    await this.startAgent(node);
    this.startController(node);
  }

  /** Starts the node's forwarder and agent and waits until the agent has started. */
  async startAgent(node: BoxNode): Promise<void> {
    const procs: NodeProcesses = {};
    this.#processes.set(node.name, procs);
    procs.forward = new NsProcess({
      ns: node.ns,
      command: process.execPath,
      args: [FORWARD, ...this.#bridge.forwardArgs],
      logPath: this.#log(`${node.name}-forward`),
    });
    await procs.forward.waitForLine((l) => l === 'listening', 60_000);
    if (!this.#agentPods.has(node.name)) await this.#createAgentPod(node.name);
    await this.#spawnAgent(node, procs);
  }

  async #createAgentPod(node: string): Promise<void> {
    const name = `agent-${node}-${++this.#agentPodSerial}`;
    await this.kube.createAgentPod(AGENT_PODS.namespace, name, node, { ...AGENT_PODS.labels });
    this.#agentPods.set(node, name);
  }

  /**
   * What a DaemonSet rollout does to one node: the agent Pod is deleted (Terminating), the kubelet stops the
   * agent (SIGTERM), `downMs` pass (the new image is pulled), the old Pod goes, a new one starts its agent.
   * Resolves when the new agent has started.
   */
  async restartAgent(name: string, downMs: number): Promise<void> {
    const node = this.node(name);
    const procs = this.#processes.get(name);
    const pod = this.#agentPods.get(name);
    if (!procs?.agent || !pod) throw new Error(`${name} runs no agent`);
    await this.kube.deletePod(AGENT_PODS.namespace, pod);
    await procs.agent.stop('SIGTERM', 10_000);
    await new Promise((r) => setTimeout(r, downMs));
    await this.kube.deletePod(AGENT_PODS.namespace, pod, { force: true });
    await this.#createAgentPod(name);
    await this.#spawnAgent(node, procs);
  }

  async #spawnAgent(node: BoxNode, procs: NodeProcesses): Promise<void> {
    const level = this.#options.logLevel ?? 'info';
    const vpcCni = this.#options.podNetwork === 'vpcCni';
    procs.agent = new NsProcess({
      ns: node.ns,
      command: process.execPath,
      args: [
        CLI,
        'agent',
        '--node-name',
        node.name,
        '--node-ip',
        node.ip,
        '--interface',
        'eth0',
        '--cluster-cidr',
        // With the VPC CNI the pods' addresses are the VPC's.
        vpcCni ? VPC.cidr : node.ip6 ? `${VPC.podCidrs},${VPC6.podCidrs}` : VPC.podCidrs,
        ...(node.egressLink ? ['--egress-interface', EGRESS_ENI.device] : []),
        '--kubeconfig',
        this.controlPlane.kubeconfigPath,
        '--log-level',
        level,
        ...(this.#options.agentFlags ?? []),
      ],
      env: this.#env(),
      logPath: this.#log(`${node.name}-agent`),
    });
    await procs.agent
      .waitForLine((l) => l.includes('"agent started"'), 90_000)
      .catch((err: Error) => {
        throw new Error(
          `the agent of ${node.name} did not start (log: ${this.#log(`${node.name}-agent`)}): ${err.message}`,
        );
      });
  }

  /** Starts the node's controller replica, if it hosts one. */
  startController(node: BoxNode): void {
    const procs = this.#processes.get(node.name);
    if (procs && this.#controllerNodes.includes(node.name)) {
      const level = this.#options.logLevel ?? 'info';
      procs.controller = new NsProcess({
        ns: node.ns,
        command: process.execPath,
        args: [
          CLI,
          'controller',
          '--kubeconfig',
          this.controlPlane.kubeconfigPath,
          '--provider',
          this.#options.provider,
          '--region',
          this.net.localStack.region,
          '--endpoint',
          this.#options.cloudEndpoint ?? this.net.localStack.endpoint,
          '--owner',
          'box',
          '--identity',
          node.name,
          '--leader-election-namespace',
          LEASE.namespace,
          '--metrics-bind-address',
          '127.0.0.1:8080',
          '--health-probe-bind-address',
          '127.0.0.1:8081',
          '--log-level',
          level,
          ...BOX_CONTROLLER_FLAGS,
          ...(this.#options.podNetwork === 'vpcCni' ? ['--interface-tag', EGRESS_ENI.tag] : []),
          ...(this.#options.controllerFlags ?? []),
        ],
        env: this.#env(),
        logPath: this.#log(`${node.name}-controller`),
        onLine: (line) => this.#recordControllerEvent(line),
      });
    }
  }

  #recordControllerEvent(line: string): void {
    if (!line.includes('"node failed"')) return;
    try {
      const entry = JSON.parse(line) as { time?: number; node?: string; msg?: string };
      if (entry.msg === 'node failed' && entry.node && entry.time) {
        this.#detections.push({ node: entry.node, at: entry.time });
      }
    } catch {
      // not a log line
    }
  }

  /** When a controller replica first logged `node` as failed at or after `since` (epoch ms). */
  detectedAt(node: string, since: number): number | undefined {
    return this.#detections.find((d) => d.node === node && d.at >= since)?.at;
  }

  /** A power cut: the node's NIC goes down and every process on it dies at once. */
  async killNode(name: string): Promise<void> {
    const node = this.node(name);
    await this.net.topology.linkDown(node);
    await killProcessesIn(node.ns);
    const procs = this.#processes.get(name);
    await Promise.all([procs?.forward, procs?.agent, procs?.controller].map((p) => p?.stop('SIGKILL')));
  }

  /** The node comes back: NIC up, its processes started again. */
  async recoverNode(name: string): Promise<void> {
    const node = this.node(name);
    await this.net.topology.linkUp(node);
    await this.startNode(node);
  }

  /** The current leader's node name (controller identity = node name). */
  leader(): Promise<string | undefined> {
    return this.kube.leaseHolder(LEASE.namespace, LEASE.name);
  }

  /** The nodes whose ENI holds `ip` in LocalStack; more than one entry is a bug. */
  holdersInCloud(ip: string): Promise<string[]> {
    return holdersInCloud(this.net, ip);
  }

  /** Every IP held by two or more ENIs (must stay empty). */
  doubleHeldIps(): Promise<string[]> {
    return doubleHeldIps(this.net);
  }

  /** The node the VPC delivers `ip` to right now. */
  deliveredTo(ip: string): string | undefined {
    return deliveredTo(this.net, ip);
  }

  /**
   * Starts a 20 req/s probe in each pod to each of `urls` (by default the echo server's, {@link echoUrls});
   * `stop()` returns the samples of each probe, keyed by the pod's name (with one URL) or by
   * {@link ProbeRun.key} (with more).
   */
  startProbes(
    pods: readonly BoxPod[] = this.pods,
    rate = 20,
    urls: string | readonly string[] = this.echoUrls,
  ): ProbeRun {
    return new ProbeRun(pods, rate, (name) => this.#log(name), typeof urls === 'string' ? [urls] : urls);
  }

  /** With `publicEgress`: the Elastic IP paired with the policy's egress IP. */
  get elasticIp(): string | undefined {
    return this.#options.publicEgress ? INTERNET.firstElasticIp : undefined;
  }

  /** Stops everything (idempotent). */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      for (const procs of this.#processes.values()) {
        await Promise.all(
          [procs.controller, procs.agent, procs.forward].map((p) => p?.stop('SIGTERM', 3000).catch(() => {})),
        );
      }
      await this.#bridge.stop();
      await this.net.stop();
      await this.controlPlane.stop();
    })();
    return this.#stopped;
  }
}

/** Probes running in pods. */
export class ProbeRun {
  readonly samples = new Map<string, ProbeSample[]>();
  readonly #procs: NsProcess[] = [];

  /** The samples' key of the probe in `pod` to `url` when a run calls several URLs: `<pod> <URL's host>`. */
  static key(pod: string, url: string): string {
    return `${pod} ${new URL(url).hostname}`;
  }

  constructor(
    pods: readonly BoxPod[],
    rate: number,
    logPath: (name: string) => string,
    urls: readonly string[] = [ECHO_URL],
  ) {
    for (const pod of pods) {
      for (const url of urls) {
        const list: ProbeSample[] = [];
        const key = urls.length === 1 ? pod.name : ProbeRun.key(pod.name, url);
        this.samples.set(key, list);
        this.#procs.push(
          new NsProcess({
            ns: pod.ns,
            command: process.execPath,
            args: [FIXTURES.probe, url, String(rate), '1000'],
            logPath: logPath(`probe-${key.replace(/[^\w.-]+/g, '_')}`),
            onLine: (line) => {
              if (line.startsWith('{')) list.push(JSON.parse(line) as ProbeSample);
            },
          }),
        );
      }
    }
  }

  /** Waits until every probe has recorded `n` samples more than now. */
  async waitForSamples(n: number, timeoutMs = 30_000): Promise<void> {
    const target = new Map([...this.samples].map(([k, v]) => [k, v.length + n]));
    await eventually(
      `every probe to record ${n} more samples (samples per pod)`,
      async () => Object.fromEntries([...this.samples].map(([pod, s]) => [pod, s.length])),
      { until: (counts) => Object.entries(counts).every(([pod, c]) => c >= target.get(pod)!), timeoutMs },
    );
  }

  /** Stops the probes (each finishes its requests in flight) and returns the samples per pod. */
  async stop(): Promise<Map<string, ProbeSample[]>> {
    await Promise.all(this.#procs.map((p) => p.stop('SIGTERM', 5000)));
    return this.samples;
  }
}

/** Builds the box; on failure removes whatever was built. */
export async function startCloudBox(options: CloudBoxOptions): Promise<CloudBox> {
  let last = performance.now();
  const report = (phase: string) => {
    const now = performance.now();
    options.onPhase?.(phase, now - last);
    last = now;
  };
  const controlPlane = await startControlPlane();
  report('control plane');
  let net: NetworkBox | undefined;
  let bridge: HostBridge | undefined;
  let box: CloudBox | undefined;
  try {
    const vpcCni = options.podNetwork === 'vpcCni';
    net = await startNetworkBox({
      pods: BOX_PODS,
      podNetwork: vpcCni ? 'vpcCni' : 'box',
      internet: options.publicEgress ?? false,
      dualStack: options.dualStack ?? false,
      ...(options.localStack ? { localStack: options.localStack } : {}),
    });
    report('network box');
    const lsPort = Number(new URL(options.cloudEndpoint ?? net.localStack.endpoint).port);
    const apiPort = Number(new URL(controlPlane.server).port);
    bridge = await HostBridge.start(net.dir, [apiPort, lsPort]);
    box = new CloudBox(controlPlane, net, bridge, options);
    const kube = box.kube;
    await kube.namespace(LEASE.namespace);
    await kube.namespace(BOX_POLICY.namespace);
    // EKS gives nodes no pod CIDR where the VPC CNI runs; its aws-node DaemonSet runs a Pod on every node.
    for (const node of net.topology.nodes)
      await kube.createNode(node, net.world, vpcCni ? undefined : node.podCidr);
    if (vpcCni) {
      const labels = Object.fromEntries([AWS_NODE_PODS.labelSelector.split('=') as [string, string]]);
      for (const node of net.topology.nodes)
        await kube.createAgentPod(AWS_NODE_PODS.namespace, `aws-node-${node.name}`, node.name, labels);
    }
    for (const pod of net.topology.pods)
      await kube.createPod(pod, BOX_POLICY.namespace, { ...BOX_POLICY.podLabels });
    const publicAddresses = new Map<string, string>();
    if (options.publicEgress) {
      const allocation = await allocateElasticIp(net.world, INTERNET.firstElasticIp);
      publicAddresses.set(BOX_POLICY.egressIPs[0], allocation);
    }
    const subnets6 = [...(net.world.ipv6?.subnets.values() ?? [])];
    const gatewayIps = [
      ...BOX_POLICY.gatewayIps,
      ...subnets6.map((subnet) => `${ipv6In(subnet, '100')}-${ipv6In(subnet, '109')}`),
    ];
    await kube.createGateway(BOX_POLICY.gateway, gatewayIps, {}, publicAddresses);
    await kube.createPolicy(BOX_POLICY.namespace, BOX_POLICY.name, {
      gatewayName: BOX_POLICY.gateway,
      podSelector: { ...BOX_POLICY.podLabels },
      egressIPs: box.egressIPs,
      destinationCIDRs: [
        VPC.echoCidr,
        ...(options.publicEgress ? [INTERNET.cidr] : []),
        ...(options.dualStack ? [VPC6.echoCidr] : []),
      ],
    });
    report('cloud world and Kubernetes objects');
    const agents = net.topology.nodes;
    await Promise.all(agents.map((node) => box!.startAgent(node)));
    report('agents');
    for (const node of agents) box.startController(node);
    report('controllers');
    return box;
  } catch (err) {
    if (box) await box.stop();
    else {
      await bridge?.stop();
      await net?.stop();
      await controlPlane.stop();
    }
    throw err;
  }
}
