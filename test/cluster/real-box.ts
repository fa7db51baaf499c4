/**
 * @module
 * The cloud in a box on real nodes: LocalStack as AWS and the namespace VPC (test/e2e/network-box.ts), a
 * real cluster whose nodes are those namespaces (kubelet + containerd + kube-proxy each, test/cluster/), the
 * project's image built from its Dockerfile and preloaded into every node, and cloud-egress installed with
 * `helm install charts/cloud-egress`: the controller as the chart's Deployment (two replicas, leader
 * election), the agent as the chart's DaemonSet. The selected pods are a Deployment of probes; the echo
 * server stays outside the VPC.
 *
 * ```
 * startRealBox()
 *   ├─ ensureImage (Dockerfile → buildah), pause image          cached by content hash
 *   ├─ startNetworkBox (pod network: the CNI's)                  LocalStack, VPC, echo, control-plane uplink
 *   ├─ startCluster                                              API server, controller-manager, scheduler, 4 kubelets
 *   ├─ Secret (LocalStack's keys), helm install --wait           values: BOX_VALUES + image + endpoint
 *   ├─ EgressGateway "box", EgressPolicy shop/to-partner         (the same objects as the process box)
 *   └─ ConfigMap + Deployment shop/api: 2 probe pods, one per worker, 20 req/s each
 * killNode(): NIC down, then every process of the node (kubelet, containerd, shims, pods) SIGKILLed
 * recoverNode(): NIC up, the node boots again (its pods come back through the kubelet)
 * stop(): the cluster, the network box — whatever failed before
 * ```
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppsV1Api, CoreV1Api, type V1DaemonSet, type V1Pod } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { LocalStack } from '../../localstack/localstack.ts';
import { DEFAULT_DATAPLANE_SETTINGS } from '../../src/agent/settings.ts';
import { deliveredTo, doubleHeldIps, holdersInCloud } from '../e2e/cloud-state.ts';
import { GATEWAY_LABEL, KubeObjects } from '../e2e/kube-objects.ts';
import { type NetworkBox, startNetworkBox } from '../e2e/network-box.ts';
import type { ProbeSample } from '../e2e/outage.ts';
import { waitForHolder, waitForSteadyTraffic } from '../e2e/scenario.ts';
import { CNI_OVERLAY, DEFAULT_NODES, type NodeSpec, type UplinkSpec, VPC } from '../e2e/topology.ts';
import type { CommandResult } from '../harness/command.ts';
import { runCommand } from '../harness/command.ts';
import type { ControlPlane } from '../harness/control-plane.ts';
import { SERVICE_CIDR } from '../harness/control-plane.ts';
import { eventually } from '../support/eventually.ts';
import { CLUSTER_CIDR, type Cluster, startCluster } from './cluster.ts';
import { type BuiltImage, ensureImage, ensurePauseImage, PAUSE_IMAGE } from './image.ts';
import { ensureNodeTemplate } from './node-template.ts';
import { PodLogTail } from './pod-logs.ts';
import { reapDeadBoxes, registerBox } from './reaper.ts';

const here = dirname(fileURLToPath(import.meta.url));
/** The chart under test. */
export const CHART_DIR = join(here, '..', '..', 'charts', 'cloud-egress');
const PROBE_SCRIPT = join(here, '..', 'e2e', 'fixtures', 'probe.ts');

/** The real-node box's nodes: two gateways in zone a, a worker in each zone (controllers and probes). */
export const REAL_NODES: readonly NodeSpec[] = DEFAULT_NODES.filter((n) =>
  ['gw-a1', 'gw-a2', 'wk-a', 'wk-b'].includes(n.name),
);
/** Workers carry this label (the controllers' and the probes' node selector). */
export const ROLE_LABEL = 'box.cloudegress.io/role';
/** The control plane's network outside the VPC (like a managed control plane's endpoint). */
export const CP_UPLINK: UplinkSpec = {
  name: 'cp',
  address: '192.0.2.10',
  router: '192.0.2.1',
  prefixLength: 24,
};

/** The release, its namespace and the box's policy. */
export const RELEASE = { name: 'cloud-egress', namespace: 'cloud-egress' } as const;
export const BOX_POLICY = {
  namespace: 'shop',
  name: 'to-partner',
  gateway: 'box',
  egressIPs: ['10.0.1.100'],
  gatewayIps: ['10.0.1.100-10.0.1.109'],
  podLabels: { app: 'api' },
} as const;
/** The probes' Deployment. */
export const PROBES = { namespace: BOX_POLICY.namespace, name: 'api' } as const;
/** The Secret that carries LocalStack's keys to the controller. */
const CREDENTIALS_SECRET = 'cloud-egress-aws-credentials';

/** Options of {@link startRealBox}. */
export interface RealBoxOptions {
  /** Use this LocalStack (not stopped by the box). */
  readonly localStack?: LocalStack;
  /** Chart values merged over the box's (e.g. faster probes for the benchmark). */
  readonly values?: Record<string, unknown>;
  /** Called after each start-up phase with its duration in ms. */
  readonly onPhase?: (phase: string, ms: number) => void;
}

/** Controller timings that a busy 2-core machine does not mistake for failures (2 s to detect). */
export const ROBUST_PROBE_VALUES = { interval: '500ms', misses: 4, damping: '3s' } as const;

/** The box's chart values (provider aws, endpoint = LocalStack in the box, image preloaded). */
export function boxValues(image: BuiltImage, endpoint: string, region: string): Record<string, unknown> {
  const secretEnv = (name: string) => ({
    name,
    valueFrom: { secretKeyRef: { name: CREDENTIALS_SECRET, key: name } },
  });
  return {
    image: { repository: image.repository, tag: image.tag, pullPolicy: 'Never' },
    cloud: { provider: 'aws', region, endpoint, owner: 'box' },
    controller: {
      replicas: 2,
      nodeSelector: { [ROLE_LABEL]: 'worker' },
      // One replica per worker, so a worker's death takes at most one; with two workers a rollout must stop
      // a replica before it starts one (the chart's default surges first).
      podAntiAffinity: 'hard',
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      leaderElection: { leaseDuration: '2s', renewDeadline: '1500ms', retryPeriod: '250ms' },
      probe: { ...ROBUST_PROBE_VALUES },
      resyncPeriod: '5s',
      extraEnv: [
        secretEnv('AWS_ACCESS_KEY_ID'),
        secretEnv('AWS_SECRET_ACCESS_KEY'),
        // Never ask an instance metadata service (there is none in the box).
        { name: 'AWS_EC2_METADATA_DISABLED', value: 'true' },
      ],
    },
    agent: { clusterCIDRs: [CLUSTER_CIDR, SERVICE_CIDR], interface: 'eth0', pauseImage: PAUSE_IMAGE },
  };
}

/** Deep merge of plain objects (arrays and scalars of `over` win). */
function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)
        ? merge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/** The running real-node box. */
export class RealBox {
  readonly net: NetworkBox;
  readonly cluster: Cluster;
  readonly image: BuiltImage;
  readonly kube: KubeObjects;
  /** Probe samples per probe pod, from the pods' logs on the nodes' disks. */
  readonly samples = new Map<string, ProbeSample[]>();
  readonly #detections: { node: string; at: number }[] = [];
  readonly #reboots: { node: string; from: number; to: number }[] = [];
  readonly #tails: PodLogTail[] = [];
  readonly #valuesFile: string;
  readonly #unregister: () => Promise<void>;
  #stopped: Promise<void> | undefined;

  /** @internal Use {@link startRealBox}. */
  constructor(
    net: NetworkBox,
    cluster: Cluster,
    image: BuiltImage,
    valuesFile: string,
    unregister: () => Promise<void>,
  ) {
    this.net = net;
    this.#unregister = unregister;
    this.cluster = cluster;
    this.image = image;
    this.kube = new KubeObjects(cluster.controlPlane.kubeConfig);
    this.#valuesFile = valuesFile;
  }

  get controlPlane(): ControlPlane {
    return this.cluster.controlPlane;
  }

  /** The box's values file (for `helm upgrade -f`). */
  get valuesFile(): string {
    return this.#valuesFile;
  }

  /**
   * Follows the probe pods' and the controllers' logs on every node's disk. With `CLOUD_EGRESS_E2E_KEEP_LOGS`
   * set, every line of cloud-egress's own Pods (controllers, agents, cleanup) is also copied to
   * `<box dir>/pods/<pod>_<container>.log`, since the kubelet deletes a Pod's logs with the Pod.
   */
  followLogs(): void {
    const dirs = [...this.cluster.nodes.values()].map((n) => n.podLogsDir);
    if (process.env['CLOUD_EGRESS_E2E_KEEP_LOGS'] !== undefined) {
      const out = join(this.net.dir, 'pods');
      mkdirSync(out, { recursive: true });
      this.#tails.push(
        new PodLogTail(
          dirs,
          (s) => s.namespace === RELEASE.namespace,
          (s, line) => appendFileSync(join(out, `${s.pod}_${s.container}.log`), `${line}\n`),
        ).start(250),
      );
    }
    this.#tails.push(
      new PodLogTail(
        dirs,
        (s) => s.namespace === PROBES.namespace && s.container === 'probe',
        (s, line) => {
          if (!line.startsWith('{')) return;
          const list = this.samples.get(s.pod) ?? [];
          if (list.length === 0) this.samples.set(s.pod, list);
          list.push(JSON.parse(line) as ProbeSample);
        },
      ).start(),
      new PodLogTail(
        dirs,
        (s) => s.namespace === RELEASE.namespace && s.container === 'controller',
        (_s, line) => {
          if (!line.includes('"node failed"')) return;
          try {
            const entry = JSON.parse(line) as { time?: number; node?: string; msg?: string };
            if (entry.msg === 'node failed' && entry.node && entry.time) {
              this.#detections.push({ node: entry.node, at: entry.time });
            }
          } catch {
            // not a log line
          }
        },
      ).start(),
    );
  }

  /** When a controller replica first logged `node` as failed at or after `since` (epoch ms). */
  detectedAt(node: string, since: number): number | undefined {
    return this.#detections.find((d) => d.node === node && d.at >= since)?.at;
  }

  /** Runs helm against the box's cluster. */
  helm(
    args: readonly string[],
    options: { check?: boolean; timeoutMs?: number } = {},
  ): Promise<CommandResult> {
    return this.controlPlane.helm(args, { timeoutMs: 600_000, ...options });
  }

  /** Runs kubectl against the box's cluster. */
  kubectl(
    args: readonly string[],
    options: { check?: boolean; input?: string } = {},
  ): Promise<CommandResult> {
    return this.controlPlane.kubectl(args, options);
  }

  /** A power cut: the node's NIC goes down and every process of the node dies at once. */
  async killNode(name: string): Promise<void> {
    const node = this.net.topology.node(name);
    await this.net.topology.linkDown(node);
    await this.cluster.node(name).powerCut();
  }

  /** The node comes back: NIC up, it boots, and its agent Pod is Ready again. */
  async recoverNode(name: string): Promise<void> {
    const from = Date.now();
    const node = this.net.topology.node(name);
    await this.net.topology.linkUp(node);
    await this.cluster.bootNode(name);
    // The Pod's status still says Ready from before the power cut until the kubelet reports again.
    await this.waitForAgents([name], { startedAfter: from });
    this.#reboots.push({ node: name, from, to: Date.now() });
  }

  /**
   * Boots of killed nodes: from the NIC coming up until the node's agent Pod was Ready. A pod on the node
   * may start before its agent does (kubelet restarts both in no order).
   */
  get reboots(): readonly { node: string; from: number; to: number }[] {
    return this.#reboots;
  }

  /**
   * What the kernel of `name` does with pod egress right now, for a post-mortem: the agent's rules, routes,
   * tunnel peers and nftables table, the pod overlay's peers, and conntrack's entries towards the echo
   * server. Each command's failure is reported in its place.
   */
  async dataplaneReport(name: string): Promise<string> {
    const node = this.net.topology.node(name);
    const { nftTable, tunnelName } = DEFAULT_DATAPLANE_SETTINGS;
    const commands: [string, string[]][] = [
      ['ip', ['rule']],
      ['ip', ['route', 'show', 'table', 'all', 'proto', 'static']],
      ['ip', ['route']],
      ['ip', ['-d', 'link', 'show', tunnelName]],
      ['ip', ['neigh', 'show', 'dev', tunnelName]],
      ['bridge', ['fdb', 'show', 'dev', tunnelName]],
      ['bridge', ['fdb', 'show', 'dev', CNI_OVERLAY.device]],
      ['nft', ['list', 'table', 'inet', nftTable]],
      ['conntrack', ['-L', '-d', VPC.echoIp]],
    ];
    const out: string[] = [`--- dataplane of ${name}`];
    for (const [cmd, args] of commands) {
      const r = await node.run(cmd, args).catch((err: unknown) => ({
        stdout: '',
        stderr: err instanceof Error ? err.message : String(err),
      }));
      out.push(`$ ${cmd} ${args.join(' ')}`, r.stdout.trimEnd(), r.stderr.trimEnd());
    }
    return out.filter((l) => l !== '').join('\n');
  }

  /** Pods of the agent DaemonSet, by node. */
  async agentPods(): Promise<Map<string, V1Pod>> {
    const core = this.controlPlane.kubeConfig.makeApiClient(CoreV1Api);
    const pods = await core.listNamespacedPod({
      namespace: RELEASE.namespace,
      labelSelector: 'app.kubernetes.io/component=agent',
    });
    return new Map(pods.items.filter((p) => p.spec?.nodeName).map((p) => [p.spec!.nodeName!, p]));
  }

  /**
   * Waits until the agent Pod on each of `nodes` (default all) is Ready and not terminating, its agent
   * container started after `startedAfter` (epoch ms; one second of slack, the resolution of startedAt).
   */
  async waitForAgents(
    nodes: readonly string[] = [...this.cluster.nodes.keys()],
    options: { startedAfter?: number; timeoutMs?: number } = {},
  ): Promise<void> {
    const pendingAgents = async () => {
      const pods = await this.agentPods();
      return nodes.filter((n) => {
        const pod = pods.get(n);
        const agent = pod?.status?.containerStatuses?.find((c) => c.name === 'agent');
        const started = agent?.state?.running?.startedAt;
        const fresh =
          options.startedAfter === undefined ||
          (started !== undefined && new Date(started).getTime() >= options.startedAfter - 1000);
        return !pod || pod.metadata?.deletionTimestamp || !agent?.ready || !fresh;
      });
    };
    await eventually('the agent Pods to be Ready (the nodes still pending)', pendingAgents, {
      until: (pending) => pending.length === 0,
      timeoutMs: options.timeoutMs ?? 120_000,
      intervalMs: 250,
    });
  }

  /**
   * Waits until the agent DaemonSet's rollout is done, as docs/upgrade-uninstall.md does: helm's `--wait`
   * returns with `maxUnavailable` agent Pods still rolling.
   */
  async agentRollout(timeoutS = 300): Promise<void> {
    await this.kubectl([
      '-n',
      RELEASE.namespace,
      'rollout',
      'status',
      `daemonset/${RELEASE.name}-agent`,
      `--timeout=${timeoutS}s`,
    ]);
  }

  /** The agent DaemonSet. */
  async agentDaemonSet(): Promise<V1DaemonSet> {
    const apps = this.controlPlane.kubeConfig.makeApiClient(AppsV1Api);
    return apps.readNamespacedDaemonSet({ namespace: RELEASE.namespace, name: `${RELEASE.name}-agent` });
  }

  /** The node of the leading controller replica. */
  async leader(): Promise<string | undefined> {
    const holder = await this.kube.leaseHolder(RELEASE.namespace, `${RELEASE.name}-controller`);
    if (!holder) return undefined;
    const core = this.controlPlane.kubeConfig.makeApiClient(CoreV1Api);
    const pod = await core
      .readNamespacedPod({ namespace: RELEASE.namespace, name: holder })
      .catch(() => undefined);
    return pod?.spec?.nodeName;
  }

  /**
   * Waits until the same controller replica has led for `stableMs`. A new leader starts with no health
   * history: it fails every gateway its first probes miss and damps them (3 s here) before they may take an
   * IP, so a kill right after a leader change finds no eligible gateway for a few seconds. Under load the
   * box's short Lease (2 s) can change hands at start-up.
   */
  async settle(stableMs = 6000, timeoutMs = 120_000): Promise<void> {
    let leader: string | undefined;
    let since = Date.now();
    await eventually(
      `a controller replica to keep the lease for ${stableMs} ms (the leader's node)`,
      async () => {
        const now = await this.leader();
        if (now !== leader) {
          leader = now;
          since = Date.now();
        }
        return now;
      },
      { until: (now) => now !== undefined && Date.now() - since >= stableMs, timeoutMs, intervalMs: 250 },
    );
  }

  /** The probe pod on each worker node. */
  async probePods(): Promise<Map<string, string>> {
    const core = this.controlPlane.kubeConfig.makeApiClient(CoreV1Api);
    const pods = await core.listNamespacedPod({ namespace: PROBES.namespace, labelSelector: 'app=api' });
    return new Map(pods.items.map((p) => [p.spec!.nodeName!, p.metadata!.name!]));
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

  /** Tags an image already in every node's containerd with another tag (a "new release" of the same bits). */
  async retagImage(tag: string): Promise<BuiltImage> {
    const from = `docker.io/library/${this.image.ref}`;
    const to = `docker.io/library/${this.image.repository}:${tag}`;
    for (const node of this.cluster.nodes.values()) {
      await runCommand('ctr', [
        '--address',
        node.paths.containerdSock,
        '-n',
        'k8s.io',
        'images',
        'tag',
        '--force',
        from,
        to,
      ]);
    }
    return { ...this.image, tag, ref: `${this.image.repository}:${tag}` };
  }

  /** Imports another image archive into every node's containerd. */
  async importImage(archive: string): Promise<void> {
    for (const node of this.cluster.nodes.values()) {
      await runCommand(
        'ctr',
        ['--address', node.paths.containerdSock, '-n', 'k8s.io', 'images', 'import', archive],
        {
          timeoutMs: 300_000,
        },
      );
    }
  }

  /** Stops everything (idempotent). */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      for (const tail of this.#tails) await tail.stop().catch(() => {});
      await this.cluster.stop();
      await this.net.stop();
      await this.#unregister();
    })();
    return this.#stopped;
  }
}

/** The probes: a Deployment of two pods, one per worker, each sending 20 req/s to the echo server. */
async function probeManifests(image: BuiltImage): Promise<string> {
  const labels = { ...BOX_POLICY.podLabels };
  const docs = [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'probe', namespace: PROBES.namespace },
      data: { 'probe.ts': await readFile(PROBE_SCRIPT, 'utf8') },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: PROBES.name, namespace: PROBES.namespace },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            nodeSelector: { [ROLE_LABEL]: 'worker' },
            affinity: {
              podAntiAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: [
                  { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: labels } },
                ],
              },
            },
            terminationGracePeriodSeconds: 2,
            automountServiceAccountToken: false,
            containers: [
              {
                name: 'probe',
                image: image.ref,
                imagePullPolicy: 'Never',
                command: ['node', '/probe/probe.ts', `http://${VPC.echoIp}:${VPC.echoPort}/`, '20', '1000'],
                securityContext: {
                  runAsNonRoot: true,
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ['ALL'] },
                },
                volumeMounts: [{ name: 'probe', mountPath: '/probe' }],
              },
            ],
            volumes: [{ name: 'probe', configMap: { name: 'probe' } }],
          },
        },
      },
    },
  ];
  return docs.map((d) => stringify(d)).join('---\n');
}

/**
 * {@link startRealBox}, then what every suite and benchmark waits for before its first step: the box's egress
 * IP held, both probes answered steadily from it, and the controllers settled (see {@link RealBox.settle}).
 * On failure the box is stopped.
 */
export async function startSettledRealBox(options: RealBoxOptions = {}): Promise<RealBox> {
  const box = await startRealBox(options);
  try {
    await waitForHolder(box, BOX_POLICY.egressIPs[0], 120_000);
    await waitForSteadyTraffic(box, new Set<string>(BOX_POLICY.egressIPs), { timeoutMs: 120_000 });
    // A new leader damps every gateway its first probes missed.
    await box.settle();
    return box;
  } catch (err) {
    await box.stop();
    throw err;
  }
}

/** Builds the box (see the module comment); on failure removes whatever was built. */
export async function startRealBox(options: RealBoxOptions = {}): Promise<RealBox> {
  let last = performance.now();
  const report = (phase: string) => {
    const now = performance.now();
    options.onPhase?.(phase, now - last);
    last = now;
  };
  const image = await ensureImage();
  const pause = await ensurePauseImage();
  const template = await ensureNodeTemplate([pause, image.archive]);
  const reaped = await reapDeadBoxes();
  if (reaped.length > 0)
    process.stderr.write(`[real-box] removed what killed runs left: ${reaped.join(', ')}\n`);
  report('images');
  const net = await startNetworkBox({
    nodes: REAL_NODES,
    podNetwork: 'cni',
    uplinks: [CP_UPLINK],
    ...(options.localStack ? { localStack: options.localStack } : {}),
  });
  report('network box');
  let cluster: Cluster | undefined;
  let box: RealBox | undefined;
  const unregister = await registerBox(net.topology.prefix, net.dir);
  try {
    const lsPort = Number(new URL(net.localStack.endpoint).port);
    cluster = await startCluster({
      prefix: net.topology.prefix,
      dir: join(net.dir, 'cluster'),
      nodes: net.topology.nodes.map((n) => ({
        name: n.name,
        netns: n.ns,
        ip: n.ip,
        providerId: `aws:///${n.zone.name}/${net.world.instances.get(n.name)}`,
        labels: {
          'topology.kubernetes.io/zone': n.zone.name,
          'topology.kubernetes.io/region': net.world.region,
          [ROLE_LABEL]: n.gateway ? 'gateway' : 'worker',
          ...(n.gateway ? { [GATEWAY_LABEL]: 'true' } : {}),
        },
      })),
      cp: { ns: net.topology.uplink(CP_UPLINK.name), address: CP_UPLINK.address },
      forwardPorts: [lsPort],
      template,
      images: [],
      sandboxImage: PAUSE_IMAGE,
      onPhase: options.onPhase,
    });
    // The pod network between nodes (Flannel's VXLAN scheme) over the pod CIDRs the controller-manager gave.
    const core = cluster.controlPlane.kubeConfig.makeApiClient(CoreV1Api);
    const nodeObjects = (await core.listNode()).items;
    await net.topology.podOverlay(new Map(nodeObjects.map((n) => [n.metadata!.name!, n.spec!.podCIDR!])));
    last = performance.now();
    const endpoint = `http://${CP_UPLINK.address}:${lsPort}`;
    const values = merge(boxValues(image, endpoint, net.localStack.region), options.values ?? {});
    const valuesFile = join(net.dir, 'box-values.yaml');
    await writeFile(valuesFile, stringify(values));
    box = new RealBox(net, cluster, image, valuesFile, unregister);
    box.followLogs();
    const kube = box.kube;
    await kube.namespace(RELEASE.namespace);
    await kube.namespace(BOX_POLICY.namespace);
    await box.kubectl(['apply', '-f', '-'], {
      input: stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: CREDENTIALS_SECRET, namespace: RELEASE.namespace },
        stringData: {
          AWS_ACCESS_KEY_ID: net.localStack.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: net.localStack.credentials.secretAccessKey,
        },
      }),
    });
    await box.helm([
      'install',
      RELEASE.name,
      CHART_DIR,
      '--namespace',
      RELEASE.namespace,
      '--values',
      valuesFile,
      '--wait',
      '--timeout',
      '5m',
    ]);
    // helm's --wait counts a DaemonSet ready with maxUnavailable of its pods still starting.
    await box.waitForAgents();
    report('helm install (controller Deployment, agent DaemonSet Ready)');
    await kube.createGateway(BOX_POLICY.gateway, BOX_POLICY.gatewayIps);
    await kube.createPolicy(BOX_POLICY.namespace, BOX_POLICY.name, {
      gatewayName: BOX_POLICY.gateway,
      podSelector: { ...BOX_POLICY.podLabels },
      egressIPs: BOX_POLICY.egressIPs,
      destinationCIDRs: [VPC.echoCidr],
    });
    await box.kubectl(['apply', '-f', '-'], { input: await probeManifests(image) });
    await box.kubectl(
      ['rollout', 'status', `deployment/${PROBES.name}`, '-n', PROBES.namespace, '--timeout=180s'],
      {},
    );
    report('gateway, policy and probe pods');
    return box;
  } catch (err) {
    if (box) await box.stop();
    else {
      await cluster?.stop();
      await net.stop();
      await unregister();
    }
    throw err;
  }
}
