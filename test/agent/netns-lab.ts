/**
 * @module
 * A small cluster made of network namespaces, for the agent's datapath tests:
 *
 * ```
 *                      ┌──────────── <p>-br: bridge br0 ─────────────┐
 *                      │            │             │                 │
 *   192.168.100.1 <p>-n1   192.168.100.2 <p>-n2   192.168.100.3 <p>-n3   192.168.100.100 <p>-ext
 *        cni0 10.244.1.1/24    cni0 10.244.2.1/24    cni0 10.244.3.1/24     lo: 198.51.100.10, .30,
 *         ├─ <p>-n1a 10.244.1.10   └─ <p>-n2a 10.244.2.10  └─ <p>-n3a 10.244.3.10      203.0.113.10
 *         └─ <p>-n1b 10.244.1.11                                            (echo server, default router)
 * ```
 *
 * With `egressNics`, a second subnet (`br1`, 192.168.200.0/24, the external namespace its router at .1) gives
 * those nodes a dedicated egress interface `eth1` (192.168.200.10+i); like a cloud's source check, the
 * external namespace drops packets from that subnet that arrive on its other interface. With `dualStack` too,
 * the subnet has its IPv6 twin `fd00:200::/64` (router `fd00:200::1`, nodes `fd00:200::10+i`, each with an IPv6
 * default route by eth1 at a higher metric than eth0's, as a second interface's router advertisement gives it),
 * under the same source check.
 *
 * With `vpcCni`, the pods are wired as the Amazon VPC CNI wires them instead: each pod takes a "VPC" address
 * `10.0.<node>.10+` (`VPC.pods`), a `/32` on its eth0 with its default route via `169.254.1.1` (a permanent
 * neighbour: the host side of its veth), and its node routes the `/32` to that veth; there is no cni0 and no route
 * between nodes' pods: the external namespace, which plays the VPC router, routes each pod address to its node.
 * The bridge enforces the VPC's source/destination check: a frame a node sends whose IPv4 source is not one of
 * that node's addresses (its node IP, its pods, the egress IPs the test gives it with {@link NetnsLab.vpcAllow})
 * is dropped and counted ({@link NetnsLab.vpcDrops}); the node masquerades pod traffic to non-VPC destinations
 * to its node IP, as the CNI does.
 *
 * With `dualStack`, IPv6 is on everywhere and every address has an IPv6 twin: nodes `fd00:100::<i>/64` on eth0
 * (the external namespace `fd00:100::100`, their IPv6 default router, with `EXTERNAL6`'s addresses on lo), pods
 * `fd00:244:<i>::10+/64` behind cni0 `fd00:244:<i>::1`, masqueraded (`ip6 testcni6`) and routed between nodes
 * like their IPv4 addresses; duplicate address detection is off in every namespace (no tentative addresses).
 *
 * Each node forwards, masquerades pod traffic leaving eth0 (like a CNI, in its own `ip testcni` table),
 * routes the other nodes' pod CIDRs through their node IPs, and has strict reverse-path filtering
 * (`all.rp_filter=1`) and IPv6 off (unless `dualStack`). Every name carries a random prefix; {@link NetnsLab.destroy} removes
 * every namespace (and with them every link) even after a failure.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeConfig } from '@kubernetes/client-node';
import { parseAgentConfig } from '../../src/agent/agent-config.ts';
import type { AgentInputs, LocalPod, NodeIdentity } from '../../src/agent/agent-inputs.ts';
import { AgentSync } from '../../src/agent/agent-sync.ts';
import { LinuxDataplane } from '../../src/agent/linux/linux-dataplane.ts';
import { NftSession } from '../../src/agent/linux/nft-session.ts';
import type { SysctlReader, SysctlWriter } from '../../src/agent/linux/proc-sys.ts';
import { commandLine, commandRunner, type RunCommand } from '../../src/agent/linux/run-command.ts';
import { type RunningAgent, runAgent } from '../../src/agent/run-agent.ts';
import { type DataplaneSettings, DEFAULT_DATAPLANE_SETTINGS } from '../../src/agent/settings.ts';
import type { AnyEgressPolicy } from '../../src/api/index.ts';
import { silentLogger } from '../../src/log.ts';
import { createVethPair, NamespaceSet } from '../support/netns.ts';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Kernel settings of the namespace `run` is bound to. An agent running inside this test process sees its
 * own namespace's `/proc/sys/net`, so its writes go through a command in the node's namespace (`tee`, with
 * the same privileges as the agent's other commands).
 */
export function netnsSysctl(run: RunCommand, root = '/proc/sys'): SysctlWriter {
  return async (key, value) => {
    await run('tee', [`${root}/${key}`], `${value}\n`);
  };
}

/** Reads the kernel settings of the namespace `run` is bound to (see {@link netnsSysctl}). */
export function netnsSysctlRead(run: RunCommand, root = '/proc/sys'): SysctlReader {
  return async (key) => (await run('cat', [`${root}/${key}`])).stdout.trim();
}

/** A simulated node. */
export interface LabNode {
  readonly name: string;
  readonly ns: string;
  readonly ip: string;
  readonly podCidr: string;
  readonly run: RunCommand;
  /** IPv6 address (`dualStack`). */
  readonly ip6?: string;
}

/** A simulated pod. */
export interface LabPod {
  readonly name: string;
  readonly ns: string;
  readonly ip: string;
  readonly node: LabNode;
  /** IPv6 address (`dualStack`). */
  readonly ip6?: string;
}

/** Addresses on the external namespace. */
export const EXTERNAL = {
  router: '192.168.100.100',
  inPolicy: '198.51.100.10',
  excluded: '198.51.100.30',
  outside: '203.0.113.10',
  /** The /24 of `inPolicy` and `excluded`: the labs' policies' `destinationCIDRs`. */
  destinations: '198.51.100.0/24',
} as const;

/** IPv6 addresses on the external namespace (`build` option `dualStack`), as {@link EXTERNAL}'s. */
export const EXTERNAL6 = {
  router: 'fd00:100::100',
  inPolicy: '2001:db8:100::10',
  excluded: '2001:db8:100::30',
  outside: '2001:db8:113::10',
  destinations: '2001:db8:100::/64',
} as const;

/** The IPv6 pod and service CIDRs of the `dualStack` lab. */
export const CLUSTER6 = { pods: 'fd00:244::/32', services: 'fd00:96::/108' } as const;

/** The subnet of dedicated egress interfaces (`build` option `egressNics`). */
export const EGRESS_SUBNET = { cidr: '192.168.200.0/24', router: '192.168.200.1' } as const;
/** Its IPv6 twin (`egressNics` with `dualStack`). */
export const EGRESS_SUBNET6 = { cidr: 'fd00:200::/64', router: 'fd00:200::1' } as const;

/** The "VPC" of the `vpcCni` shape: where its pods take their addresses. */
export const VPC = { pods: '10.0.0.0/16', nodes: '192.168.100.0/24' } as const;

/** TCP and UDP ports of the echo server. */
export const ECHO_PORTS = { tcp: 8080, udp: 8081 } as const;

/** The lab. */
export class NetnsLab {
  readonly prefix = `ce${randomBytes(3).toString('hex')}`;
  readonly nodes: LabNode[] = [];
  readonly pods: LabPod[] = [];
  readonly #namespaces = new NamespaceSet(this.prefix);
  readonly #children = new Set<ChildProcess>();

  get ext(): string {
    return `${this.prefix}-ext`;
  }

  /** The bridge's namespace, where the `vpcCni` shape checks sources. */
  get #br(): string {
    return `${this.prefix}-br`;
  }

  /** The `vpcCni` shape: lets `node` send from `ip` as well (the cloud has put it on the node's interface). */
  async vpcAllow(node: LabNode, ip: string): Promise<void> {
    await commandRunner(this.#br)('nft', [
      'add',
      'element',
      'bridge',
      'vpc',
      'eni_sources',
      `{ "p-${node.name.replace('node-', 'n')}" . ${ip} }`,
    ]);
  }

  /** The `vpcCni` shape: how many frames the source/destination check has dropped. */
  async vpcDrops(): Promise<number> {
    const out = await commandRunner(this.#br)('nft', ['-j', 'list', 'counter', 'bridge', 'vpc', 'drops']);
    const items = (JSON.parse(out.stdout) as { nftables: { counter?: { packets: number } }[] }).nftables;
    return items.find((i) => i.counter)?.counter?.packets ?? 0;
  }

  #dual = false;

  async #ns(name: string): Promise<string> {
    const ns = await this.#namespaces.create(name);
    if (this.#dual) {
      await commandRunner(ns)('sysctl', [
        '-q',
        '-w',
        'net.ipv6.conf.all.disable_ipv6=0',
        'net.ipv6.conf.default.disable_ipv6=0',
        'net.ipv6.conf.all.accept_dad=0',
        'net.ipv6.conf.default.accept_dad=0',
      ]);
    }
    return ns;
  }

  /**
   * Builds the topology with `nodeCount` nodes and the given pods (`{ node index: pod names }`); the nodes
   * listed in `egressNics` (indexes) get a dedicated egress interface `eth1`.
   */
  async build(
    nodeCount: number,
    pods: Record<number, string[]>,
    options: {
      readonly egressNics?: readonly number[];
      readonly vpcCni?: boolean;
      readonly dualStack?: boolean;
    } = {},
  ): Promise<void> {
    const vpc = options.vpcCni ?? false;
    const dual = options.dualStack ?? false;
    if (dual && vpc) throw new Error('the lab has no dual-stack VPC CNI shape');
    this.#dual = dual;
    const br = await this.#ns('br');
    const brRun = commandRunner(br);
    for (const bridge of ['br0', 'br1']) {
      await brRun('ip', ['link', 'add', bridge, 'type', 'bridge']);
      await brRun('ip', ['link', 'set', bridge, 'up']);
    }
    const attach = async (ns: string, port: string, dev = 'eth0', bridge = 'br0') => {
      await createVethPair(ns, dev, br, port);
      await brRun('ip', ['link', 'set', port, 'master', bridge]);
    };
    const egressNics = options.egressNics ?? [];

    const ext = await this.#ns('ext');
    await attach(ext, 'p-ext');
    const extRun = commandRunner(ext);
    await extRun('ip', ['addr', 'add', `${EXTERNAL.router}/24`, 'dev', 'eth0']);
    for (const ip of [EXTERNAL.inPolicy, EXTERNAL.excluded, EXTERNAL.outside]) {
      await extRun('ip', ['addr', 'add', `${ip}/32`, 'dev', 'lo']);
    }
    if (dual) {
      await extRun('ip', ['-6', 'addr', 'add', `${EXTERNAL6.router}/64`, 'dev', 'eth0']);
      for (const ip of [EXTERNAL6.inPolicy, EXTERNAL6.excluded, EXTERNAL6.outside]) {
        await extRun('ip', ['-6', 'addr', 'add', `${ip}/128`, 'dev', 'lo']);
      }
    }
    if (egressNics.length > 0) {
      await attach(ext, 'p-ext1', 'eth1', 'br1');
      await extRun('ip', ['addr', 'add', `${EGRESS_SUBNET.router}/24`, 'dev', 'eth1']);
      if (dual) await extRun('ip', ['-6', 'addr', 'add', `${EGRESS_SUBNET6.router}/64`, 'dev', 'eth1']);
      const check6 = dual ? `\t\tiifname != "eth1" ip6 saddr ${EGRESS_SUBNET6.cidr} counter drop\n` : '';
      await extRun(
        'nft',
        ['-f', '-'],
        'table inet sourcecheck {\n\tchain pre {\n\t\ttype filter hook prerouting priority raw; policy accept;\n' +
          `\t\tiifname != "eth1" ip saddr ${EGRESS_SUBNET.cidr} counter drop\n${check6}\t}\n}\n`,
      );
    }

    const sources: string[] = [];
    for (let i = 1; i <= nodeCount; i++) {
      const ns = await this.#ns(`n${i}`);
      const run = commandRunner(ns);
      await attach(ns, `p-n${i}`);
      const node: LabNode = {
        name: `node-${i}`,
        ns,
        ip: `192.168.100.${i}`,
        podCidr: `10.244.${i}.0/24`,
        run,
        ...(dual ? { ip6: `fd00:100::${i}` } : {}),
      };
      this.nodes.push(node);
      await run('ip', ['addr', 'add', `${node.ip}/24`, 'dev', 'eth0']);
      await run('ip', ['route', 'add', 'default', 'via', EXTERNAL.router]);
      if (dual) {
        await run('ip', ['-6', 'addr', 'add', `${node.ip6}/64`, 'dev', 'eth0']);
        await run('ip', ['-6', 'route', 'add', 'default', 'via', EXTERNAL6.router]);
        await run('sysctl', ['-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
        await run(
          'nft',
          ['-f', '-'],
          'table ip6 testcni6 {\n\tchain post {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n' +
            `\t\toifname "eth0" ip6 saddr ${CLUSTER6.pods} ip6 daddr != ${CLUSTER6.pods} masquerade\n\t}\n}\n`,
        );
      }
      if (egressNics.includes(i)) {
        await attach(ns, `p-n${i}e`, 'eth1', 'br1');
        await run('ip', ['addr', 'add', `192.168.200.${10 + i}/24`, 'dev', 'eth1']);
        if (dual) {
          await run('ip', ['-6', 'addr', 'add', `fd00:200::${10 + i}/64`, 'dev', 'eth1']);
          await run('ip', [
            '-6',
            'route',
            'add',
            'default',
            'via',
            EGRESS_SUBNET6.router,
            'dev',
            'eth1',
            'metric',
            '2048',
          ]);
        }
      }
      await run('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=1']);
      sources.push(`"p-n${i}" . ${node.ip}`);
      if (vpc) {
        sources.push(...(await this.#vpcPods(node, i, pods[i] ?? [])));
        continue;
      }
      await run('ip', ['link', 'add', 'cni0', 'type', 'bridge']);
      await run('ip', ['addr', 'add', `10.244.${i}.1/24`, 'dev', 'cni0']);
      if (dual) await run('ip', ['-6', 'addr', 'add', `fd00:244:${i}::1/64`, 'dev', 'cni0']);
      await run('ip', ['link', 'set', 'cni0', 'up']);
      await run(
        'nft',
        ['-f', '-'],
        'table ip testcni {\n\tchain post {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n' +
          '\t\toifname "eth0" ip saddr 10.244.0.0/16 ip daddr != 10.244.0.0/16 masquerade\n\t}\n}\n',
      );
      let podIndex = 10;
      for (const podName of pods[i] ?? []) {
        const podNs = await this.#ns(podName);
        const ip = `10.244.${i}.${podIndex}`;
        const hostSide = `veth${podIndex}`;
        await createVethPair(podNs, 'eth0', ns, hostSide);
        await run('ip', ['link', 'set', hostSide, 'master', 'cni0']);
        const podRun = commandRunner(podNs);
        await podRun('ip', ['addr', 'add', `${ip}/24`, 'dev', 'eth0']);
        await podRun('ip', ['route', 'add', 'default', 'via', `10.244.${i}.1`]);
        const ip6 = dual ? `fd00:244:${i}::${podIndex}` : undefined;
        if (ip6) {
          await podRun('ip', ['-6', 'addr', 'add', `${ip6}/64`, 'dev', 'eth0']);
          await podRun('ip', ['-6', 'route', 'add', 'default', 'via', `fd00:244:${i}::1`]);
        }
        this.pods.push({ name: podName, ns: podNs, ip, node, ...(ip6 ? { ip6 } : {}) });
        podIndex++;
      }
    }
    if (vpc) {
      await this.#vpcRouter(sources);
      return;
    }
    for (const a of this.nodes) {
      for (const [ib, b] of this.nodes.entries()) {
        if (a === b) continue;
        await a.run('ip', ['route', 'add', b.podCidr, 'via', b.ip]);
        if (dual) await a.run('ip', ['-6', 'route', 'add', `fd00:244:${ib + 1}::/64`, 'via', b.ip6!]);
      }
    }
  }

  /** The `vpcCni` shape's pods of node `i` (module comment); resolves with their source-check elements. */
  async #vpcPods(node: LabNode, i: number, names: readonly string[]): Promise<string[]> {
    const run = node.run;
    await run(
      'nft',
      ['-f', '-'],
      'table ip testcni {\n\tchain post {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n' +
        `\t\toifname "eth0" ip saddr ${VPC.pods} ip daddr != { ${VPC.pods}, ${VPC.nodes} } masquerade\n\t}\n}\n`,
    );
    const out: string[] = [];
    let podIndex = 10;
    for (const podName of names) {
      const podNs = await this.#ns(podName);
      const ip = `10.0.${i}.${podIndex}`;
      const hostSide = `veth${podIndex}`;
      await createVethPair(podNs, 'eth0', node.ns, hostSide);
      const mac = JSON.parse((await run('ip', ['-j', 'link', 'show', 'dev', hostSide])).stdout)[0].address;
      await run('ip', ['route', 'add', `${ip}/32`, 'dev', hostSide, 'scope', 'link']);
      const podRun = commandRunner(podNs);
      await podRun('ip', ['addr', 'add', `${ip}/32`, 'dev', 'eth0']);
      await podRun('ip', ['route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link']);
      await podRun('ip', ['route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0']);
      await podRun('ip', ['neigh', 'add', '169.254.1.1', 'lladdr', mac, 'dev', 'eth0', 'nud', 'permanent']);
      this.pods.push({ name: podName, ns: podNs, ip, node });
      out.push(`"p-n${i}" . ${ip}`);
      podIndex++;
    }
    return out;
  }

  /**
   * The `vpcCni` shape's VPC: the external namespace routes every pod address to its node; the bridge drops (and
   * counts) a frame from a node whose source is not among `sources` (`"<port>" . <ip>`).
   */
  async #vpcRouter(sources: readonly string[]): Promise<void> {
    const extRun = commandRunner(this.ext);
    await extRun('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
    for (const pod of this.pods) await extRun('ip', ['route', 'add', `${pod.ip}/32`, 'via', pod.node.ip]);
    await commandRunner(this.#br)(
      'nft',
      ['-f', '-'],
      'table bridge vpc {\n\tcounter drops {\n\t}\n' +
        `\tset eni_sources {\n\t\ttype ifname . ipv4_addr\n\t\telements = { ${sources.join(', ')} }\n\t}\n` +
        '\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n' +
        '\t\tiifname != "p-ext" ether type ip iifname . ip saddr != @eni_sources counter name "drops" drop\n' +
        '\t}\n}\n',
    );
  }

  /**
   * The pods on `node` as the agent sees them: namespace `shop`, label `app: api`, except pods whose name
   * ends in `b` (`app: other`, never selected).
   */
  localPods(node: LabNode): LocalPod[] {
    return this.pods
      .filter((p) => p.node === node)
      .map((p) => ({
        uid: `uid-${p.name}`,
        namespace: 'shop',
        name: p.name,
        ips: p.ip6 ? [p.ip, p.ip6] : [p.ip],
        labels: p.name.endsWith('b') ? { app: 'other' } : { app: 'api' },
      }));
  }

  /**
   * What the agent of `node` reads, with `policies`: the node on eth0 (MTU 1500; its dedicated egress
   * interface with `egress`), every lab node, its own {@link localPods}, namespace `shop` (no labels), and
   * the pod and service CIDRs (`clusterCidrs`, default 10.244.0.0/16 and 10.96.0.0/12).
   */
  inputs(
    node: LabNode,
    policies: readonly AnyEgressPolicy[],
    options: { readonly egress?: NodeIdentity['egress']; readonly clusterCidrs?: readonly string[] } = {},
  ): AgentInputs {
    return {
      node: {
        name: node.name,
        ip: node.ip,
        iface: 'eth0',
        mtu: 1500,
        ...(options.egress ? { egress: options.egress } : {}),
      },
      policies,
      nodes: this.nodes.map((n) => ({ name: n.name, ip: n.ip })),
      pods: this.localPods(node),
      namespaceLabels: new Map([['shop', {}]]),
      clusterCidrs: options.clusterCidrs ?? ['10.244.0.0/16', '10.96.0.0/12'],
    };
  }

  /**
   * A Linux dataplane that programs `node` as the agent does, with the default settings (or `settings`): commands in the
   * node's namespace, kernel settings through {@link netnsSysctl}, gratuitous ARP unless `announce` is
   * false, and with `nftSession` nftables writes through one `nft -i` session. The caller closes it.
   */
  dataplane(
    node: LabNode,
    options: {
      readonly announce?: boolean;
      readonly nftSession?: boolean;
      readonly settings?: DataplaneSettings;
    } = {},
  ) {
    return new LinuxDataplane({
      run: node.run,
      settings: options.settings ?? DEFAULT_DATAPLANE_SETTINGS,
      announce: options.announce ?? true,
      sysctl: netnsSysctl(node.run),
      sysctlRead: netnsSysctlRead(node.run),
      ...(options.nftSession ? { session: new NftSession({ line: commandLine(node.ns) }) } : {}),
    });
  }

  /** The pod named `name`. */
  pod(name: string): LabPod {
    const pod = this.pods.find((p) => p.name === name);
    if (!pod) throw new Error(`no pod ${name}`);
    return pod;
  }

  /** Starts the echo server in the external namespace and waits until it listens. */
  async startEcho(): Promise<void> {
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        this.ext,
        process.execPath,
        join(here, 'echo-server.ts'),
        String(ECHO_PORTS.tcp),
        String(ECHO_PORTS.udp),
        EXTERNAL.inPolicy,
        EXTERNAL.excluded,
        EXTERNAL.outside,
        ...(this.#dual ? [EXTERNAL6.inPolicy, EXTERNAL6.excluded, EXTERNAL6.outside] : []),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    this.#children.add(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('listening')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`echo server exited with ${code}`)));
    });
  }

  /**
   * Runs the echo client in `pod` and parses its JSON output lines; `stop` sends it SIGTERM (a `hold` with 0
   * rounds then reports).
   */
  client(
    pod: LabPod,
    args: readonly string[],
  ): { lines: Promise<unknown[]>; first: Promise<unknown>; stop: () => void } {
    const child = spawn(
      'ip',
      ['netns', 'exec', pod.ns, process.execPath, join(here, 'echo-client.ts'), ...args],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    this.#children.add(child);
    let out = '';
    let resolveFirst: (v: unknown) => void = () => {};
    const first = new Promise<unknown>((r) => {
      resolveFirst = r;
    });
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolveFirst(JSON.parse(line));
    });
    const lines = new Promise<unknown[]>((resolve, reject) => {
      child.on('exit', (code) => {
        this.#children.delete(child);
        if (code !== 0) reject(new Error(`echo client exited with ${code}`));
        else
          resolve(
            out
              .trim()
              .split('\n')
              .map((l) => JSON.parse(l) as unknown),
          );
      });
    });
    return { lines, first, stop: () => child.kill('SIGTERM') };
  }

  /** Source address the echo server saw for a TCP connection from `pod` to each of `ips`. */
  async sources(pod: LabPod, ips: readonly string[], bytes = 16): Promise<Record<string, string>> {
    const [out] = await this.client(pod, ['tcp', String(ECHO_PORTS.tcp), String(bytes), ...ips]).lines;
    return out as Record<string, string>;
  }

  /** Runs `cloud-egress agent <args>` (`src/cli/main.ts`) inside `node`'s namespace; resolves with its exit code. */
  async agentCli(node: LabNode, args: readonly string[]): Promise<number | null> {
    const cli = join(here, '..', '..', 'src', 'cli', 'main.ts');
    const child = spawn('ip', ['netns', 'exec', node.ns, process.execPath, cli, 'agent', ...args], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    this.#children.add(child);
    return new Promise((resolve) =>
      child.on('exit', (code) => {
        this.#children.delete(child);
        resolve(code);
      }),
    );
  }

  /**
   * Text snapshot of a node's routing and filtering state: `nft list ruleset`, `ip rule`,
   * `ip route show table all`, `ip addr`, links, static FDB and neighbour entries.
   */
  async snapshot(node: LabNode): Promise<Record<string, string>> {
    const read = async (file: string, args: string[]) => (await node.run(file, args)).stdout;
    return {
      // Stateless: counter values change with traffic; the rules and objects are what the agent could leave.
      ruleset: await read('nft', ['-s', 'list', 'ruleset']),
      rules: await read('ip', ['rule']),
      rules6: await read('ip', ['-6', 'rule']),
      routes: await read('ip', ['route', 'show', 'table', 'all']),
      routes6: await read('ip', ['-6', 'route', 'show', 'table', 'all']),
      addresses: await read('ip', ['addr']),
      links: await read('ip', ['-o', 'link']),
      // Learned (dynamic) entries come and go with traffic; the static ones are what the agent could leave.
      fdb: (await read('bridge', ['fdb', 'show']))
        .split('\n')
        .filter((l) => l.includes('permanent'))
        .join('\n'),
      neighbours: await read('ip', ['neigh', 'show', 'nud', 'permanent']),
    };
  }

  /** Stops every agent and process and deletes every namespace the lab created. */
  async destroy(): Promise<void> {
    for (const agent of this.#agents.splice(0)) await agent.stop();
    for (const child of this.#children) child.kill('SIGKILL');
    this.#children.clear();
    await this.#namespaces.destroy();
  }

  readonly #agents: RunningAgent[] = [];

  /**
   * `runAgent` for `node` against the API server of `kubeConfig`: the node's name, `--interface eth0`, `/healthz`
   * on a free loopback port (this process is outside the node's namespace), then the flags `args`; every command
   * and kernel setting bound to the node's namespace. {@link destroy} stops it.
   */
  async runAgent(node: LabNode, args: readonly string[], kubeConfig: KubeConfig): Promise<RunningAgent> {
    const lab = [
      '--node-name',
      node.name,
      '--interface',
      'eth0',
      '--health-host',
      '127.0.0.1',
      '--health-port',
      '0',
    ];
    const agent = await runAgent(parseAgentConfig([...lab, ...args], {}), {
      logger: silentLogger(),
      commandLine: commandLine(node.ns),
      sysctl: netnsSysctl(node.run),
      sysctlRead: netnsSysctlRead(node.run),
      kubeConfig,
    });
    this.#agents.push(agent);
    return agent;
  }

  /** Starts the echo server in `pod` (TCP on every address of it), for pod-to-pod checks with {@link sources}. */
  async startPodEcho(pod: LabPod): Promise<void> {
    const server = join(here, 'echo-server.ts');
    const args = [
      'netns',
      'exec',
      pod.ns,
      process.execPath,
      server,
      String(ECHO_PORTS.tcp),
      String(ECHO_PORTS.udp),
    ];
    const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    this.#children.add(child);
    await once(child.stdout!, 'data'); // "listening"
  }
}

/**
 * One {@link AgentSync} per lab node, each over a dataplane with one `nft -i` session, as the agent runs:
 * {@link start} makes a fresh one for a node (a restart), {@link syncAll} syncs every node with `inputs(node)`,
 * {@link close} closes every dataplane made.
 */
export class LabAgents {
  /** The current agent of each node, by node name. */
  readonly byNode = new Map<string, AgentSync>();
  /** Every dataplane made, the replaced ones included. */
  readonly dataplanes: LinuxDataplane[] = [];
  readonly #lab: NetnsLab;
  readonly #inputs: (node: LabNode) => AgentInputs;
  readonly #settings: DataplaneSettings;

  constructor(lab: NetnsLab, inputs: (node: LabNode) => AgentInputs, settings = DEFAULT_DATAPLANE_SETTINGS) {
    this.#lab = lab;
    this.#inputs = inputs;
    this.#settings = settings;
  }

  /** A fresh agent for `node`, replacing the one it had. */
  start(node: LabNode): AgentSync {
    const dataplane = this.#lab.dataplane(node, { nftSession: true, settings: this.#settings });
    this.dataplanes.push(dataplane);
    const agent = new AgentSync({ dataplane, settings: this.#settings });
    this.byNode.set(node.name, agent);
    return agent;
  }

  /** The current agent of the node named `name`. */
  of(name: string): AgentSync {
    const agent = this.byNode.get(name);
    if (!agent) throw new Error(`no agent started for ${name}`);
    return agent;
  }

  /** Syncs every lab node's agent (started first where there is none) with its inputs, one after another. */
  async syncAll(): Promise<void> {
    for (const node of this.#lab.nodes)
      await (this.byNode.get(node.name) ?? this.start(node)).sync(this.#inputs(node));
  }

  /** Closes every dataplane made. */
  async close(): Promise<void> {
    for (const d of this.dataplanes) await d.close();
  }
}
