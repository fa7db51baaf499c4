/**
 * @module
 * Typed reads of links, addresses, rules, routes, neighbours and FDB entries through iproute2's JSON output
 * (`ip -j`, `bridge -j`), and the commands that change them, for one batch per apply (`ip-batch.ts`). Only what the agent owns is returned: its tunnel device, rules and
 * routes tagged with its protocol number, and addresses recorded as its own.
 */
import { bigIntToIp, cidrRange } from '../../net/ip.ts';
import type { AddressState, PeerState, RouteState, RuleState, TunnelState } from '../dataplane.ts';
import { type IpCommand, isAbsentText } from './ip-batch.ts';
import { rpFilterKey, type SysctlWriter } from './proc-sys.ts';
import { CommandError, type RunCommand } from './run-command.ts';

interface LinkJson {
  ifname: string;
  mtu: number;
  address?: string;
  linkinfo?: {
    info_kind?: string;
    info_data?: {
      id?: number;
      local?: string;
      link?: string;
      port?: number;
      learning?: boolean;
      gbp?: boolean;
    };
  };
}
interface AddrJson {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}
interface RuleJson {
  priority: number;
  src?: string;
  srclen?: number;
  fwmark?: string;
  fwmask?: string;
  table?: string;
  protocol?: string;
}
interface RouteJson {
  type?: string;
  dst: string;
  gateway?: string;
  dev?: string;
  table?: string;
  protocol?: string;
}
interface FdbJson {
  mac: string;
  dst?: string;
  state?: string;
}
interface NeighJson {
  dst: string;
  lladdr?: string;
  state?: string[];
}

const json = <T>(text: string): T => (text.trim() === '' ? ([] as T) : (JSON.parse(text) as T));

/** True for "no such device/entry" errors, which reads and idempotent deletes treat as absence. */
export function isAbsent(err: unknown): boolean {
  return err instanceof CommandError && isAbsentText(err.stderr);
}

/** The tunnel device as configured, or undefined when absent or not a VXLAN device. */
export async function readTunnel(run: RunCommand, name: string): Promise<TunnelState | undefined> {
  let links: LinkJson[];
  try {
    links = json<LinkJson[]>((await run('ip', ['-j', '-d', 'link', 'show', 'dev', name])).stdout);
  } catch (err) {
    if (isAbsent(err)) return undefined;
    throw err;
  }
  const link = links[0];
  const data = link?.linkinfo?.info_data;
  if (link?.linkinfo?.info_kind !== 'vxlan' || data === undefined) return undefined;
  const addrs = json<AddrJson[]>((await run('ip', ['-j', '-4', 'addr', 'show', 'dev', name])).stdout);
  const a = addrs[0]?.addr_info?.[0];
  // A tunnel without GBP or with learning is not ours to keep: report a mismatch so it is recreated.
  return {
    name: link.ifname,
    vni: data.id ?? -1,
    port: data.gbp === true && data.learning === false ? (data.port ?? -1) : -1,
    localIp: data.local ?? '',
    parent: data.link ?? '',
    mac: (link.address ?? '').toLowerCase(),
    mtu: link.mtu,
    address: a ? `${a.local}/${a.prefixlen}` : '',
  };
}

/** Creates the tunnel device, sets loose reverse-path filtering on it and brings it up. */
export async function createTunnel(run: RunCommand, t: TunnelState, sysctl: SysctlWriter): Promise<void> {
  await run('ip', [
    'link',
    'add',
    t.name,
    'address',
    t.mac,
    'mtu',
    String(t.mtu),
    'type',
    'vxlan',
    'id',
    String(t.vni),
    'dstport',
    String(t.port),
    'local',
    t.localIp,
    'dev',
    t.parent,
    'nolearning',
    'gbp',
  ]);
  await sysctl(rpFilterKey(t.name), '2');
  await run('ip', ['addr', 'add', t.address, 'dev', t.name, 'scope', 'link']);
  await run('ip', ['link', 'set', t.name, 'up']);
}

/** Deletes a link; absent is fine. */
export async function deleteLink(run: RunCommand, name: string): Promise<void> {
  try {
    await run('ip', ['link', 'del', name]);
  } catch (err) {
    if (!isAbsent(err)) throw err;
  }
}

/** The MTU of a device. */
export async function readMtu(run: RunCommand, dev: string): Promise<number> {
  const links = json<LinkJson[]>((await run('ip', ['-j', 'link', 'show', 'dev', dev])).stdout);
  if (!links[0]) throw new Error(`device ${dev} not found`);
  return links[0].mtu;
}

/** The device that holds `ip`, if any. */
export async function deviceOf(run: RunCommand, ip: string): Promise<string | undefined> {
  const addrs = json<AddrJson[]>((await run('ip', ['-j', '-4', 'addr', 'show'])).stdout);
  return addrs.find((a) => a.addr_info?.some((i) => i.local === ip))?.ifname;
}

/**
 * The next hop for traffic leaving by `dev`: the gateway of a default route through it (any table, not one
 * of the agent's own, tagged `protocol`), else the first address of its subnet (the router on AWS, GCP and
 * Azure). Undefined when `dev` has neither.
 */
export async function gatewayOf(run: RunCommand, dev: string, protocol: number): Promise<string | undefined> {
  const routes = json<RouteJson[]>(
    (await run('ip', ['-j', '-4', 'route', 'show', 'table', 'all', 'dev', dev])).stdout,
  );
  const viaDefault = routes.find(
    (r) => r.dst === 'default' && r.gateway && r.protocol !== String(protocol) && r.type !== 'throw',
  );
  if (viaDefault?.gateway) return viaDefault.gateway;
  const addrs = json<AddrJson[]>((await run('ip', ['-j', '-4', 'addr', 'show', 'dev', dev])).stdout);
  const subnet = addrs[0]?.addr_info?.find((a) => a.family === 'inet' && a.prefixlen < 31);
  if (!subnet) return undefined;
  return bigIntToIp(cidrRange(`${subnet.local}/${subnet.prefixlen}`).start + 1n, 4);
}

/** Gateway peers whose FDB and neighbour entries are both present on the tunnel. */
export async function readPeers(run: RunCommand, dev: string): Promise<PeerState[]> {
  const fdb = json<FdbJson[]>((await run('bridge', ['-j', 'fdb', 'show', 'dev', dev])).stdout);
  const neigh = json<NeighJson[]>((await run('ip', ['-j', '-4', 'neigh', 'show', 'dev', dev])).stdout);
  const fdbByMac = new Map(fdb.filter((f) => f.dst && f.state === 'permanent').map((f) => [f.mac, f.dst!]));
  const out: PeerState[] = [];
  for (const n of neigh) {
    const mac = n.lladdr?.toLowerCase();
    if (mac && n.state?.includes('PERMANENT') && fdbByMac.get(mac) === n.dst)
      out.push({ nodeIp: n.dst, mac });
  }
  return out;
}

/** Adds (or replaces) a peer's FDB and neighbour entries. */
export function addPeerCommands(dev: string, p: PeerState): IpCommand[] {
  return [
    { tool: 'bridge', args: ['fdb', 'replace', p.mac, 'dev', dev, 'dst', p.nodeIp, 'self', 'permanent'] },
    { tool: 'ip', args: ['neigh', 'replace', p.nodeIp, 'lladdr', p.mac, 'dev', dev, 'nud', 'permanent'] },
  ];
}

/**
 * Removes a peer's entries; absent is fine. The neighbour goes by `flush ... nud all` (which also removes a
 * permanent entry and is quiet when there is none): a failed `ip neigh del` would end the whole batch.
 */
export function deletePeerCommands(dev: string, p: PeerState): IpCommand[] {
  return [
    { tool: 'ip', args: ['neigh', 'flush', 'to', p.nodeIp, 'dev', dev, 'nud', 'all'] },
    { tool: 'bridge', args: ['fdb', 'del', p.mac, 'dev', dev, 'dst', p.nodeIp, 'self'], absentOk: true },
  ];
}

/** Rules tagged with `protocol`. */
export async function readRules(run: RunCommand, protocol: number): Promise<RuleState[]> {
  const rules = json<RuleJson[]>((await run('ip', ['-j', '-4', 'rule', 'show'])).stdout);
  const out: RuleState[] = [];
  for (const r of rules) {
    if (r.protocol !== String(protocol)) continue;
    const base = { table: Number(r.table), priority: r.priority };
    if (r.fwmark !== undefined) {
      const mask = r.fwmask === undefined ? 0xffffffff : Number(r.fwmask);
      out.push({ ...base, mark: Number(r.fwmark), mask });
    } else if (r.src !== undefined && r.src !== 'all' && (r.srclen ?? 32) === 32) {
      out.push({ ...base, mark: 0, mask: 0, from: r.src });
    }
  }
  return out;
}

const ruleArgs = (r: RuleState, protocol: number) => [
  ...(r.from === undefined
    ? ['fwmark', `0x${r.mark.toString(16)}/0x${r.mask.toString(16)}`]
    : ['from', `${r.from}/32`]),
  'lookup',
  String(r.table),
  'priority',
  String(r.priority),
  'protocol',
  String(protocol),
];

/** Adds a rule. */
export function addRuleCommand(r: RuleState, protocol: number): IpCommand {
  return { tool: 'ip', args: ['rule', 'add', ...ruleArgs(r, protocol)] };
}

/** Deletes a rule; absent is fine. */
export function deleteRuleCommand(r: RuleState, protocol: number): IpCommand {
  return { tool: 'ip', args: ['rule', 'del', ...ruleArgs(r, protocol)], absentOk: true };
}

/** Routes tagged with `protocol`, in any table. */
export async function readRoutes(run: RunCommand, protocol: number): Promise<RouteState[]> {
  const routes = json<RouteJson[]>(
    (await run('ip', ['-j', '-4', 'route', 'show', 'table', 'all', 'proto', String(protocol)])).stdout,
  );
  const out: RouteState[] = [];
  for (const r of routes) {
    const table = Number(r.table);
    if (!Number.isFinite(table)) continue;
    if (r.type === 'throw') out.push({ table, kind: 'throw', dst: r.dst.replace(/\/32$/, '') });
    else if (r.dst === 'default' && r.gateway && r.dev)
      out.push({ table, kind: 'via', via: r.gateway, dev: r.dev });
  }
  return out;
}

const routeArgs = (r: RouteState, protocol: number) =>
  r.kind === 'via'
    ? ['default', 'via', r.via, 'dev', r.dev, 'onlink', 'table', String(r.table), 'proto', String(protocol)]
    : ['throw', `${r.dst}/32`, 'table', String(r.table), 'proto', String(protocol)];

/** Adds (or replaces) a route. */
export function addRouteCommand(r: RouteState, protocol: number): IpCommand {
  return { tool: 'ip', args: ['route', 'replace', ...routeArgs(r, protocol)] };
}

/** Deletes a route; absent is fine. */
export function deleteRouteCommand(r: RouteState, protocol: number): IpCommand {
  return { tool: 'ip', args: ['route', 'del', ...routeArgs(r, protocol)], absentOk: true };
}

/** IPv4 `/32` addresses among `owned`, on `dev` (or on any device when `dev` is undefined). */
export async function readAddresses(
  run: RunCommand,
  dev: string | undefined,
  owned: ReadonlySet<string>,
): Promise<AddressState[]> {
  if (owned.size === 0) return [];
  let links: AddrJson[];
  try {
    const filter = dev === undefined ? [] : ['dev', dev];
    links = json<AddrJson[]>((await run('ip', ['-j', '-4', 'addr', 'show', ...filter])).stdout);
  } catch (err) {
    if (isAbsent(err)) return [];
    throw err;
  }
  return links.flatMap((link) =>
    (link.addr_info ?? [])
      .filter((a) => a.family === 'inet' && a.prefixlen === 32 && owned.has(a.local))
      .map((a) => ({ ip: a.local, dev: link.ifname })),
  );
}

/** Adds an address as `/32` (replacing an identical one is fine). */
export function addAddressCommand(a: AddressState): IpCommand {
  return { tool: 'ip', args: ['addr', 'replace', `${a.ip}/32`, 'dev', a.dev] };
}

/** Deletes an address; absent (or no longer assignable) is fine. */
export function deleteAddressCommand(a: AddressState): IpCommand {
  return { tool: 'ip', args: ['addr', 'del', `${a.ip}/32`, 'dev', a.dev], absentOk: true };
}
