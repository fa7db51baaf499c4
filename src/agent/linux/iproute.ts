/**
 * @module
 * Typed reads of links, addresses, rules, routes, neighbours and FDB entries through iproute2's JSON output
 * (`ip -j`, `bridge -j`), and the commands that change them, for one batch per apply (`ip-batch.ts`). Only what the agent owns is returned: its tunnel device, rules and
 * routes tagged with its protocol number, and addresses recorded as its own. Rules, routes, neighbours and
 * addresses are read in both families (`ip -4`, `ip -6`); a read of a family the kernel has turned off is empty.
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

const isV6 = (ip: string) => ip.includes(':');

/** The batch tool of a command of `family`: `ip` runs `ip -4`, `ip6` runs `ip -6` (ip-batch.ts). */
const ipTool = (v6: boolean): IpCommand['tool'] => (v6 ? 'ip6' : 'ip');

/** `ip -j <args>` in both families, IPv4's items first, each tagged with its family. */
async function readBoth<T>(run: RunCommand, args: readonly string[]): Promise<(T & { family6: boolean })[]> {
  const read = async (family: string) => {
    try {
      return json<T[]>((await run('ip', ['-j', family, ...args])).stdout);
    } catch (err) {
      // A kernel without IPv6 (booted with ipv6.disable=1) has nothing of it to read.
      if (family === '-6' && err instanceof CommandError && /not supported/i.test(err.stderr)) return [];
      throw err;
    }
  };
  const [v4, v6] = await Promise.all([read('-4'), read('-6')]);
  return [...v4!.map((x) => ({ ...x, family6: false })), ...v6!.map((x) => ({ ...x, family6: true }))];
}

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

/**
 * The IPv6 gateway of `dev`: the next hop of an IPv6 default route by it that is not the agent's own (tagged
 * `protocol`), as router advertisements or the node's network configuration put it there. Undefined without one
 * (IPv6 has no subnet router address to fall back to).
 */
export async function gateway6Of(
  run: RunCommand,
  dev: string,
  protocol: number,
): Promise<string | undefined> {
  let routes: RouteJson[];
  try {
    routes = json<RouteJson[]>(
      (await run('ip', ['-j', '-6', 'route', 'show', 'default', 'dev', dev])).stdout,
    );
  } catch (err) {
    if (err instanceof CommandError && /not supported/i.test(err.stderr)) return undefined;
    throw err;
  }
  return routes.find((r) => r.gateway && r.protocol !== String(protocol) && r.type !== 'throw')?.gateway;
}

/**
 * Gateway peers whose FDB and neighbour entries are both present on the tunnel; an IPv6 neighbour (a node's
 * tunnel link-local) counts when its MAC has an FDB entry.
 */
export async function readPeers(run: RunCommand, dev: string): Promise<PeerState[]> {
  const [fdbText, neigh] = await Promise.all([
    run('bridge', ['-j', 'fdb', 'show', 'dev', dev]),
    readBoth<NeighJson>(run, ['neigh', 'show', 'dev', dev]),
  ]);
  const fdb = json<FdbJson[]>(fdbText.stdout);
  const fdbByMac = new Map(fdb.filter((f) => f.dst && f.state === 'permanent').map((f) => [f.mac, f.dst!]));
  const out: PeerState[] = [];
  for (const n of neigh) {
    const mac = n.lladdr?.toLowerCase();
    if (!mac || !n.state?.includes('PERMANENT')) continue;
    if (n.family6 ? fdbByMac.has(mac) : fdbByMac.get(mac) === n.dst) out.push({ nodeIp: n.dst, mac });
  }
  return out;
}

/** Adds (or replaces) a peer's FDB and neighbour entries (an IPv6 peer: its neighbour entry alone). */
export function addPeerCommands(dev: string, p: PeerState): IpCommand[] {
  const neigh: IpCommand = {
    tool: ipTool(isV6(p.nodeIp)),
    args: ['neigh', 'replace', p.nodeIp, 'lladdr', p.mac, 'dev', dev, 'nud', 'permanent'],
  };
  if (isV6(p.nodeIp)) return [neigh];
  return [
    { tool: 'bridge', args: ['fdb', 'replace', p.mac, 'dev', dev, 'dst', p.nodeIp, 'self', 'permanent'] },
    neigh,
  ];
}

/**
 * Removes a peer's entries; absent is fine. The neighbour goes by `flush ... nud all` (which also removes a
 * permanent entry and is quiet when there is none): a failed `ip neigh del` would end the whole batch.
 */
export function deletePeerCommands(dev: string, p: PeerState): IpCommand[] {
  const flush: IpCommand = {
    tool: ipTool(isV6(p.nodeIp)),
    args: ['neigh', 'flush', 'to', p.nodeIp, 'dev', dev, 'nud', 'all'],
  };
  if (isV6(p.nodeIp)) return [flush];
  return [
    flush,
    { tool: 'bridge', args: ['fdb', 'del', p.mac, 'dev', dev, 'dst', p.nodeIp, 'self'], absentOk: true },
  ];
}

/** Rules tagged with `protocol`, of both families. */
export async function readRules(run: RunCommand, protocol: number): Promise<RuleState[]> {
  const rules = await readBoth<RuleJson>(run, ['rule', 'show']);
  const out: RuleState[] = [];
  for (const r of rules) {
    if (r.protocol !== String(protocol)) continue;
    const base = {
      table: Number(r.table),
      priority: r.priority,
      ...(r.family6 ? { family: 6 as const } : {}),
    };
    if (r.fwmark !== undefined) {
      const mask = r.fwmask === undefined ? 0xffffffff : Number(r.fwmask);
      out.push({ ...base, mark: Number(r.fwmark), mask });
    } else if (r.src !== undefined && r.src !== 'all') {
      // `ip -j rule` leaves srclen out for a host source (/32, /128).
      const hostLength = r.family6 ? 128 : 32;
      if ((r.srclen ?? hostLength) !== hostLength) continue;
      out.push({ ...base, mark: 0, mask: 0, from: r.src });
    }
  }
  return out;
}

/** True for an IPv6 rule: `family: 6`, or the family of its `from` address. */
const ruleIsV6 = (r: RuleState) => r.family === 6 || (r.from !== undefined && isV6(r.from));

const ruleArgs = (r: RuleState, protocol: number) => [
  ...(r.from === undefined
    ? ['fwmark', `0x${r.mark.toString(16)}/0x${r.mask.toString(16)}`]
    : ['from', `${r.from}/${isV6(r.from) ? 128 : 32}`]),
  'lookup',
  String(r.table),
  'priority',
  String(r.priority),
  'protocol',
  String(protocol),
];

/** Adds a rule. */
export function addRuleCommand(r: RuleState, protocol: number): IpCommand {
  return { tool: ipTool(ruleIsV6(r)), args: ['rule', 'add', ...ruleArgs(r, protocol)] };
}

/** Deletes a rule; absent is fine. */
export function deleteRuleCommand(r: RuleState, protocol: number): IpCommand {
  return { tool: ipTool(ruleIsV6(r)), args: ['rule', 'del', ...ruleArgs(r, protocol)], absentOk: true };
}

/** Routes tagged with `protocol`, in any table, of both families. */
export async function readRoutes(run: RunCommand, protocol: number): Promise<RouteState[]> {
  const routes = await readBoth<RouteJson>(run, ['route', 'show', 'table', 'all', 'proto', String(protocol)]);
  const out: RouteState[] = [];
  for (const r of routes) {
    const table = Number(r.table);
    if (!Number.isFinite(table)) continue;
    if (r.type === 'throw') out.push({ table, kind: 'throw', dst: r.dst.replace(/\/(32|128)$/, '') });
    else if (r.dst === 'default' && r.gateway && r.dev)
      out.push({ table, kind: 'via', via: r.gateway, dev: r.dev });
  }
  return out;
}

const routeIsV6 = (r: RouteState) => isV6(r.kind === 'via' ? r.via : r.dst);

const routeArgs = (r: RouteState, protocol: number) =>
  r.kind === 'via'
    ? ['default', 'via', r.via, 'dev', r.dev, 'onlink', 'table', String(r.table), 'proto', String(protocol)]
    : ['throw', `${r.dst}/${isV6(r.dst) ? 128 : 32}`, 'table', String(r.table), 'proto', String(protocol)];

/** Adds (or replaces) a route. */
export function addRouteCommand(r: RouteState, protocol: number): IpCommand {
  return { tool: ipTool(routeIsV6(r)), args: ['route', 'replace', ...routeArgs(r, protocol)] };
}

/** Deletes a route; absent is fine. */
export function deleteRouteCommand(r: RouteState, protocol: number): IpCommand {
  return { tool: ipTool(routeIsV6(r)), args: ['route', 'del', ...routeArgs(r, protocol)], absentOk: true };
}

/** Host addresses (IPv4 `/32`, IPv6 `/128`) among `owned`, on `dev` (or on any device when `dev` is undefined). */
export async function readAddresses(
  run: RunCommand,
  dev: string | undefined,
  owned: ReadonlySet<string>,
): Promise<AddressState[]> {
  if (owned.size === 0) return [];
  let links: AddrJson[];
  try {
    const filter = dev === undefined ? [] : ['dev', dev];
    links = json<AddrJson[]>((await run('ip', ['-j', 'addr', 'show', ...filter])).stdout);
  } catch (err) {
    if (isAbsent(err)) return [];
    throw err;
  }
  const host = (a: { family: string; prefixlen: number }) =>
    (a.family === 'inet' && a.prefixlen === 32) || (a.family === 'inet6' && a.prefixlen === 128);
  return links.flatMap((link) =>
    (link.addr_info ?? [])
      .filter((a) => host(a) && owned.has(a.local))
      .map((a) => ({ ip: a.local, dev: link.ifname })),
  );
}

/**
 * Adds an address as `/32` or `/128` (replacing an identical one is fine). An IPv6 address skips duplicate
 * address detection (`nodad`: the cloud assigned it, and a tentative address takes no packets for a second);
 * with `announce` it goes through the device's detection turned off instead, so that the kernel sends an
 * unsolicited neighbour advertisement for it (the caller sets `accept_dad=0` and `ndisc_notify=1` on the
 * device first).
 */
export function addAddressCommand(a: AddressState, announce = false): IpCommand {
  if (!isV6(a.ip)) return { tool: 'ip', args: ['addr', 'replace', `${a.ip}/32`, 'dev', a.dev] };
  return {
    tool: 'ip6',
    args: ['addr', 'replace', `${a.ip}/128`, 'dev', a.dev, ...(announce ? [] : ['nodad'])],
  };
}

/** Deletes an address; absent (or no longer assignable) is fine. */
export function deleteAddressCommand(a: AddressState): IpCommand {
  const v6 = isV6(a.ip);
  return {
    tool: ipTool(v6),
    args: ['addr', 'del', `${a.ip}/${v6 ? 128 : 32}`, 'dev', a.dev],
    absentOk: true,
  };
}
