/**
 * @module
 * `cloud-egress agent` configuration: a pure `parseAgentConfig(args, env)` over the flags (after the
 * `agent` word) and the environment the DaemonSet sets (`NODE_NAME`, `NODE_IP`, `KUBECONFIG`). Bad input
 * throws {@link AgentConfigError} naming the flag and what it accepts.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_AGENT_HEALTH_PORT } from '../kube/agent-health-port.ts';
import { RETURN_PATHS, type ReturnPath } from '../kube/return-path.ts';
import { LOG_LEVELS, type LogLevel } from '../log.ts';
import { familyOf, isCidr, isIp } from '../net/ip.ts';
import { DEFAULT_PROC_SYS } from './linux/proc-sys.ts';
import { type DataplaneSettings, DEFAULT_DATAPLANE_SETTINGS, validateMarkMask } from './settings.ts';

/** Configuration of the node agent. */
export interface AgentConfig {
  /** Remove everything the agent added to this node, then exit. */
  readonly cleanup: boolean;
  /** This node's name (`--node-name` or `NODE_NAME`); required unless cleaning up. */
  readonly nodeName: string;
  /** This node's IP; default: the Node's InternalIP. */
  readonly nodeIp: string | undefined;
  /** Interface holding the node IP and the egress IPs; default: the one that has the node IP. */
  readonly iface: string | undefined;
  /** Dedicated interface for the egress IPs (SNATed traffic leaves by it); default: `iface`. */
  readonly egressIface: string | undefined;
  /** Next hop of traffic leaving by `egressIface`; default: discovered from its routes or subnet. */
  readonly egressGateway: string | undefined;
  /** Where the kernel settings are mounted (read-write); default `/proc/sys`. */
  readonly procSys: string;
  /** Pod and service CIDRs, never sent through a gateway (with discovery on, joined by those discovered). */
  readonly clusterCidrs: readonly string[];
  /**
   * Add the Nodes' pod CIDRs and the ServiceCIDR objects' CIDRs to `clusterCidrs` as they change
   * (`src/kube/cluster-cidrs.ts`); default true, `--no-cluster-cidr-discovery` turns it off.
   */
  readonly discoverClusterCidrs: boolean;
  /** Address of `/healthz` and `/metrics`; default host: the node IP. */
  readonly healthHost: string | undefined;
  readonly healthPort: number;
  /** Kubeconfig file; default: in-cluster, then `~/.kube/config`. */
  readonly kubeconfig: string | undefined;
  /** Announce new egress IPs with a gratuitous ARP (on-prem `none` provider; harmless on clouds). */
  readonly announce: boolean;
  /** Full re-read of the kernel every so many milliseconds (repairs drift). */
  readonly resyncMs: number;
  readonly logLevel: LogLevel;
  readonly dataplane: DataplaneSettings;
}

/** A bad flag or environment value. */
export class AgentConfigError extends Error {
  override readonly name = 'AgentConfigError';
}

/** Usage of `cloud-egress agent`. */
export const AGENT_HELP = `Usage: cloud-egress agent [flags]

Programs this node's egress datapath (nftables, VXLAN, policy routing) from the EgressPolicy status.

Flags:
  --node-name NAME          this node (default $NODE_NAME)
  --node-ip IP              this node's IP (default $NODE_IP, else the Node's InternalIP)
  --interface DEV           device of the node IP and egress IPs (default: the one holding the node IP)
  --egress-interface DEV    dedicated device for the egress IPs; SNATed traffic leaves by it (policy
                            routing); default: the --interface device
  --egress-gateway IP       next hop on the egress interface (default: its default route's gateway, else
                            the first address of its subnet, as on AWS, GCP and Azure)
  --proc-sys PATH           where /proc/sys is mounted read-write (default ${DEFAULT_PROC_SYS}; the chart mounts
                            the host's /proc/sys/net at /host/proc/sys/net)
  --cluster-cidr CIDR       pod or service CIDR never sent through a gateway; repeatable or comma-separated;
                            joined by the discovered ones (every Node's spec.podCIDRs, every ServiceCIDR)
  --no-cluster-cidr-discovery
                            only the --cluster-cidr CIDRs (and the node IPs) bypass the gateways
  --health-port PORT        /healthz and /metrics port on the node IP (default ${DEFAULT_AGENT_HEALTH_PORT})
  --health-host HOST        address to serve on (default: the node IP)
  --kubeconfig FILE         kubeconfig (default $KUBECONFIG, else in-cluster)
  --no-announce             do not send gratuitous ARP for new egress IPs
  --resync DURATION_MS      full kernel re-read interval in ms (default 60000)
  --log-level LEVEL         ${LOG_LEVELS.join('|')} (default info)
  --return-path MODE        how replies reach tunnelled pods, the same on every node: tunnel (default; back
                            through the tunnel to the pod's node, the cloud's source/destination check stays
                            on) or podNetwork (routed by the gateway over the pod network)
  --vxlan-vni N, --vxlan-port N, --mark-mask HEX, --route-table-base N, --rule-priority N
                            datapath constants; must be equal on all nodes (defaults ${DEFAULT_DATAPLANE_SETTINGS.vni}, ${DEFAULT_DATAPLANE_SETTINGS.port}, 0x${DEFAULT_DATAPLANE_SETTINGS.markMask.toString(16)}, 0x${DEFAULT_DATAPLANE_SETTINGS.tableBase.toString(16)}, ${DEFAULT_DATAPLANE_SETTINGS.rulePriority})
  --cleanup                 remove everything the agent added on this node and exit
  --help                    show this text
`;

function integer(text: string, flag: string, min: number, max: number): number {
  const n = /^(0x[0-9a-f]+|\d+)$/i.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new AgentConfigError(`${flag}: "${text}" is not an integer in ${min}..${max}`);
  }
  return n;
}

/** Thrown for `--help`; carries the usage text. */
export class AgentHelpRequested extends Error {
  override readonly name = 'AgentHelpRequested';
}

/**
 * Parses the agent's flags (`args` after the `agent` word) and environment.
 * @throws AgentConfigError for bad input; AgentHelpRequested for `--help` (message = usage).
 */
export function parseAgentConfig(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): AgentConfig {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (err) {
    throw new AgentConfigError((err as Error).message, { cause: err });
  }
  const v = parsed.values;
  if (v.help) throw new AgentHelpRequested(AGENT_HELP);
  const cleanup = v.cleanup ?? false;
  const nodeName = v['node-name'] ?? env['NODE_NAME'] ?? '';
  if (!cleanup && nodeName === '') throw new AgentConfigError('--node-name (or NODE_NAME) is required');
  const nodeIp = v['node-ip'] ?? env['NODE_IP'];
  if (nodeIp !== undefined && !(isIp(nodeIp) && familyOf(nodeIp) === 4)) {
    throw new AgentConfigError(`--node-ip: "${nodeIp}" is not an IPv4 address`);
  }
  const egressGateway = v['egress-gateway'];
  if (egressGateway !== undefined && !(isIp(egressGateway) && familyOf(egressGateway) === 4)) {
    throw new AgentConfigError(`--egress-gateway: "${egressGateway}" is not an IPv4 address`);
  }
  for (const flag of ['interface', 'egress-interface'] as const) {
    const dev = v[flag];
    if (dev !== undefined && !/^[a-zA-Z0-9_.:@-]{1,15}$/.test(dev)) {
      throw new AgentConfigError(`--${flag}: "${dev}" is not a Linux device name (1-15 characters)`);
    }
  }
  const procSys = v['proc-sys'] ?? DEFAULT_PROC_SYS;
  if (!procSys.startsWith('/')) {
    throw new AgentConfigError(`--proc-sys: "${procSys}" is not an absolute path (e.g. /host/proc/sys)`);
  }
  const clusterCidrs = parseClusterCidrValues(v['cluster-cidr']);
  const logLevel = v['log-level'] ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new AgentConfigError(`--log-level: "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);
  }
  const d = DEFAULT_DATAPLANE_SETTINGS;
  const markMask =
    v['mark-mask'] === undefined ? d.markMask : integer(v['mark-mask'], '--mark-mask', 1, 0xffff);
  const maskProblem = validateMarkMask(markMask);
  if (maskProblem) throw new AgentConfigError(`--mark-mask: ${maskProblem}`);
  const returnPath = v['return-path'] ?? d.returnPath;
  if (!(RETURN_PATHS as readonly string[]).includes(returnPath)) {
    throw new AgentConfigError(`--return-path: "${returnPath}" is not one of ${RETURN_PATHS.join(', ')}`);
  }
  const dataplane: DataplaneSettings = {
    ...d,
    returnPath: returnPath as ReturnPath,
    vni: v['vxlan-vni'] === undefined ? d.vni : integer(v['vxlan-vni'], '--vxlan-vni', 1, 0xffffff),
    port: v['vxlan-port'] === undefined ? d.port : integer(v['vxlan-port'], '--vxlan-port', 1, 65535),
    markMask,
    tableBase:
      v['route-table-base'] === undefined
        ? d.tableBase
        : integer(v['route-table-base'], '--route-table-base', 256, 0xffff0000),
    rulePriority:
      v['rule-priority'] === undefined
        ? d.rulePriority
        : integer(v['rule-priority'], '--rule-priority', 1, 32764),
  };
  return {
    cleanup,
    nodeName,
    nodeIp,
    iface: v.interface,
    egressIface: v['egress-interface'],
    egressGateway,
    procSys: procSys.length > 1 ? procSys.replace(/\/+$/, '') : procSys,
    clusterCidrs,
    discoverClusterCidrs: !(v['no-cluster-cidr-discovery'] ?? false),
    healthHost: v['health-host'],
    healthPort:
      v['health-port'] === undefined
        ? DEFAULT_AGENT_HEALTH_PORT
        : integer(v['health-port'], '--health-port', 0, 65535),
    kubeconfig: v.kubeconfig ?? env['KUBECONFIG'],
    announce: !(v['no-announce'] ?? false),
    resyncMs: v.resync === undefined ? 60_000 : integer(v.resync, '--resync', 1000, 86_400_000),
    logLevel: logLevel as LogLevel,
    dataplane,
  };
}

function parse(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: false,
    options: {
      cleanup: { type: 'boolean' },
      help: { type: 'boolean' },
      'node-name': { type: 'string' },
      'node-ip': { type: 'string' },
      interface: { type: 'string' },
      'egress-interface': { type: 'string' },
      'egress-gateway': { type: 'string' },
      'proc-sys': { type: 'string' },
      'cluster-cidr': { type: 'string', multiple: true },
      'no-cluster-cidr-discovery': { type: 'boolean' },
      'health-port': { type: 'string' },
      'health-host': { type: 'string' },
      kubeconfig: { type: 'string' },
      'no-announce': { type: 'boolean' },
      resync: { type: 'string' },
      'log-level': { type: 'string' },
      'vxlan-vni': { type: 'string' },
      'vxlan-port': { type: 'string' },
      'mark-mask': { type: 'string' },
      'route-table-base': { type: 'string' },
      'rule-priority': { type: 'string' },
      'return-path': { type: 'string' },
    },
  });
}

/**
 * `--cluster-cidr` values (repeatable or comma-separated), split, trimmed and checked; the controller and the doctor
 * parse theirs with it too.
 * @throws AgentConfigError naming the bad CIDR.
 */
export function parseClusterCidrValues(values: readonly string[] | undefined): string[] {
  const cidrs = (values ?? [])
    .flatMap((c) => c.split(','))
    .map((c) => c.trim())
    .filter(Boolean);
  for (const c of cidrs) {
    if (!isCidr(c)) throw new AgentConfigError(`--cluster-cidr: "${c}" is not a CIDR (e.g. 10.244.0.0/16)`);
  }
  return cidrs;
}
