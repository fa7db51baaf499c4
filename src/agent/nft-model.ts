/**
 * @module
 * The agent's nftables table as text for `nft -f`: the structure (sets declared empty, chains, rules) and
 * element lists. Pure; the fingerprint of the structure is written into a rule comment so that a restarted
 * agent can tell, from `nft -j list table`, whether only elements need updating.
 *
 * ```
 * Each address set and rule that matches an address comes in both families (`ip` / `ip6`, sets `…4` / `…6`);
 * marks, counters and the tunnel (IPv4 outer packets between nodes) serve both.
 *
 * prerouting (mangle)  return path `tunnel`: from the tunnel, original direction, connection mark 0, not a copy
 *                      of a planned move -> connection mark := id of the inner source MAC (the source node);
 *                      a reply of such a connection -> packet mark := its node id | the reserved return id
 *                      (an ip rule routes it into the tunnel)
 *                      from the tunnel: return; ct original -> classify: cluster dst? return
 *                                   per policy: dst in p_dst, not in p_exc -> saddr vmap p_pods
 *                                               (pod -> goto m<id>: set mark id, and on the
 *                                                connection, so its entry can be flushed | drop)
 * forward (filter-10)  (planned move) a reply from the tunnel sent on by the move's other gateway: accept |
 *                      from tunnel to tunnel: drop | (return path `tunnel`) a reply from the tunnel: accept |
 *                      from tunnel with a mark not held here: drop
 *                      into tunnel: clamp TCP MSS to the route MTU
 * input (filter-10)    VXLAN port from a non-node: drop
 * gw_snat (srcnat-10)  the tunnel's own outer packets (to a node's VXLAN port; they carry the inner mark) ->
 *                      return; mark id of a held egress IP, not into the tunnel -> count the connection, snat to it
 *                      (before a CNI's masquerade at srcnat, so ours wins)
 * gw_count (srcnat+10) every packet not into the tunnel -> the counter of its mark (one map lookup):
 *                      packets and bytes per egress IP
 * guard (srcnat+20)    a packet with a mark id leaving by a device other than the tunnel (after every
 *                      SNAT): the tunnel's own outer packet to a node -> accept; source is the egress IP
 *                      of its mark, held here -> accept; anything else -> drop (fail closed: a missing
 *                      rule or route, a stale NAT binding, never leak the node or pod IP)
 * tunnel_in (raw),     UDP to the VXLAN port from / to a node: notrack (the outer packets take no conntrack
 * tunnel_out (raw)     lookup and no NAT hook, and skip the classification)
 * copies (table netdev <table>_dup, ingress of the tunnel): on both gateways of a planned move, each frame
 *                      that comes out of the tunnel with the moving IP's mark, and not from the other
 *                      gateway, is also sent back into the tunnel from this node's MAC to the other's, so
 *                      that both send it and both have its connections: whichever the cloud lets send and
 *                      delivers to, it flows, whenever the sources switch (a table of its own, bound to the
 *                      tunnel device, replaced in the same transaction; the source MAC stops copies of copies:
 *                      this node's, or with the return path `tunnel` the pod's node's copy MAC, which the
 *                      other gateway records as that node)
 * answers (table ip <table>_answers, prerouting after conntrack; egress of the tunnel in the copies' table): on
 *                      both gateways of a planned move, a packet from outside the tunnel to the moving IP that
 *                      conntrack has no entry for (new or invalid: a handshake answer that beat the copy of its
 *                      connection's first segment, a reply to a connection this node never saw) is not answered
 *                      here (a RST would end the connection at the server) but sent through the tunnel to the
 *                      other gateway, which has the entry (`dup` then drop; it leaves for the IP's own neighbour
 *                      entry on the tunnel, and the egress hook sets the other gateway's MAC); the other
 *                      forwards it as a reply. A handshake answer (SYN-ACK) this node knows is copied there
 *                      too, so the other gateway's entry sees the server's side of the handshake as well (it
 *                      then passes the client's next segments whichever gateway the cloud lets send). From the
 *                      other gateway, what conntrack has no entry for is dropped, not answered
 * return (table netdev <table>_return, egress of the tunnel; return path `tunnel`): a packet with the reserved
 *                      return id gets the tunnel MAC of the node id in its mark as destination, and the agent's
 *                      bits of its mark cleared (VXLAN-GBP would carry them); one still addressed to the
 *                      return hop (no such node) is dropped
 * ```
 *
 * The counters are named objects (`new_<ip>`, `out_<ip>` with `_` for `.`), so one
 * `nft -j list counters table` reads them all without listing the large pod maps.
 */
import { createHash } from 'node:crypto';
import type { NftSetKind } from './dataplane.ts';
import type { DataplaneSettings } from './settings.ts';
import { copyMac, tunnelMac } from './tunnel-mac.ts';

/** One policy's sets, by name prefix `p<hash>`. */
export interface NftPolicy {
  readonly prefix: string;
}

/** What the structure depends on (elements excluded). */
export interface NftStructureInput {
  readonly settings: DataplaneSettings;
  /** Policies in first-match order. */
  readonly policies: readonly NftPolicy[];
  /** Mark chains: id -> mark value. */
  readonly markChains: ReadonlyMap<number, number>;
  /** Held egress IPs: mark value -> IP. */
  readonly snat: ReadonlyMap<number, string>;
  /** Planned moves this node takes part in: mark value -> the other gateway's node IP (module comment). */
  readonly copies?: ReadonlyMap<number, string>;
  /** This node's tunnel MAC (frames copied to another gateway get it back); needed with `copies`. */
  readonly tunnelMac?: string;
  /** Return path `tunnel` (module comment): every node's id value (in `nodeIdMask`) by its tunnel MAC. */
  readonly returnPath?: {
    readonly nodeIds: ReadonlyMap<string, number>;
    /** MAC of the return route's next hop, rewritten by the egress hook. */
    readonly hopMac: string;
  };
}

/** The table of the return path's egress hook (module comment) beside the agent's table `table`. */
export function returnTable(table: string): string {
  return `${table}_return`;
}

/** The table of the answers sent on to the other gateway (module comment) beside the agent's table `table`. */
export function answersTable(table: string): string {
  return `${table}_answers`;
}

/** The table of the copies (module comment) beside the agent's table `table`. */
export function copyTable(table: string): string {
  return `${table}_dup`;
}

/** Global set names. */
export const SETS = {
  cluster: 'cluster4',
  cluster6: 'cluster6',
  nodes: 'nodes4',
  owned: 'owned4',
  owned6: 'owned6',
  held: 'held_marks',
} as const;

/** The set-name prefix of the policy with key `policyKey`: `p` and 10 hex digits of its SHA-256. */
export function policyPrefix(policyKey: string): string {
  return `p${createHash('sha256').update(policyKey).digest('hex').slice(0, 10)}`;
}

/** Set names of one policy: destinations, excluded destinations, and the pod map, per family. */
export interface PolicySetNames {
  readonly dst: string;
  readonly exc: string;
  readonly pods: string;
  readonly dst6: string;
  readonly exc6: string;
  readonly pods6: string;
}

/** Set names of one policy. */
export function policySets(prefix: string): PolicySetNames {
  return {
    dst: `${prefix}_dst4`,
    exc: `${prefix}_exc4`,
    pods: `${prefix}_pods4`,
    dst6: `${prefix}_dst6`,
    exc6: `${prefix}_exc6`,
    pods6: `${prefix}_pods6`,
  };
}

/** The address type of a set or map: every name this module gives ends in its family's digit. */
function addressType(name: string): 'ipv4_addr' | 'ipv6_addr' {
  return name.endsWith('6') ? 'ipv6_addr' : 'ipv4_addr';
}

const isV6 = (ip: string) => ip.includes(':');

/**
 * Named counters of a held egress IP: connections SNATed to it, and packets/bytes sent with it. An nft name
 * has neither `.` nor `:`: `new_10_0_1_5`, and for IPv6 `new6_fd00__5` (each `:` a `_`).
 */
export function snatCounterNames(ip: string) {
  const suffix = isV6(ip) ? `6_${ip.replaceAll(':', '_')}` : `_${ip.replaceAll('.', '_')}`;
  return { connections: `new${suffix}`, packets: `out${suffix}` } as const;
}

/** The egress IP and role of a counter named by {@link snatCounterNames}, if it is one. */
export function parseSnatCounterName(
  name: string,
): { readonly ip: string; readonly role: 'connections' | 'packets' } | undefined {
  const role = name.startsWith('new') ? 'connections' : 'packets';
  const v4 = /^(new|out)_(\d+_\d+_\d+_\d+)$/.exec(name);
  if (v4) return { ip: v4[2]!.replaceAll('_', '.'), role };
  const v6 = /^(new|out)6_([0-9a-f_]+)$/.exec(name);
  return v6 ? { ip: v6[2]!.replaceAll('_', ':'), role } : undefined;
}

/** Chain name of mark id `id`. */
export const markChain = (id: number) => `m${id}`;

const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;

/** Set declarations and kinds for the structure. */
export function setKinds(policies: readonly NftPolicy[]): Record<string, NftSetKind> {
  const kinds: Record<string, NftSetKind> = {
    [SETS.cluster]: 'interval',
    [SETS.cluster6]: 'interval',
    [SETS.nodes]: 'set',
    [SETS.owned]: 'set',
    [SETS.owned6]: 'set',
    [SETS.held]: 'set',
  };
  for (const p of policies) {
    const s = policySets(p.prefix);
    kinds[s.dst] = 'interval';
    kinds[s.exc] = 'interval';
    kinds[s.pods] = 'map';
    kinds[s.dst6] = 'interval';
    kinds[s.exc6] = 'interval';
    kinds[s.pods6] = 'map';
  }
  return kinds;
}

function setDecl(name: string, kind: NftSetKind): string {
  if (name === SETS.held) return `\tset ${name} {\n\t\ttype mark\n\t}`;
  const type = addressType(name);
  if (kind === 'map') return `\tmap ${name} {\n\t\ttype ${type} : verdict\n\t}`;
  const flags = kind === 'interval' ? '\n\t\tflags interval' : '';
  return `\tset ${name} {\n\t\ttype ${type}${flags}\n\t}`;
}

/** The table's structure text carrying its fingerprint, and the fingerprint. */
export function renderStructure(input: NftStructureInput): { text: string; fingerprint: string } {
  const { settings: s } = input;
  const mask = hex(s.markMask);
  const keep = hex(~s.markMask >>> 0);
  const tun = JSON.stringify(s.tunnelName);
  const kinds = setKinds(input.policies);
  const lines: string[] = [`table inet ${s.nftTable} {`];
  for (const [name, kind] of Object.entries(kinds)) lines.push(setDecl(name, kind));
  const held = [...input.snat].sort((a, b) => a[0] - b[0]);
  for (const [, ip] of held) {
    const c = snatCounterNames(ip);
    lines.push(`\tcounter ${c.connections} {\n\t}`, `\tcounter ${c.packets} {\n\t}`);
  }
  for (const [id, value] of [...input.markChains].sort((a, b) => a[0] - b[0])) {
    lines.push(
      `\tchain ${markChain(id)} {\n` +
        `\t\tmeta mark set meta mark & ${keep} | ${hex(value)}\n` +
        `\t\tct mark set ct mark & ${keep} | ${hex(value)}\n\t}`,
    );
  }
  const peerMacs = copyPeerMacs(input);
  const classify = [`\t\tip daddr @${SETS.cluster} return`, `\t\tip6 daddr @${SETS.cluster6} return`];
  for (const p of input.policies) {
    const n = policySets(p.prefix);
    classify.push(
      `\t\tip daddr @${n.dst} ip daddr != @${n.exc} ip saddr vmap @${n.pods}`,
      `\t\tip6 daddr @${n.dst6} ip6 daddr != @${n.exc6} ip6 saddr vmap @${n.pods6}`,
    );
  }
  lines.push(`\tchain classify {\n${classify.join('\n')}\n\t}`);
  lines.push(
    `\tchain forward {\n\t\ttype filter hook forward priority filter - 10; policy accept;\n` +
      // An answer the other gateway of a planned move sent on (see the answers' table), to a connection known here.
      (peerMacs.length > 0
        ? `\t\tiifname ${tun} ct direction reply ether saddr { ${peerMacs.join(', ')} } accept\n`
        : '') +
      `\t\tiifname ${tun} oifname ${tun} drop\n` +
      // A reply the gateway sent back through the tunnel, to a connection this node's conntrack knows.
      (input.returnPath ? `\t\tiifname ${tun} ct direction reply return\n` : '') +
      `\t\tiifname ${tun} meta mark & ${mask} != @${SETS.held} drop\n` +
      `\t\toifname ${tun} tcp flags syn / syn,rst tcp option maxseg size set rt mtu\n\t}`,
  );
  lines.push(
    `\tchain input {\n\t\ttype filter hook input priority filter - 10; policy accept;\n` +
      `\t\tudp dport ${s.port} ip saddr != @${SETS.nodes} drop\n\t}`,
  );
  const match = (value: number) => `oifname != ${tun} meta mark & ${mask} == ${hex(value)}`;
  // The tunnel's outer packets keep the inner packet's mark: a copy sent on to another gateway must not be
  // SNATed or counted as egress traffic.
  const outer = `\t\tip daddr @${SETS.nodes} udp dport ${s.port} return\n`;
  const snat = held.map(
    ([value, ip]) =>
      `\t\t${match(value)} counter name ${JSON.stringify(snatCounterNames(ip).connections)} snat ${isV6(ip) ? 'ip6' : 'ip'} to ${ip}\n`,
  );
  lines.push(
    `\tchain gw_snat {\n\t\ttype nat hook postrouting priority srcnat - 10; policy accept;\n` +
      `${outer}${snat.join('')}\t}`,
  );
  // One map lookup per packet, whatever the number of held IPs (a rule per IP costs one match per IP).
  const count =
    held.length === 0
      ? ''
      : `\t\toifname != ${tun} counter name meta mark & ${mask} map { ${held
          .map(([value, ip]) => `${hex(value)} : ${JSON.stringify(snatCounterNames(ip).packets)}`)
          .join(', ')} }\n`;
  lines.push(
    `\tchain gw_count {\n\t\ttype filter hook postrouting priority srcnat + 10; policy accept;\n` +
      `${outer}${count}\t}`,
  );
  // Runs after every SNAT (ours, a CNI's masquerade at srcnat), so it sees the source that leaves.
  const allowedOf = (family: 'ip' | 'ip6') => {
    const of = held.filter(([, ip]) => isV6(ip) === (family === 'ip6'));
    return of.length === 0
      ? ''
      : `\t\tmeta mark & ${mask} . ${family} saddr { ${of.map(([value, ip]) => `${hex(value)} . ${ip}`).join(', ')} } return\n`;
  };
  const allowed = allowedOf('ip') + allowedOf('ip6');
  lines.push(
    `\tchain guard {\n\t\ttype filter hook postrouting priority srcnat + 20; policy accept;\n` +
      `\t\tmeta mark & ${mask} == 0 return\n` +
      `\t\toifname ${tun} return\n` +
      `\t\tip daddr @${SETS.nodes} udp dport ${s.port} return\n` +
      `${allowed}\t\tcounter drop\n\t}`,
  );
  // The tunnel's outer packets between nodes are not tracked: conntrack and NAT would look each one up
  // on both nodes for nothing (the input chain's node check is stateless), and untracked packets skip
  // the classification below (`ct direction` does not match them).
  lines.push(
    `\tchain tunnel_in {\n\t\ttype filter hook prerouting priority raw; policy accept;\n` +
      `\t\tudp dport ${s.port} ip saddr @${SETS.nodes} notrack\n\t}`,
    `\tchain tunnel_out {\n\t\ttype filter hook output priority raw; policy accept;\n` +
      `\t\tudp dport ${s.port} ip daddr @${SETS.nodes} notrack\n\t}`,
  );
  // Packets out of the tunnel come from other nodes' pods, never in this node's pod maps: not classified.
  const [record, replies] = returnRules(input, tun);
  const prerouting = (comment: string) =>
    `\tchain prerouting {\n\t\ttype filter hook prerouting priority mangle; policy accept;\n` +
    `${record}${replies}\t\tiifname ${tun} return\n` +
    `\t\tct direction original jump classify comment ${JSON.stringify(comment)}\n\t}`;
  const moves = movingIps(input);
  const copies = copiesText(
    s.nftTable,
    tun,
    mask,
    input.copies ?? new Map(),
    input.tunnelMac ?? '',
    moves,
    input.returnPath?.nodeIds,
  );
  const back = returnText(input, tun);
  const answers = answersText(s.nftTable, tun, moves, peerMacs);
  const body = [...lines, prerouting('cloud-egress'), '}', copies, back, answers].join('\n');
  const fingerprint = createHash('sha256').update(body).digest('hex').slice(0, 16);
  const text = [
    ...lines,
    prerouting(`${FINGERPRINT_PREFIX}${fingerprint}`),
    '}',
    copies,
    back,
    answers,
    '',
  ].join('\n');
  return { text, fingerprint };
}

/**
 * The IPv4 egress IPs of this node's planned moves with the other gateway's node IP, by IP. The answers sent on
 * to the other gateway are IPv4 only: an IPv6 IP's move copies the tunnel's frames but not the answers.
 */
function movingIps(input: NftStructureInput): (readonly [string, string])[] {
  return [...(input.copies ?? [])]
    .map(([value, peer]) => [input.snat.get(value), peer] as const)
    .filter((x): x is readonly [string, string] => x[0] !== undefined && !isV6(x[0]))
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** Tunnel MACs of the other gateways of this node's planned moves, sorted. */
function copyPeerMacs(input: NftStructureInput): string[] {
  return [...new Set(input.copies?.values() ?? [])].map(tunnelMac).sort();
}

/**
 * The prerouting rules of the return path `tunnel`: the one that records a tunnelled connection's source node
 * in its connection mark, and the one that marks its replies for the route into the tunnel; '' otherwise.
 */
function returnRules(input: NftStructureInput, tun: string): [string, string] {
  const back = input.returnPath;
  if (!back) return ['', ''];
  const s = input.settings;
  const nodes = hex(s.nodeIdMask);
  // What the other gateway of a planned move sends itself is not a pod's: it records nothing. Its copies of a
  // pod's frames carry the pod's node in their source MAC (copyMac): those record that node.
  const copyPeers = copyPeerMacs(input);
  const notCopy = copyPeers.length === 0 ? '' : ` ether saddr != { ${copyPeers.join(', ')} }`;
  const byMac = [...back.nodeIds].sort((a, b) => a[1] - b[1]);
  const ids = [
    ...byMac,
    ...(copyPeers.length === 0 ? [] : byMac.map(([mac, value]) => [copyMac(mac), value] as const)),
  ]
    .map(([mac, value]) => `${mac} : ${hex(value)}`)
    .join(', ');
  return [
    `\t\tiifname ${tun} ct direction original ct mark 0${notCopy} ct mark set ether saddr map { ${ids} }\n`,
    `\t\tct direction reply ct mark & ${nodes} != 0 meta mark set ct mark & ${nodes} | ${hex(s.markMask)}\n`,
  ];
}

/** The return path's table (module comment), replaced with the agent's table; removed for `podNetwork`. */
function returnText(input: NftStructureInput, tun: string): string {
  const s = input.settings;
  const name = returnTable(s.nftTable);
  const reset = `add table netdev ${name}\ndelete table netdev ${name}`;
  const back = input.returnPath;
  if (!back) return reset;
  const mask = hex(s.markMask);
  const nodes = hex(s.nodeIdMask);
  const macs = [...back.nodeIds]
    .sort((a, b) => a[1] - b[1])
    .map(([mac, value]) => `${hex(value)} : ${mac}`)
    .join(', ');
  return (
    `${reset}\ntable netdev ${name} {\n\tchain egress {\n` +
    `\t\ttype filter hook egress device ${tun} priority filter; policy accept;\n` +
    `\t\tmeta mark & ${mask} == ${mask} ether daddr set meta mark & ${nodes} map { ${macs} } ` +
    `meta mark set meta mark & ${hex(~(s.markMask | s.nodeIdMask))}\n` +
    `\t\tether daddr ${back.hopMac} drop\n\t}\n}`
  );
}

/**
 * The copies' table, replaced (or removed, without copies) by the same transaction as the agent's table. With the
 * return path `tunnel` (`nodeIds` given), a chain per node sends the copy from that node's {@link copyMac} and
 * gives the frame that goes on here its source MAC back: on both gateways the record rule reads the pod's node
 * from it (the copy's MAC matches no node's, so it is not copied again).
 */
function copiesText(
  table: string,
  tun: string,
  mask: string,
  copies: ReadonlyMap<number, string>,
  ownMac: string,
  moving: readonly (readonly [string, string])[],
  nodeIds?: ReadonlyMap<string, number>,
): string {
  const name = copyTable(table);
  const reset = `add table netdev ${name}\ndelete table netdev ${name}`;
  if (copies.size === 0) return reset;
  const sorted = [...copies].sort((a, b) => a[0] - b[0]);
  const copy = (to: string) =>
    `ether saddr set ${ownMac} ether daddr set ${to} dup to ${tun} ether daddr set ${ownMac}`;
  let chains = '';
  let rules: string[];
  if (nodeIds === undefined) {
    rules = sorted.map(
      ([value, to]) =>
        `\t\tmeta mark & ${mask} == ${hex(value)} ether saddr != ${tunnelMac(to)} ${copy(tunnelMac(to))}\n`,
    );
  } else {
    const nodes = [...nodeIds].filter(([mac]) => mac !== ownMac).sort((a, b) => a[1] - b[1]);
    const chain = (value: number) => `from_${(value >>> 0).toString(16)}`;
    const others = `meta mark & ${mask} map { ${sorted.map(([v, to]) => `${hex(v)} : ${tunnelMac(to)}`).join(', ')} }`;
    // The copy carries the pod's node in its source MAC (the other gateway records it); the frame that goes on
    // here gets its own back.
    for (const [mac, value] of nodes) {
      chains +=
        `\tchain ${chain(value)} {\n\t\tether saddr set ${copyMac(mac)} ether daddr set ${others} dup to ${tun} ` +
        `ether daddr set ${ownMac} ether saddr set ${mac}\n\t}\n`;
    }
    const dispatch = `ether saddr vmap { ${nodes.map(([mac, value]) => `${mac} : jump ${chain(value)}`).join(', ')} }`;
    rules = sorted.map(
      ([value, to]) =>
        `\t\tmeta mark & ${mask} == ${hex(value)} ether saddr != ${tunnelMac(to)} ${dispatch}\n`,
    );
  }
  // An answer sent on to the other gateway leaves for the egress IP's own neighbour entry (the route into the
  // tunnel is on-link): it gets the other gateway's MAC here.
  const answers = `{ ${moving.map(([ip, peer]) => `${tunnelMac(ip)} : ${tunnelMac(peer)}`).join(', ')} }`;
  const out =
    moving.length === 0
      ? ''
      : `\tchain egress {\n\t\ttype filter hook egress device ${tun} priority filter; policy accept;\n` +
        `\t\tether daddr set ether daddr map ${answers}\n\t}\n`;
  return (
    `${reset}\ntable netdev ${name} {\n${chains}${out}\tchain ingress {\n` +
    `\t\ttype filter hook ingress device ${tun} priority filter; policy accept;\n${rules.join('')}\t}\n}`
  );
}

/**
 * The answers' table (module comment), replaced (or removed, without planned moves) by the same transaction as
 * the agent's table. From outside the tunnel: an answer to the moving IP that this node's conntrack has no entry
 * for is sent to the move's other gateway through the tunnel and not answered here; a handshake answer (SYN-ACK)
 * of a connection it knows is also copied to the other gateway, which saw the connection's first segment too.
 * From the other gateway: what this node's conntrack has no entry for is dropped (never answered with a RST).
 */
function answersText(
  table: string,
  tun: string,
  moving: readonly (readonly [string, string])[],
  peerMacs: readonly string[],
): string {
  const name = answersTable(table);
  const reset = `add table ip ${name}\ndelete table ip ${name}`;
  if (moving.length === 0) return reset;
  const ips = `ip daddr { ${moving.map(([ip]) => ip).join(', ')} }`;
  const unknown = `iifname != ${tun} ct state new,invalid ${ips}`;
  const to = `dup to ip daddr map { ${moving.map(([ip, peer]) => `${ip} : ${peer}`).join(', ')} } device ${tun}`;
  const handshake = `iifname != ${tun} ct direction reply tcp flags & (syn | ack) == syn | ack ${ips}`;
  const fromPeer = `iifname ${tun} ether saddr { ${peerMacs.join(', ')} } ct state new,invalid ${ips}`;
  return (
    `${reset}\ntable ip ${name} {\n\tchain prerouting {\n` +
    `\t\ttype filter hook prerouting priority mangle - 10; policy accept;\n` +
    `\t\t${unknown} counter ${to}\n\t\t${unknown} drop\n` +
    `\t\t${handshake} counter ${to}\n` +
    `\t\t${fromPeer} counter drop\n\t}\n}`
  );
}

/** Prefix of the rule comment that carries the fingerprint. */
export const FINGERPRINT_PREFIX = 'cloud-egress ';

/** One element as nft text. */
export function renderElement(kind: NftSetKind, key: string, value: string): string {
  if (kind === 'map') return `${key} : ${value}`;
  if (kind === 'interval') {
    const [a, b] = key.split('-');
    return a === b ? a! : key;
  }
  return key;
}

/** `add element` / `delete element` commands for one set, or '' when `elements` is empty. */
export function renderElements(
  op: 'add' | 'delete',
  table: string,
  set: string,
  kind: NftSetKind,
  elements: ReadonlyMap<string, string>,
): string {
  if (elements.size === 0) return '';
  const items: string[] = [];
  for (const [k, v] of elements)
    items.push(op === 'delete' && kind === 'map' ? k : renderElement(kind, k, v));
  return `${op} element inet ${table} ${set} { ${items.join(', ')} }\n`;
}
