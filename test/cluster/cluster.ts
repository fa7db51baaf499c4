/**
 * @module
 * A real Kubernetes cluster inside the box: the test harness's etcd + kube-apiserver (with a CA, client
 * certificates, the Node authorizer, ServiceAccount admission and the `kubernetes` Service), plus
 * kube-controller-manager and kube-scheduler, and one {@link KubeletNode} per box node.
 *
 * ```
 *  host (127.0.0.1)                         control-plane namespace <p>-cp (192.0.2.10, behind the VPC router)
 *  etcd, kube-apiserver :P  ◄── unix ─────── ns-forward  192.0.2.10:P        (nodes, pods: the API server)
 *  kube-controller-manager, kube-scheduler  ns-forward  192.0.2.10:<other>  (e.g. LocalStack, the cloud API)
 *  LocalStack :L           ◄── unix ───────
 *  kube-apiserver ── egress selector (uds) ─► connect-proxy ──► node IPs:10250   (logs, exec, port-forward)
 * ```
 *
 * The API server advertises 192.0.2.10:P, so the `kubernetes` Service (10.96.0.1:443, through each node's
 * kube-proxy) leads pods there; the nodes' kubelets and kube-proxies dial the same address. Nothing is routed
 * between the host and the box: each crossing is a Unix socket. {@link Cluster.stop} removes every process,
 * cgroup and file it made and puts back the kernel settings kubelet changed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, type V1Node } from '@kubernetes/client-node';
import { ensureNodeBinaries } from '../control-plane/binaries.ts';
import { HostBridge } from '../e2e/host-bridge.ts';
import { NsProcess } from '../e2e/ns-process.ts';
import {
  type ControlPlane,
  SERVICE_ACCOUNT_KEY,
  SERVICE_CIDR,
  startControlPlane,
} from '../harness/control-plane.ts';
import { ServerProcess } from '../harness/server-process.ts';
import { eventually } from '../support/eventually.ts';
import { KernelTunables, KubeletNode, type KubeletNodeSpec, removeCniCache } from './kubelet-node.ts';
import { Pki, writeCertKubeconfig } from './pki.ts';

const here = dirname(fileURLToPath(import.meta.url));
const NS_FORWARD = join(here, '..', 'e2e', 'fixtures', 'ns-forward.ts');
const CONNECT_PROXY = join(here, 'fixtures', 'connect-proxy.ts');

/** The cluster's pod network (the controller-manager hands each node a /24 of it). */
export const CLUSTER_CIDR = '10.244.0.0/16';
/** The `kubernetes` Service's address. */
export const KUBERNETES_SERVICE_IP = '10.96.0.1';

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  /** The box's prefix (names of cgroups and the CNI network). */
  readonly prefix: string;
  /** A folder for the cluster's files (certificates, node state, logs). */
  readonly dir: string;
  readonly nodes: readonly KubeletNodeSpec[];
  /** The control-plane namespace and its address in the box. */
  readonly cp: { readonly ns: string; readonly address: string };
  /** Host loopback ports also offered at the control-plane address (e.g. LocalStack's). */
  readonly forwardPorts?: readonly number[];
  /** A containerd root with the images in, each node's first boot starts from (node-template.ts). */
  readonly template?: string;
  /** Image archives to import into every node's containerd at each boot (the pause image first). */
  readonly images: readonly string[];
  readonly sandboxImage: string;
  /** Called after each start-up phase with its duration in ms. */
  readonly onPhase?: (phase: string, ms: number) => void;
}

/** A running cluster. */
export class Cluster {
  readonly controlPlane: ControlPlane;
  readonly nodes: ReadonlyMap<string, KubeletNode>;
  /** The API server as nodes and pods reach it. */
  readonly server: string;
  readonly #stoppers: (() => Promise<void>)[];
  #stopped: Promise<void> | undefined;

  /** @internal Use {@link startCluster}. */
  constructor(
    controlPlane: ControlPlane,
    nodes: ReadonlyMap<string, KubeletNode>,
    server: string,
    stoppers: (() => Promise<void>)[],
  ) {
    this.controlPlane = controlPlane;
    this.nodes = nodes;
    this.server = server;
    this.#stoppers = stoppers;
  }

  /** The node called `name`. */
  node(name: string): KubeletNode {
    const node = this.nodes.get(name);
    if (!node) throw new Error(`no node ${name}`);
    return node;
  }

  /** Boots a node and waits until its Node is Ready (it keeps its podCIDR and CNI configuration). */
  async bootNode(name: string, timeoutMs = 120_000): Promise<void> {
    await this.node(name).boot();
    await waitForNodes(this.controlPlane, [this.node(name)], timeoutMs);
  }

  /** Stops everything (idempotent): nodes, controllers, forwarders, the control plane. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      for (const stop of [...this.#stoppers].reverse()) await stop().catch(() => {});
    })();
    return this.#stopped;
  }
}

function ready(node: V1Node | undefined): boolean {
  return node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Waits until every node is registered (then writes its CNI configuration) and Ready. */
async function waitForNodes(
  cp: ControlPlane,
  nodes: readonly KubeletNode[],
  timeoutMs: number,
): Promise<void> {
  const core = cp.kubeConfig.makeApiClient(CoreV1Api);
  const cniWritten = new Set<string>();
  const pendingNodes = async () => {
    const list = await core.listNode();
    const byName = new Map(list.items.map((n) => [n.metadata!.name!, n]));
    const pending: string[] = [];
    for (const node of nodes) {
      const object = byName.get(node.spec.name);
      const podCidr = object?.spec?.podCIDR;
      if (podCidr && !cniWritten.has(node.spec.name)) {
        await node.writeCni(podCidr);
        cniWritten.add(node.spec.name);
      }
      if (!ready(object)) {
        const condition = object?.status?.conditions?.find((c) => c.type === 'Ready');
        pending.push(`${node.spec.name} (${JSON.stringify(condition ?? 'not registered')})`);
      }
    }
    return pending;
  };
  let pending: string[] = [];
  try {
    await eventually(
      'every node to be Ready (the nodes still pending)',
      async () => (pending = await pendingNodes()),
      { until: (names) => names.length === 0, timeoutMs, intervalMs: 250 },
    );
  } catch (err) {
    const stuck = nodes.filter((n) => pending.some((p) => p.startsWith(`${n.spec.name} `)));
    const diagnoses = await Promise.all(stuck.map((n) => n.diagnosis()));
    throw new Error(`${(err as Error).message}\n${diagnoses.join('\n')}`, { cause: err });
  }
}

/** Starts the cluster (see the module comment); on failure removes what it had started. */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const stoppers: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of [...stoppers].reverse()) await stop().catch(() => {});
  };
  let last = performance.now();
  const report = (phase: string) => {
    const now = performance.now();
    options.onPhase?.(phase, now - last);
    last = now;
  };
  try {
    const binaries = await ensureNodeBinaries();
    const pkiDir = join(options.dir, 'pki');
    await mkdir(pkiDir, { recursive: true });
    const pki = await Pki.create(pkiDir);
    const address = options.cp.address;
    const serving = await pki.issue({
      name: 'apiserver',
      cn: 'kube-apiserver',
      usage: 'server',
      ips: ['127.0.0.1', address, KUBERNETES_SERVICE_IP],
      dns: [
        'localhost',
        'kubernetes',
        'kubernetes.default',
        'kubernetes.default.svc',
        'kubernetes.default.svc.cluster.local',
      ],
    });
    const kubeletClient = await pki.issue({
      name: 'apiserver-kubelet-client',
      cn: 'kube-apiserver-kubelet-client',
      orgs: ['system:masters'],
      usage: 'client',
    });
    const tunnel = join(options.dir, 'konnectivity.sock');
    const proxy = new NsProcess({
      ns: options.cp.ns,
      command: process.execPath,
      args: [CONNECT_PROXY, tunnel],
      logPath: join(options.dir, 'connect-proxy.log'),
    });
    stoppers.push(() => proxy.stop('SIGKILL'));
    await proxy.waitForLine((l) => l === 'listening', 30_000);
    const egressSelector = join(options.dir, 'egress-selector.yaml');
    await writeFile(
      egressSelector,
      [
        'apiVersion: apiserver.k8s.io/v1beta1',
        'kind: EgressSelectorConfiguration',
        'egressSelections:',
        '- name: cluster',
        '  connection:',
        '    proxyProtocol: HTTPConnect',
        '    transport:',
        '      uds:',
        `        udsName: ${tunnel}`,
        '',
      ].join('\n'),
    );
    const controlPlane = await startControlPlane({
      crds: false,
      realNodes: true,
      pki: { caFile: pki.ca.cert, certFile: serving.cert, keyFile: serving.key },
      keepDir: process.env['CLOUD_EGRESS_E2E_KEEP_LOGS'] !== undefined,
      apiserverFlags: [
        `--advertise-address=${address}`,
        `--kubelet-client-certificate=${kubeletClient.cert}`,
        `--kubelet-client-key=${kubeletClient.key}`,
        `--kubelet-certificate-authority=${pki.ca.cert}`,
        '--kubelet-preferred-address-types=InternalIP',
        `--egress-selector-config-file=${egressSelector}`,
      ],
    });
    stoppers.push(() => controlPlane.stop());
    report('control plane');
    const port = Number(new URL(controlPlane.server).port);
    const bridge = await HostBridge.start(options.dir, [port, ...(options.forwardPorts ?? [])]);
    stoppers.push(() => bridge.stop());
    const forward = new NsProcess({
      ns: options.cp.ns,
      command: process.execPath,
      args: [NS_FORWARD, `--host=${address}`, ...bridge.forwardArgs],
      logPath: join(options.dir, 'cp-forward.log'),
    });
    stoppers.push(() => forward.stop('SIGKILL'));
    await forward.waitForLine((l) => l === 'listening', 30_000);

    for (const [name, user, args] of [
      [
        'kube-controller-manager',
        'system:kube-controller-manager',
        [
          '--use-service-account-credentials=true',
          `--service-account-private-key-file=${join(controlPlane.dir, SERVICE_ACCOUNT_KEY)}`,
          `--root-ca-file=${pki.ca.cert}`,
          `--cluster-signing-cert-file=${pki.ca.cert}`,
          `--cluster-signing-key-file=${pki.ca.key}`,
          '--allocate-node-cidrs=true',
          `--cluster-cidr=${CLUSTER_CIDR}`,
          '--node-cidr-mask-size=24',
          `--service-cluster-ip-range=${SERVICE_CIDR}`,
          '--controllers=*,-service-lb-controller,-node-route-controller,-cloud-node-lifecycle-controller',
        ],
      ],
      ['kube-scheduler', 'system:kube-scheduler', []],
    ] as const) {
      const client = await pki.issue({ name, cn: user, usage: 'client' });
      const kubeconfig = await writeCertKubeconfig(
        join(options.dir, `${name}.kubeconfig`),
        controlPlane.server,
        pki.ca.cert,
        client,
        user,
      );
      const binary = name === 'kube-scheduler' ? binaries.kubeScheduler : binaries.kubeControllerManager;
      const server = await ServerProcess.start(
        name,
        binary,
        [`--kubeconfig=${kubeconfig}`, '--leader-elect=false', '--secure-port=0', '--v=1', ...args],
        { logPath: join(options.dir, `${name}.log`) },
      );
      stoppers.push(async () => {
        await server.stop(5000);
      });
    }
    report('controller-manager and scheduler');

    const tunables = await KernelTunables.snapshot(options.prefix);
    stoppers.push(() => tunables.restore());
    stoppers.push(() => removeCniCache(`${options.prefix}-pods`));
    const server = `https://${address}:${port}`;
    const nodes = new Map<string, KubeletNode>();
    for (const spec of options.nodes) {
      const node = await KubeletNode.create(spec, join(options.dir, 'nodes', spec.name), {
        server,
        pki,
        binaries,
        clusterCidr: CLUSTER_CIDR,
        ...(options.template ? { template: options.template } : {}),
        images: options.images,
        sandboxImage: options.sandboxImage,
        prefix: options.prefix,
      });
      nodes.set(spec.name, node);
      stoppers.push(() => node.destroy());
    }
    await Promise.all([...nodes.values()].map((n) => n.boot()));
    report('nodes booted (containerd, images, kubelet, kube-proxy)');
    await waitForNodes(controlPlane, [...nodes.values()], 180_000);
    report('nodes Ready');
    return new Cluster(controlPlane, nodes, server, stoppers);
  } catch (err) {
    await stopAll();
    throw err;
  }
}
