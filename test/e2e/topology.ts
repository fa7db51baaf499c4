/**
 * @module
 * The cloud in a box, as Linux network namespaces: a "VPC" router, one namespace per instance, pods as
 * namespaces behind each node, and an echo server "on the internet".
 *
 * ```
 *                        198.51.100.10  <p>-echo   (HTTP: answers with the caller's IP)
 *                                 │ eth0
 *                                 │ echo  198.51.100.1/24
 *   ┌──────────────────────── <p>-vpc ──────────────────────────────────────────────┐
 *   │ lo: 10.0.1.1, 10.0.2.1 (the subnets' routers)    blackhole 10.0.0.0/16         │
 *   │ per ENI IP: <ip>/32 dev <node link>   (vpc-sync: what LocalStack says now)     │
 *   │ forward: iifname . ip saddr must be in @eni_sources (source/destination check) │
 *   │ internet option: 1:1 NAT of Elastic IPs on link inet 203.0.113.1/25 (igw-plan) ├─ <p>-inet 203.0.113.10
 *   └──┬──────────┬──────────┬──────────┬──────────┬──────────┬────────────────────┘     (a second echo)
 *      │ proxy ARP on every node link
 *   <p>-gw-a1  <p>-gw-a2  <p>-wk-a   <p>-gw-b1  <p>-gw-b2  <p>-wk-b     eth0: primary IP in its zone's /24
 *      cni0 10.244.<n>.1/24, pods <p>-<pod> at 10.244.<n>.10+ (masqueraded to the node IP, as a CNI does)
 *      boxvx: the CNI's VXLAN overlay between nodes' pod CIDRs (Flannel's scheme; outer IPs = node IPs)
 * ```
 *
 * With the `vpcCni` pod network the pods are wired as the Amazon VPC CNI wires them instead (what is modelled and
 * what is not: test/e2e/README.md, "The VPC CNI shape"):
 *
 * ```
 *   pod <p>-<pod>: eth0 <VPC address>/32, default via 169.254.1.1 (a permanent neighbour: the host side of its veth)
 *   node: route <pod address>/32 dev veth<k> scope link; proxy ARP on eth0 (the router asks for the pod's address)
 *         AWS SNAT: to a destination outside the VPC, not local, not out a vlan device -> snat to the node IP
 *   the pod addresses are secondary IPs of the node's primary ENI in LocalStack, so the router delivers them
 *   gateway nodes: eth1, a dedicated ENI (its own router link e-<node>) for the egress IPs
 * ```
 *
 * In dual stack (`build` option `ipv6`, the box pod network only) every address has an IPv6 twin: the VPC's
 * /56 from LocalStack, each node its primary ENI's IPv6 address as a /128 on eth0 with its default route via the
 * router's `fe80::1` on every node link (so all IPv6 traffic between nodes goes through the router, as in a VPC),
 * the echo server at `2001:db8:5100::10`, pods `fd00:244:<n>::10+/64` behind cni0 `fd00:244:<n>::1` (masqueraded
 * to the node's IPv6 address) and routed between nodes over the same overlay device (IPv6 inside the IPv4
 * underlay, via each node's `fe80::244:<n>` on it). Nodes keep their IPv6 addresses while eth0 is down
 * (`keep_addr_on_down`), as they keep their IPv4 ones.
 *
 * Nothing is created in the host's namespace: every veth is made directly inside its two namespaces, so
 * deleting the namespaces removes every link. Every name carries a random per-run prefix; {@link
 * Topology.destroy} kills what runs inside and deletes every namespace, even after a failed build.
 */
import { randomBytes } from 'node:crypto';
import { commandRunner, type RunCommand } from '../../src/agent/linux/run-command.ts';
import { createVethPair, NamespaceSet } from '../support/netns.ts';

const host = commandRunner();

/** The VPC's layout (addresses only ever exist inside the box's namespaces). */
export const VPC = {
  cidr: '10.0.0.0/16',
  echoCidr: '198.51.100.0/24',
  echoRouter: '198.51.100.1',
  echoIp: '198.51.100.10',
  echoPort: 8080,
  podCidrs: '10.244.0.0/16',
} as const;

/** The IPv6 side of the box's layout in dual stack (the VPC's own /56 comes from LocalStack). */
export const VPC6 = {
  echoCidr: '2001:db8:5100::/64',
  echoRouter: '2001:db8:5100::1',
  echoIp: '2001:db8:5100::10',
  podCidrs: 'fd00:244::/32',
  /** The router's address on every node link: the nodes' IPv6 default router. */
  router: 'fe80::1',
} as const;

/** The IPv6 pod CIDR of the node with pod CIDR index `index`. */
export function podCidr6(index: number): string {
  return `fd00:244:${index.toString(16)}::/64`;
}

/** The IPv6 addresses of a dual-stack box, from its cloud. */
export interface Ipv6Layout {
  /** The VPC's IPv6 CIDR (unassigned addresses in it go nowhere). */
  readonly vpcCidr: string;
  /** Node name -> its IPv6 address. */
  readonly nodes: ReadonlyMap<string, string>;
}

/** The CNI's IPv6 masquerade on each node in dual stack. */
const CNI_RULESET6 =
  'table ip6 boxcni6 {\n\tchain post {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n' +
  `\t\toifname "eth0" ip6 saddr ${VPC6.podCidrs} ip6 daddr != ${VPC6.podCidrs} masquerade\n\t}\n}\n`;

/** IPv6 on, without duplicate address detection (every address in the box is unique by construction). */
const IPV6_SYSCTLS = [
  'net.ipv6.conf.all.disable_ipv6=0',
  'net.ipv6.conf.default.disable_ipv6=0',
  'net.ipv6.conf.all.accept_dad=0',
  'net.ipv6.conf.default.accept_dad=0',
  'net.ipv6.conf.all.keep_addr_on_down=1',
  'net.ipv6.conf.default.keep_addr_on_down=1',
  'net.ipv6.conf.all.forwarding=1',
];

/**
 * The internet beyond the VPC's internet gateway (the `internet` option of the network box): an uplink network
 * with an echo server, reached from the VPC only through the gateway's 1:1 NAT of Elastic IPs (igw-plan.ts).
 * The Elastic IPs are allocated from the rest of the /24, off that network, so only the gateway routes them.
 */
export const INTERNET = {
  link: 'inet',
  cidr: '203.0.113.0/25',
  prefixLength: 25,
  router: '203.0.113.1',
  echoIp: '203.0.113.10',
  /** The first Elastic IP the box allocates (AllocateAddress `Address`). */
  firstElasticIp: '203.0.113.200',
} as const;

/**
 * The Amazon VPC CNI's SNAT on a node (AWS-SNAT-CHAIN, as nftables): traffic to a destination outside the VPC,
 * not to a local address and not out a `vlan` device, leaves with the node's primary IP.
 */
export function awsSnatRuleset(nodeIp: string): string {
  return (
    'table ip boxawscni {\n\tchain post {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n' +
    `\t\tip daddr != ${VPC.cidr} oifname != "vlan*" fib daddr type != local snat to ${nodeIp} fully-random\n\t}\n}\n`
  );
}

/** The gateway nodes' dedicated ENI in the `vpcCni` pod network: its device in the node and its tag. */
export const EGRESS_ENI = { device: 'eth1', tag: 'cloudegress.io/egress=true' } as const;

/** The address of a pod in the `vpcCni` pod network: the `k`th pod of the node with index `index`, in its subnet. */
export function vpcPodIp(spec: NodeSpec, k: number): string {
  return `${subnetPrefix(spec.zone)}.${150 + spec.index * 10 + k}`;
}

/** The primary IP of a gateway node's dedicated ENI in the `vpcCni` pod network. */
export function egressEniIp(spec: NodeSpec): string {
  return `${subnetPrefix(spec.zone)}.${30 + spec.index}`;
}

function subnetPrefix(zone: ZoneSpec): string {
  return zone.cidr.split('.').slice(0, 3).join('.');
}

/** The CNI's own SNAT on each node: pod traffic leaving the node shows the node IP unless something else applies. */
export const CNI_RULESET =
  'table ip boxcni {\n\tchain post {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n' +
  `\t\toifname "eth0" ip saddr ${VPC.podCidrs} ip daddr != ${VPC.podCidrs} masquerade\n\t}\n}\n`;

/** The pod network between nodes, as an overlay CNI builds it (VXLAN, as Flannel does). */
export const CNI_OVERLAY = { device: 'boxvx', vni: 1, port: 8472 } as const;

/** The overlay device's MAC on the node with pod CIDR index `index`. */
export function overlayMac(index: number): string {
  return `02:bc:00:00:00:${index.toString(16).padStart(2, '0')}`;
}

/** A node's IPv6 link-local address on the overlay device in dual stack: `fe80::244:<index>`. */
function overlayLinkLocal(entries: readonly OverlayEntry[], node: BoxNode): string {
  const index = entries.find((e) => e.node === node)?.index ?? node.index;
  return `fe80::244:${index.toString(16)}`;
}

/** A zone: its subnet and the subnet router address. */
export interface ZoneSpec {
  readonly name: string;
  readonly cidr: string;
  readonly router: string;
}

/** The two zones of the box. */
export const ZONES: readonly ZoneSpec[] = [
  { name: 'us-east-1a', cidr: '10.0.1.0/24', router: '10.0.1.1' },
  { name: 'us-east-1b', cidr: '10.0.2.0/24', router: '10.0.2.1' },
];

/** What a node is made from. */
export interface NodeSpec {
  /** Kubernetes node name, e.g. `gw-a1`. */
  readonly name: string;
  readonly zone: ZoneSpec;
  /** Primary IP (the ENI's primary private IP). */
  readonly ip: string;
  /** Gateway-capable (labelled for the EgressGateway's node selector). */
  readonly gateway: boolean;
  /** Index used for the pod CIDR 10.244.<index>.0/24. */
  readonly index: number;
  /** In dual stack: its IPv6 address (the primary ENI's). */
  readonly ip6?: string;
}

/** The default six instances: two gateway-capable nodes and one worker per zone. */
export const DEFAULT_NODES: readonly NodeSpec[] = [
  { name: 'gw-a1', zone: ZONES[0]!, ip: '10.0.1.11', gateway: true, index: 1 },
  { name: 'gw-a2', zone: ZONES[0]!, ip: '10.0.1.12', gateway: true, index: 2 },
  { name: 'gw-b1', zone: ZONES[1]!, ip: '10.0.2.11', gateway: true, index: 3 },
  { name: 'gw-b2', zone: ZONES[1]!, ip: '10.0.2.12', gateway: true, index: 4 },
  { name: 'wk-a', zone: ZONES[0]!, ip: '10.0.1.21', gateway: false, index: 5 },
  { name: 'wk-b', zone: ZONES[1]!, ip: '10.0.2.21', gateway: false, index: 6 },
];

/** A node namespace. */
export interface BoxNode extends NodeSpec {
  /** Its network namespace. */
  readonly ns: string;
  /** The VPC router's end of its link. */
  readonly vpcLink: string;
  readonly podCidr: string;
  /** The `vpcCni` pod network's gateway nodes: the router's end of the dedicated ENI's link. */
  readonly egressLink?: string;
  /** Runs a command inside the node. */
  readonly run: RunCommand;
}

/** One node's place in the pod overlay. */
interface OverlayEntry {
  readonly node: BoxNode;
  readonly index: number;
  readonly podCidr: string;
}

/** A pod namespace. */
export interface BoxPod {
  readonly name: string;
  readonly ns: string;
  readonly ip: string;
  /** In dual stack: its IPv6 address. */
  readonly ip6?: string;
  readonly node: BoxNode;
}

/** Thrown when the box cannot be built; `cause` is the failing command. */
export class TopologyError extends Error {
  override readonly name = 'TopologyError';
}

/** Namespaces on this machine whose name starts with `prefix`. */
export async function namespacesWithPrefix(prefix: string): Promise<string[]> {
  const { stdout } = await host('ip', ['netns', 'list']);
  return stdout
    .split('\n')
    .map((line) => line.split(' ')[0]!)
    .filter((name) => name.startsWith(prefix));
}

/** Links of the host's own namespace whose name contains `text`. */
export async function hostLinksContaining(text: string): Promise<string[]> {
  const { stdout } = await host('ip', ['-o', 'link', 'show']);
  return stdout
    .split('\n')
    .map((line) => line.split(': ')[1]?.split('@')[0] ?? '')
    .filter((name) => name.includes(text));
}

/**
 * How pods get their network: `box` builds pod namespaces behind a `cni0` bridge and a VXLAN overlay itself
 * (the process box's pods); `vpcCni` builds them as the Amazon VPC CNI does (VPC addresses, no overlay, the
 * CNI's SNAT; gateway nodes get a dedicated egress ENI); `cni` leaves that to a real CNI plugin chain run by the
 * nodes' container runtime (test/cluster/), keeping only the node's uplink masquerade.
 */
export type PodNetwork = 'box' | 'vpcCni' | 'cni';

/** A network outside the VPC attached to its router (e.g. the control plane's), exempt from the source check. */
export interface UplinkSpec {
  /** Namespace suffix and router link name. */
  readonly name: string;
  /** The namespace's address, e.g. 192.0.2.10. */
  readonly address: string;
  /** The router's address on the link, e.g. 192.0.2.1. */
  readonly router: string;
  readonly prefixLength: number;
}

/** The box. Build with {@link Topology.build}; always {@link Topology.destroy}. */
export class Topology {
  /** Random per-run prefix of every namespace name. */
  readonly prefix = `cb${randomBytes(3).toString('hex')}`;
  readonly nodes: BoxNode[] = [];
  readonly pods: BoxPod[] = [];
  readonly #namespaces = new NamespaceSet(this.prefix);
  #ipv6: Ipv6Layout | undefined;

  /** In dual stack: the IPv6 layout the box was built with. */
  get ipv6(): Ipv6Layout | undefined {
    return this.#ipv6;
  }

  /** The VPC router namespace. */
  get vpc(): string {
    return `${this.prefix}-vpc`;
  }

  /** The echo server's namespace. */
  get echo(): string {
    return `${this.prefix}-echo`;
  }

  /** Every namespace created so far. */
  get namespaces(): readonly string[] {
    return this.#namespaces.names;
  }

  /** The node called `name`. */
  node(name: string): BoxNode {
    const node = this.nodes.find((n) => n.name === name);
    if (!node) throw new TopologyError(`no node ${name}`);
    return node;
  }

  /** The pod called `name`. */
  pod(name: string): BoxPod {
    const pod = this.pods.find((p) => p.name === name);
    if (!pod) throw new TopologyError(`no pod ${name}`);
    return pod;
  }

  async #ns(name: string): Promise<string> {
    const ns = await this.#namespaces.create(name);
    if (this.#ipv6) await commandRunner(ns)('sysctl', ['-q', '-w', ...IPV6_SYSCTLS]);
    return ns;
  }

  /**
   * Builds the VPC, the echo namespace, the nodes and the pods (`pods`: node name -> pod names), in dual stack
   * with `ipv6` (the box pod network only). On failure everything created so far is removed before the error is
   * rethrown.
   */
  async build(
    nodes: readonly NodeSpec[] = DEFAULT_NODES,
    pods: Record<string, readonly string[]> = {},
    options: { podNetwork?: PodNetwork; uplinks?: readonly UplinkSpec[]; ipv6?: Ipv6Layout } = {},
  ): Promise<void> {
    if (options.ipv6 && (options.podNetwork ?? 'box') !== 'box') {
      throw new TopologyError(`dual stack needs the box pod network, not ${options.podNetwork}`);
    }
    this.#ipv6 = options.ipv6;
    try {
      await this.#build(nodes, pods, options.podNetwork ?? 'box');
      for (const uplink of options.uplinks ?? []) await this.#attach(uplink);
    } catch (err) {
      await this.destroy();
      throw new TopologyError(`building the box failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /** The namespace of an attached uplink network. */
  uplink(name: string): string {
    return `${this.prefix}-${name}`;
  }

  async #attach(uplink: UplinkSpec): Promise<void> {
    const ns = await this.#ns(uplink.name);
    await createVethPair(ns, 'eth0', this.vpc, uplink.name);
    await commandRunner(this.vpc)('ip', [
      'addr',
      'add',
      `${uplink.router}/${uplink.prefixLength}`,
      'dev',
      uplink.name,
    ]);
    const run = commandRunner(ns);
    await run('ip', ['addr', 'add', `${uplink.address}/${uplink.prefixLength}`, 'dev', 'eth0']);
    await run('ip', ['route', 'add', 'default', 'via', uplink.router]);
  }

  async #build(
    nodes: readonly NodeSpec[],
    pods: Record<string, readonly string[]>,
    podNetwork: PodNetwork,
  ): Promise<void> {
    const vpc = await this.#ns('vpc');
    const vpcRun = commandRunner(vpc);
    await vpcRun('sysctl', [
      '-q',
      '-w',
      'net.ipv4.ip_forward=1',
      'net.ipv4.conf.all.rp_filter=0',
      'net.ipv4.conf.default.rp_filter=0',
      'net.ipv4.conf.all.send_redirects=0',
    ]);
    for (const zone of ZONES) await vpcRun('ip', ['addr', 'add', `${zone.router}/32`, 'dev', 'lo']);
    // Unassigned VPC addresses go nowhere, silently (no ICMP), as in a real VPC.
    await vpcRun('ip', ['route', 'add', 'blackhole', VPC.cidr]);
    const v6 = this.#ipv6;
    if (v6) await vpcRun('ip', ['-6', 'route', 'add', 'blackhole', v6.vpcCidr]);

    const echo = await this.#ns('echo');
    await createVethPair(echo, 'eth0', vpc, 'echo');
    await vpcRun('ip', ['addr', 'add', `${VPC.echoRouter}/24`, 'dev', 'echo']);
    const echoRun = commandRunner(echo);
    await echoRun('ip', ['addr', 'add', `${VPC.echoIp}/24`, 'dev', 'eth0']);
    await echoRun('ip', ['route', 'add', 'default', 'via', VPC.echoRouter]);
    if (v6) {
      await vpcRun('ip', ['-6', 'addr', 'add', `${VPC6.echoRouter}/64`, 'dev', 'echo']);
      await echoRun('ip', ['-6', 'addr', 'add', `${VPC6.echoIp}/64`, 'dev', 'eth0']);
      await echoRun('ip', ['-6', 'route', 'add', 'default', 'via', VPC6.echoRouter]);
    }

    for (const spec of nodes) {
      const ns = await this.#ns(spec.name);
      const vpcLink = `n-${spec.name}`.slice(0, 15);
      await createVethPair(ns, 'eth0', vpc, vpcLink);
      // The router answers ARP for every address it routes elsewhere, so nodes of one subnet reach each
      // other through it (as every packet in a VPC goes through the VPC's router).
      await vpcRun('sysctl', ['-q', '-w', `net.ipv4.conf.${vpcLink}.proxy_arp=1`]);
      const run = commandRunner(ns);
      const podCidr = `10.244.${spec.index}.0/24`;
      const egressLink = podNetwork === 'vpcCni' && spec.gateway ? `e-${spec.name}`.slice(0, 15) : undefined;
      const ip6 = v6?.nodes.get(spec.name);
      if (v6 && !ip6) throw new TopologyError(`no IPv6 address for ${spec.name}`);
      const node: BoxNode = {
        ...spec,
        ns,
        vpcLink,
        podCidr,
        run,
        ...(egressLink ? { egressLink } : {}),
        ...(ip6 ? { ip6 } : {}),
      };
      this.nodes.push(node);
      // Loose reverse-path filtering, as overlay CNIs (Calico, Flannel) require: replies to pods arrive on
      // the overlay device from outside addresses.
      await run('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=2']);
      if (podNetwork === 'cni') {
        await run(
          'ip',
          ['-batch', '-'],
          `addr add ${spec.ip}/24 dev eth0\nroute add default via ${spec.zone.router}\n`,
        );
        await run('nft', ['-f', '-'], CNI_RULESET);
        continue;
      }
      if (podNetwork === 'vpcCni') {
        await this.#vpcCniNode(node, pods[spec.name] ?? []);
        continue;
      }
      await run(
        'ip',
        ['-batch', '-'],
        [
          `addr add ${spec.ip}/24 dev eth0`,
          `route add default via ${spec.zone.router}`,
          'link add cni0 type bridge',
          `addr add 10.244.${spec.index}.1/24 dev cni0`,
          'link set cni0 up',
          `link add ${CNI_OVERLAY.device} type vxlan id ${CNI_OVERLAY.vni} dstport ${CNI_OVERLAY.port} local ${spec.ip} dev eth0 nolearning`,
          `link set ${CNI_OVERLAY.device} address ${overlayMac(spec.index)} mtu 1450`,
          `addr add 10.244.${spec.index}.0/32 dev ${CNI_OVERLAY.device}`,
          `link set ${CNI_OVERLAY.device} up`,
          '',
        ].join('\n'),
      );
      await run('nft', ['-f', '-'], CNI_RULESET);
      const pod6 = podCidr6(spec.index).replace('::/64', '::');
      if (ip6) await this.#nodeIpv6(node, ip6, pod6);
      let host = 10;
      for (const podName of pods[spec.name] ?? []) {
        const podNs = await this.#ns(podName);
        const ip = `10.244.${spec.index}.${host}`;
        const hostSide = `veth${host}`;
        await createVethPair(podNs, 'eth0', ns, hostSide);
        await run('ip', ['link', 'set', hostSide, 'master', 'cni0']);
        const podRun = commandRunner(podNs);
        await podRun('ip', ['addr', 'add', `${ip}/24`, 'dev', 'eth0']);
        await podRun('ip', ['route', 'add', 'default', 'via', `10.244.${spec.index}.1`]);
        const podIp6 = ip6 ? `${pod6}${host.toString(16)}` : undefined;
        if (podIp6) {
          await podRun('ip', ['-6', 'addr', 'add', `${podIp6}/64`, 'dev', 'eth0']);
          await podRun('ip', ['-6', 'route', 'add', 'default', 'via', `${pod6}1`]);
        }
        this.pods.push({ name: podName, ns: podNs, ip, node, ...(podIp6 ? { ip6: podIp6 } : {}) });
        host++;
      }
    }
    if (podNetwork === 'box') await this.#overlay();
  }

  /**
   * A node's IPv6 side in dual stack (module comment): its /128 on eth0, the default route via the router's
   * link-local address (on the router's end of every node link), cni0's IPv6 address and the CNI's IPv6
   * masquerade.
   */
  async #nodeIpv6(node: BoxNode, ip6: string, pod6: string): Promise<void> {
    await commandRunner(this.vpc)('ip', ['-6', 'addr', 'add', `${VPC6.router}/64`, 'dev', node.vpcLink]);
    await node.run(
      'ip',
      ['-batch', '-'],
      [
        `addr add ${ip6}/128 dev eth0`,
        `route add default via ${VPC6.router} dev eth0`,
        `addr add ${pod6}1/64 dev cni0`,
        '',
      ].join('\n'),
    );
    await node.run('nft', ['-f', '-'], CNI_RULESET6);
  }

  /** A node of the `vpcCni` pod network (module comment): eth0, the dedicated ENI of a gateway, the pods. */
  async #vpcCniNode(node: BoxNode, podNames: readonly string[]): Promise<void> {
    const { run } = node;
    await run(
      'ip',
      ['-batch', '-'],
      `addr add ${node.ip}/24 dev eth0\nroute add default via ${node.zone.router}\n`,
    );
    await run('sysctl', ['-q', '-w', 'net.ipv4.conf.eth0.proxy_arp=1']);
    await run('nft', ['-f', '-'], awsSnatRuleset(node.ip));
    if (node.egressLink) {
      await createVethPair(node.ns, EGRESS_ENI.device, this.vpc, node.egressLink);
      await commandRunner(this.vpc)('sysctl', ['-q', '-w', `net.ipv4.conf.${node.egressLink}.proxy_arp=1`]);
      // No route of its own: only traffic the agent policy-routes to it leaves by it (ipamd leaves the ENI alone).
      await run('ip', ['addr', 'add', `${egressEniIp(node)}/24`, 'dev', EGRESS_ENI.device, 'noprefixroute']);
    }
    let k = 0;
    for (const podName of podNames) {
      const podNs = await this.#ns(podName);
      const ip = vpcPodIp(node, k);
      const hostSide = `veth${k}`;
      await createVethPair(podNs, 'eth0', node.ns, hostSide);
      const mac = JSON.parse((await run('ip', ['-j', 'link', 'show', 'dev', hostSide])).stdout)[0].address;
      await run('ip', ['route', 'add', `${ip}/32`, 'dev', hostSide, 'scope', 'link']);
      const podRun = commandRunner(podNs);
      await podRun(
        'ip',
        ['-batch', '-'],
        [
          `addr add ${ip}/32 dev eth0`,
          'route add 169.254.1.1 dev eth0 scope link',
          'route add default via 169.254.1.1 dev eth0',
          `neigh add 169.254.1.1 lladdr ${mac} dev eth0 nud permanent`,
          '',
        ].join('\n'),
      );
      this.pods.push({ name: podName, ns: podNs, ip, node });
      k++;
    }
  }

  /**
   * The pod network between nodes whose pod CIDRs a controller-manager allocated (the `cni` pod network):
   * the same VXLAN overlay as the box's own, with each node's index taken from its /24 (10.244.<index>.0/24).
   */
  async podOverlay(podCidrs: ReadonlyMap<string, string>): Promise<void> {
    const entries: OverlayEntry[] = [];
    for (const [name, podCidr] of podCidrs) {
      const index = Number(podCidr.split('.')[2]);
      const node = this.node(name);
      entries.push({ node, index, podCidr });
      await node.run(
        'ip',
        ['-batch', '-'],
        [
          `link add ${CNI_OVERLAY.device} type vxlan id ${CNI_OVERLAY.vni} dstport ${CNI_OVERLAY.port} local ${node.ip} dev eth0 nolearning`,
          `link set ${CNI_OVERLAY.device} address ${overlayMac(index)} mtu 1450`,
          `addr add 10.244.${index}.0/32 dev ${CNI_OVERLAY.device}`,
          `link set ${CNI_OVERLAY.device} up`,
          '',
        ].join('\n'),
      );
    }
    await this.#overlay(entries);
  }

  /** The CNI's overlay between nodes (Flannel's VXLAN scheme): static FDB, neighbour and route per peer. */
  async #overlay(
    entries: readonly OverlayEntry[] = this.nodes.map((node) => ({
      node,
      index: node.index,
      podCidr: node.podCidr,
    })),
  ): Promise<void> {
    for (const { node } of entries) {
      const lines: string[] = [];
      if (this.#ipv6) lines.push(`addr add ${overlayLinkLocal(entries, node)}/64 dev ${CNI_OVERLAY.device}`);
      for (const peer of entries) {
        if (peer.node === node) continue;
        const mac = overlayMac(peer.index);
        lines.push(
          `neigh replace 10.244.${peer.index}.0 lladdr ${mac} dev ${CNI_OVERLAY.device} nud permanent`,
          `route add ${peer.podCidr} via 10.244.${peer.index}.0 dev ${CNI_OVERLAY.device} onlink`,
        );
        if (this.#ipv6) {
          const via = overlayLinkLocal(entries, peer.node);
          lines.push(
            `neigh replace ${via} lladdr ${mac} dev ${CNI_OVERLAY.device} nud permanent`,
            `route add ${podCidr6(peer.index)} via ${via} dev ${CNI_OVERLAY.device}`,
          );
        }
        await node.run('bridge', ['fdb', 'append', mac, 'dev', CNI_OVERLAY.device, 'dst', peer.node.ip]);
      }
      await node.run('ip', ['-batch', '-'], `${lines.join('\n')}\n`);
    }
  }

  /** Cuts a node off the VPC (its NIC goes dark, as when an instance loses power). */
  async linkDown(node: BoxNode): Promise<void> {
    await node.run('ip', ['link', 'set', 'eth0', 'down']);
  }

  /** Brings a node's NIC back (its routes come back with it). */
  async linkUp(node: BoxNode): Promise<void> {
    await node.run('ip', ['link', 'set', 'eth0', 'up']);
    await node.run('ip', ['route', 'replace', 'default', 'via', node.zone.router]);
    if (node.ip6)
      await node.run('ip', ['-6', 'route', 'replace', 'default', 'via', VPC6.router, 'dev', 'eth0']);
  }

  /** Kills everything in every namespace and deletes the namespaces (idempotent, never throws). */
  async destroy(): Promise<void> {
    await this.#namespaces.destroy();
  }
}
