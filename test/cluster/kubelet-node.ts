/**
 * @module
 * One real Kubernetes node inside a box namespace: containerd (Debian's, with runc and the reference CNI
 * plugins), kubelet and kube-proxy (built from the Go modules), all in the node's network namespace, a mount
 * namespace of its own and a cgroup subtree of its own, so that the node can lose power at once and leaves
 * nothing on the machine.
 *
 * ```
 * boot()       mkdir cgroup /<box>-<node> in every v1 hierarchy (pods: …/kubepods, daemons: …/system)
 *              holder: unshare --mount (private tmpfs on /run/netns: the pods' network namespaces stay in here)
 *                      and a private tmpfs on kubelet's compiled-in device-plugin directory
 *              containerd ─► import images ─► kubelet (registers, x509 + webhook auth, cgroupfs, serving cert)
 *              ─► kube-proxy (nftables mode, inside the node only)
 * writeCni()   the bridge + host-local chain for the node's podCIDR (the controller-manager allocates it)
 * powerCut()   freeze the node's cgroups, SIGKILL every process in them (daemons, shims, pods), thaw
 * destroy()    powerCut, remove the cgroups, the CNI result cache entries of this box
 * ```
 *
 * Every daemon enters the node with `nsenter --net` (not `ip netns exec`, which remounts /sys and hides the
 * cgroup file systems) and the holder's mount namespace. What kubelet and containerd mount (secrets, overlay
 * roots, shm, pod network namespaces) exists only inside that mount namespace and is gone with its last
 * process. kubelet sets a few machine-wide kernel settings at start; {@link KernelTunables} puts them back.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, readlink, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NodeBinaries } from '../control-plane/binaries.ts';
import { runCommand } from '../harness/command.ts';
import { ServerProcess } from '../harness/server-process.ts';
import { eventually } from '../support/eventually.ts';
import { seedContainerdRoot } from './node-template.ts';
import { type CertFiles, type Pki, writeCertKubeconfig } from './pki.ts';

/** The cgroup v1 hierarchies of the machine. */
const CGROUP_ROOT = '/sys/fs/cgroup';
/**
 * Where kubelet's device manager listens and keeps its checkpoint. The path is compiled in (`pluginapi.KubeletSocket`
 * in k8s.io/kubelet), not under `--root-dir`, so nodes sharing a host would share it: each kubelet empties the
 * directory when it starts, then binds `kubelet.sock` there, and two starting at once can fail with "bind: address
 * already in use". Each boot mounts its own tmpfs there, in the node's mount namespace.
 */
const DEVICE_PLUGIN_DIR = '/var/lib/kubelet/device-plugins';

/** What a node is made of (the box supplies it). */
export interface KubeletNodeSpec {
  readonly name: string;
  /** Its network namespace (`ip netns` name). */
  readonly netns: string;
  /** The node IP (on eth0 in the namespace). */
  readonly ip: string;
  /** `aws:///<zone>/<instance>`. */
  readonly providerId: string;
  /** Labels the kubelet registers the node with. */
  readonly labels: Readonly<Record<string, string>>;
}

/** Cluster-wide settings every node shares. */
export interface NodeClusterSettings {
  /** The API server as the nodes reach it (inside the box). */
  readonly server: string;
  readonly pki: Pki;
  readonly binaries: NodeBinaries;
  /** Pod CIDR of the cluster (kube-proxy's clusterCIDR). */
  readonly clusterCidr: string;
  /** A containerd root with the images already in (node-template.ts) that a node's first boot starts from. */
  readonly template?: string;
  /** Image archives to import into containerd at every boot (those not in the template). */
  readonly images: readonly string[];
  /** The sandbox image reference (the pause image). */
  readonly sandboxImage: string;
  /** Prefix of every name this box makes on the machine (cgroups, CNI network). */
  readonly prefix: string;
}

/** Files and folders of one node. */
function layout(dir: string) {
  return {
    dir,
    containerdRoot: join(dir, 'containerd', 'root'),
    containerdState: join(dir, 'containerd', 'state'),
    containerdSock: join(dir, 'containerd.sock'),
    containerdConfig: join(dir, 'containerd.toml'),
    kubeletRoot: join(dir, 'kubelet'),
    kubeletConfig: join(dir, 'kubelet.yaml'),
    kubeletKubeconfig: join(dir, 'kubelet.kubeconfig'),
    proxyConfig: join(dir, 'kube-proxy.yaml'),
    proxyKubeconfig: join(dir, 'kube-proxy.kubeconfig'),
    cniConf: join(dir, 'cni', 'net.d'),
    cniIpam: join(dir, 'cni', 'ipam'),
    podLogs: join(dir, 'pod-logs'),
    logs: join(dir, 'logs'),
  };
}

/** The cgroup v1 hierarchies (folders under /sys/fs/cgroup with a cgroup.procs file). */
async function cgroupHierarchies(): Promise<string[]> {
  const entries = await readdir(CGROUP_ROOT).catch(() => [] as string[]);
  return entries.filter((e) => e !== 'unified' && existsSync(join(CGROUP_ROOT, e, 'cgroup.procs')));
}

/** Every cgroup folder under `dir`, deepest first. */
async function cgroupTree(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) out.push(...(await cgroupTree(join(dir, entry.name))));
  }
  out.push(dir);
  return out;
}

async function pidsIn(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const cg of await cgroupTree(dir)) {
    const text = await readFile(join(cg, 'cgroup.procs'), 'utf8').catch(() => '');
    for (const line of text.split('\n')) if (line.trim()) pids.push(Number(line));
  }
  return pids;
}

/** A kubelet node. Create with {@link KubeletNode.create}; {@link boot} starts it. */
export class KubeletNode {
  readonly spec: KubeletNodeSpec;
  readonly paths: ReturnType<typeof layout>;
  readonly #cluster: NodeClusterSettings;
  /** The node's cgroup, relative to each hierarchy (kubelet's cgroupRoot). */
  readonly cgroup: string;
  #holder: ServerProcess | undefined;
  #daemons: ServerProcess[] = [];
  /** Kubelet restarts per boot (see `#startKubelet`). */
  readonly #kubeletRestarts = new Map<number, number>();
  #boots = 0;

  private constructor(spec: KubeletNodeSpec, dir: string, cluster: NodeClusterSettings) {
    this.spec = spec;
    this.paths = layout(dir);
    this.#cluster = cluster;
    this.cgroup = `/${cluster.prefix}-${spec.name}`;
  }

  /** Writes the node's certificates and configuration files into `dir`. */
  static async create(
    spec: KubeletNodeSpec,
    dir: string,
    cluster: NodeClusterSettings,
  ): Promise<KubeletNode> {
    const node = new KubeletNode(spec, dir, cluster);
    await node.#writeConfig();
    return node;
  }

  /** Where the node's container logs are (`<namespace>_<pod>_<uid>/<container>/<n>.log`). */
  get podLogsDir(): string {
    return this.paths.podLogs;
  }

  /** The processes of the node's daemons right now (for the load report). */
  get daemonPids(): number[] {
    return this.#daemons.filter((d) => !d.exitStatus).map((d) => d.pid);
  }

  async #writeConfig(): Promise<void> {
    const p = this.paths;
    const { pki, server } = this.#cluster;
    for (const d of [
      p.containerdRoot,
      p.containerdState,
      p.kubeletRoot,
      p.cniConf,
      p.cniIpam,
      p.podLogs,
      p.logs,
    ]) {
      await mkdir(d, { recursive: true });
    }
    const name = this.spec.name;
    const client = await pki.issue({
      name: `node-${name}`,
      cn: `system:node:${name}`,
      orgs: ['system:nodes'],
      usage: 'client',
    });
    const serving = await pki.issue({
      name: `node-${name}-serving`,
      cn: name,
      usage: 'server',
      ips: [this.spec.ip],
      dns: [name],
    });
    const proxy = await pki.issue({ name: `node-${name}-proxy`, cn: 'system:kube-proxy', usage: 'client' });
    await writeCertKubeconfig(p.kubeletKubeconfig, server, pki.ca.cert, client, `system:node:${name}`);
    await writeCertKubeconfig(p.proxyKubeconfig, server, pki.ca.cert, proxy, 'system:kube-proxy');
    await writeFile(p.containerdConfig, this.#containerdToml());
    await writeFile(p.kubeletConfig, this.#kubeletYaml(serving));
    await writeFile(p.proxyConfig, this.#proxyYaml());
  }

  #containerdToml(): string {
    const p = this.paths;
    return `version = 2
root = ${JSON.stringify(p.containerdRoot)}
state = ${JSON.stringify(p.containerdState)}
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = ${JSON.stringify(p.containerdSock)}

[ttrpc]
  address = ${JSON.stringify(`${p.containerdSock}.ttrpc`)}

[debug]
  level = "warn"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${JSON.stringify(this.#cluster.sandboxImage)}
  # No CAP_SYS_RESOURCE here: runc cannot give the sandbox a negative oom_score_adj.
  restrict_oom_score_adj = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = ${JSON.stringify(p.cniConf)}

[plugins."io.containerd.internal.v1.opt"]
  path = ${JSON.stringify(join(p.dir, 'containerd', 'opt'))}
`;
  }

  #kubeletYaml(serving: CertFiles): string {
    const p = this.paths;
    return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# cgroup v1 hosts without systemd (see docs in test/e2e/README.md).
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: ${this.cgroup}
containerRuntimeEndpoint: unix://${p.containerdSock}
address: ${this.spec.ip}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: ${serving.cert}
tlsPrivateKeyFile: ${serving.key}
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: ${this.#cluster.pki.ca.cert}
authorization:
  mode: Webhook
providerID: ${this.spec.providerId}
podLogsDir: ${p.podLogs}
resolvConf: /etc/resolv.conf
clusterDomain: cluster.local
failSwapOn: false
maxPods: 20
nodeStatusUpdateFrequency: 4s
syncFrequency: 10s
shutdownGracePeriod: 0s
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  imagefs.available: 1%
  nodefs.inodesFree: 1%
serializeImagePulls: false
`;
  }

  #proxyYaml(): string {
    return `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: ${this.paths.proxyKubeconfig}
mode: nftables
hostnameOverride: ${this.spec.name}
clusterCIDR: ${this.#cluster.clusterCidr}
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# Leave the kernel's connection-tracking limits as they are (some are machine-wide).
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
`;
  }

  /** Writes the pod network's CNI configuration for `podCidr` (containerd picks it up). */
  async writeCni(podCidr: string): Promise<void> {
    const conf = {
      cniVersion: '1.0.0',
      name: `${this.#cluster.prefix}-pods`,
      plugins: [
        {
          type: 'bridge',
          bridge: 'cni0',
          isGateway: true,
          // The node masquerades pod traffic leaving by its uplink only (the box's node set-up): the bridge
          // plugin's ipMasq would also rewrite pod packets the egress agent tunnels (docs/agent.md).
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: podCidr }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: this.paths.cniIpam,
          },
        },
      ],
    };
    await writeFile(join(this.paths.cniConf, '10-box.conflist'), `${JSON.stringify(conf, null, 2)}\n`);
  }

  async #start(name: string, binary: string, args: readonly string[]): Promise<ServerProcess> {
    const holder = this.#holder;
    if (!holder) throw new Error(`${this.spec.name} is not booted`);
    const system = join(this.cgroup, 'system');
    const script = [
      ...(await cgroupHierarchies()).map((h) => `echo $$ > ${join(CGROUP_ROOT, h, system, 'cgroup.procs')}`),
      `exec nsenter --net=/run/netns/${this.spec.netns} --mount=/proc/${holder.pid}/ns/mnt -- "$@"`,
    ].join('\n');
    const process = await ServerProcess.start(name, '/bin/sh', ['-c', script, 'sh', binary, ...args], {
      logPath: join(this.paths.logs, `${name}.log`),
      env: {
        ...globalThis.process.env,
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      },
    });
    this.#daemons.push(process);
    return process;
  }

  /**
   * Starts the node: cgroups, the mount namespace, containerd (and imports the images), kubelet, kube-proxy.
   * Resolves once kubelet runs (registration is the cluster's to wait for).
   */
  async boot(): Promise<void> {
    this.#boots++;
    const hierarchies = await cgroupHierarchies();
    for (const h of hierarchies) {
      for (const part of [this.cgroup, join(this.cgroup, 'system')]) {
        const dir = join(CGROUP_ROOT, h, part);
        await mkdir(dir, { recursive: true });
        if (h === 'cpuset') {
          // A new cpuset cgroup starts with no CPUs and no memory nodes.
          for (const file of ['cpuset.cpus', 'cpuset.mems']) {
            await writeFile(join(dir, file), await readFile(join(CGROUP_ROOT, h, file), 'utf8'));
          }
        }
      }
    }
    if (this.#cluster.template) await seedContainerdRoot(this.#cluster.template, this.paths.containerdRoot);
    // A boot starts with an empty /run: containerd's state (sockets, shim bundles) does not survive.
    await rm(this.paths.containerdState, { recursive: true, force: true });
    await rm(this.paths.containerdSock, { force: true });
    const holderScript = [
      ...hierarchies.map((h) => `echo $$ > ${join(CGROUP_ROOT, h, this.cgroup, 'system', 'cgroup.procs')}`),
      `mkdir -p ${DEVICE_PLUGIN_DIR}`,
      `exec nsenter --net=/run/netns/${this.spec.netns} -- unshare --mount --propagation private -- /bin/sh -c 'mount -t tmpfs -o size=4m,mode=755 tmpfs /run/netns && mount -t tmpfs -o size=1m,mode=750 tmpfs ${DEVICE_PLUGIN_DIR} && echo ready && exec sleep infinity'`,
    ].join('\n');
    // One log per boot: a `ready` from an earlier boot must not let a daemon join the namespace too early.
    const holderLog = join(this.paths.logs, `holder-${this.#boots}.log`);
    this.#holder = await ServerProcess.start('holder', '/bin/sh', ['-c', holderScript], {
      logPath: holderLog,
    });
    this.#daemons.push(this.#holder);
    const own = await readlink('/proc/self/ns/mnt');
    await this.#waitFor(
      'the mount namespace',
      async () =>
        (await readFile(holderLog, 'utf8')).includes('ready') &&
        (await readlink(`/proc/${this.#holder!.pid}/ns/mnt`)) !== own,
    );
    const containerd = await this.#start('containerd', 'containerd', [
      '--config',
      this.paths.containerdConfig,
    ]);
    await this.#waitFor('containerd', async () => {
      if (containerd.exitStatus) throw new Error(`containerd exited: ${await containerd.logTail()}`);
      const r = await runCommand('ctr', ['--address', this.paths.containerdSock, 'version'], {
        check: false,
        timeoutMs: 5000,
      });
      return r.code === 0;
    });
    for (const archive of this.#cluster.images) {
      await runCommand(
        'ctr',
        ['--address', this.paths.containerdSock, '-n', 'k8s.io', 'images', 'import', archive],
        {
          timeoutMs: 300_000,
        },
      );
    }
    const labels = Object.entries(this.spec.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    await this.#startKubelet([
      `--config=${this.paths.kubeletConfig}`,
      `--kubeconfig=${this.paths.kubeletKubeconfig}`,
      `--root-dir=${this.paths.kubeletRoot}`,
      `--cert-dir=${join(this.paths.kubeletRoot, 'pki')}`,
      `--hostname-override=${this.spec.name}`,
      `--node-ip=${this.spec.ip}`,
      `--node-labels=${labels}`,
      '--v=1',
    ]);
    await this.#start('kube-proxy', this.#cluster.binaries.kubeProxy, [
      `--config=${this.paths.proxyConfig}`,
      '--v=1',
    ]);
  }

  /**
   * Starts kubelet and restarts it, as systemd's `Restart=always` does on a real node, when it exits at once because
   * containerd's CRI is still initialising ("server is not initialized yet": `ctr version` answers before the CRI
   * plugin has restored its state, which a loaded machine shows). At most five restarts, a second apart, and none
   * once the node lost power or booted again; any other exit is left for the cluster's wait to report.
   */
  async #startKubelet(args: readonly string[]): Promise<void> {
    const boot = this.#boots;
    const startedAt = Date.now();
    const kubelet = await this.#start('kubelet', this.#cluster.binaries.kubelet, args);
    void kubelet.exited.then(async (status) => {
      const restarts = this.#kubeletRestarts.get(boot) ?? 0;
      if (status.code !== 1 || Date.now() - startedAt > 30_000 || restarts >= 5) return;
      if (!/server is not initialized yet/.test(await kubelet.logTail())) return;
      await sleep(1000);
      if (this.#boots !== boot || !this.#holder) return;
      this.#kubeletRestarts.set(boot, restarts + 1);
      await this.#startKubelet(args).catch(() => undefined);
    });
  }

  /**
   * What a node that did not come up was doing: each daemon that exited (with its status) and the end of
   * kubelet's log, for the message of a cluster that timed out waiting for it.
   */
  async diagnosis(maxLogChars = 1500): Promise<string> {
    const exited = this.#daemons
      .filter((d) => d.exitStatus)
      .map((d) => `${d.name} exited ${JSON.stringify(d.exitStatus)}`);
    const kubelet = this.#daemons.findLast((d) => d.name === 'kubelet');
    const tail = kubelet ? await kubelet.logTail(maxLogChars) : 'kubelet never started';
    return [`${this.spec.name}: ${exited.length ? exited.join('; ') : 'every daemon running'}`, tail].join(
      '\n',
    );
  }

  async #waitFor(what: string, ready: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    await eventually(`${this.spec.name}: ${what} to start`, ready, { timeoutMs, intervalMs: 100 });
  }

  /**
   * The device manager's registration socket as this node's kubelet sees it (device and inode), or undefined when it
   * is not there. Each node has its own: see {@link DEVICE_PLUGIN_DIR}.
   */
  async deviceManagerSocket(): Promise<{ dev: number; ino: number } | undefined> {
    if (!this.#holder || this.#holder.exitStatus) return undefined;
    // /proc/<pid>/root resolves paths in that process's mount namespace.
    const path = join(`/proc/${this.#holder.pid}/root`, DEVICE_PLUGIN_DIR, 'kubelet.sock');
    const s = await stat(path).catch(() => undefined);
    return s?.isSocket() ? { dev: s.dev, ino: s.ino } : undefined;
  }

  /** The node loses power: every process in its cgroups (daemons, shims, containers) dies at once. */
  async powerCut(): Promise<void> {
    const freezer = join(CGROUP_ROOT, 'freezer', this.cgroup);
    const pids = join(CGROUP_ROOT, 'pids', this.cgroup);
    const frozen = existsSync(join(freezer, 'freezer.state'));
    if (frozen) await writeFile(join(freezer, 'freezer.state'), 'FROZEN').catch(() => {});
    for (let round = 0; round < 50; round++) {
      const alive = await pidsIn(existsSync(pids) ? pids : freezer);
      if (alive.length === 0) break;
      for (const pid of alive) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
      if (frozen && round === 0) await writeFile(join(freezer, 'freezer.state'), 'THAWED').catch(() => {});
      await sleep(20);
    }
    if (frozen) await writeFile(join(freezer, 'freezer.state'), 'THAWED').catch(() => {});
    await Promise.all(this.#daemons.map((d) => d.exited));
    this.#daemons = [];
    this.#holder = undefined;
  }

  /** Stops the node (a power cut: nothing here needs a graceful stop) and removes its cgroups. */
  async destroy(): Promise<void> {
    await this.powerCut();
    // Nothing of the node should be mounted in the machine's own mount namespace; if something is (a daemon
    // that ran outside the node's), it goes now, deepest first.
    const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
      .split('\n')
      .map((line) => line.split(' ')[4] ?? '')
      .filter((point) => point.startsWith(`${this.paths.dir}/`))
      .sort((a, b) => b.length - a.length);
    for (const point of mounts) await runCommand('umount', ['-l', point], { check: false });
    // kubelet also makes its cgroup root in the cgroup2 hierarchy of a hybrid host (unified/).
    const all = await readdir(CGROUP_ROOT).catch(() => [] as string[]);
    for (const h of all) {
      for (const dir of await cgroupTree(join(CGROUP_ROOT, h, this.cgroup))) {
        await rmdir(dir).catch(() => {});
      }
    }
  }

  /** How many times the node was booted. */
  get boots(): number {
    return this.#boots;
  }
}

/** Kernel settings kubelet changes for the whole machine (not per network namespace). */
const KUBELET_TUNABLES = ['kernel/panic', 'kernel/panic_on_oops', 'vm/overcommit_memory'] as const;

/**
 * The machine-wide kernel settings kubelet writes at start (kernel.panic, kernel.panic_on_oops,
 * vm.overcommit_memory), recorded before the first node boots and written back when the box goes.
 * Values already recorded (by another live box, or by a run that was killed) are kept; the last live box
 * restores them.
 */
export class KernelTunables {
  static readonly dir = '/run/cloud-egress-kubelet-tunables';
  readonly #registration: string;

  private constructor(registration: string) {
    this.#registration = registration;
  }

  /** Records the values (unless another live box did) and registers this box. */
  static async snapshot(id: string): Promise<KernelTunables> {
    const dir = KernelTunables.dir;
    await mkdir(join(dir, 'boxes'), { recursive: true });
    const saved = join(dir, 'values.json');
    // Values recorded by a box that never restored them (a killed run) are the machine's own: keep them.
    if (!existsSync(saved)) {
      const values: Record<string, string> = {};
      for (const t of KUBELET_TUNABLES) values[t] = (await readFile(`/proc/sys/${t}`, 'utf8')).trim();
      await writeFile(saved, JSON.stringify(values));
    }
    const registration = join(dir, 'boxes', `${process.pid}-${id}`);
    await writeFile(registration, '');
    return new KernelTunables(registration);
  }

  static async #liveBoxes(): Promise<string[]> {
    const entries = await readdir(join(KernelTunables.dir, 'boxes')).catch(() => [] as string[]);
    return entries.filter((e) => {
      const pid = Number(e.split('-')[0]);
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
  }

  /** Unregisters this box; the last live box writes the recorded values back. */
  async restore(): Promise<void> {
    await rm(this.#registration, { force: true });
    await KernelTunables.restoreIfUnused();
  }

  /** Writes the recorded values back when no live box is registered (also after a killed run). */
  static async restoreIfUnused(): Promise<void> {
    if ((await KernelTunables.#liveBoxes()).length > 0) return;
    const saved = join(KernelTunables.dir, 'values.json');
    const values = JSON.parse(await readFile(saved, 'utf8').catch(() => '{}')) as Record<string, string>;
    for (const [t, v] of Object.entries(values)) await writeFile(`/proc/sys/${t}`, v).catch(() => {});
    await rm(KernelTunables.dir, { recursive: true, force: true });
  }
}

/**
 * Removes the CNI result cache entries (libcni keeps them machine-wide, in /var/lib/cni/results) of a
 * network's sandboxes: `<network>-<sandbox>-eth0`, and containerd's `cni-loopback-<sandbox>-lo` of the same
 * sandboxes.
 */
export async function removeCniCache(network: string): Promise<void> {
  const dir = '/var/lib/cni/results';
  for (const entry of await readdir(dir).catch(() => [] as string[])) {
    const sandbox = new RegExp(`^${network}-([0-9a-f]+)-eth0$`).exec(entry)?.[1];
    if (!sandbox) continue;
    await rm(join(dir, entry), { force: true });
    await rm(join(dir, `cni-loopback-${sandbox}-lo`), { force: true });
  }
}
