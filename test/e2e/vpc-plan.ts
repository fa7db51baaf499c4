/**
 * @module
 * The "VPC" router's one decision, pure: which node link each ENI IP is delivered to, and the difference
 * between two such states as `ip -batch` and `nft -f` text.
 *
 * ```
 * ENIs (DescribeNetworkInterfaces) ──desiredDelivery──► ip -> the ENI's own link, else its instance's link
 * (an IP on two ENIs is a conflict: it stays where it was, or goes to the first ENI by id, and is reported)
 * applied, desired ──planVpc──► { routes: "route replace <ip>/32 dev <link>" | "route del <ip>/32",
 *                                 nft:    "delete element ... ; add element ..." }  (one transaction each)
 * (an IPv6 address: a /128 route, and its pair in the IPv6 set)
 * ```
 */

import { familyOf } from '../../src/net/ip.ts';

/** An ENI as the VPC needs it. */
export interface EniView {
  readonly id: string;
  /** The instance it is attached to (unattached ENIs deliver nothing). */
  readonly instanceId: string | undefined;
  /** Every private IPv4 address on it, primary first, then its IPv6 addresses. */
  readonly ips: readonly string[];
}

/** The VPC's delivery table: IP -> router link of the node that holds it. */
export type Delivery = ReadonlyMap<string, string>;

/** The result of {@link desiredDelivery}. */
export interface DeliveryDecision {
  readonly delivery: Delivery;
  /** IPs found on more than one ENI, with the ENIs (a cloud never allows this). */
  readonly conflicts: ReadonlyMap<string, readonly string[]>;
}

/** Where the router reaches the ENIs: an ENI's own link if it has one, else its instance's. */
export interface EniLinks {
  /** Instance id -> router link of that node (its primary ENI, and any ENI without a link of its own). */
  readonly ofInstance: ReadonlyMap<string, string>;
  /** ENI id -> router link of that ENI (a node's second ENI, wired as its own device). */
  readonly ofEni?: ReadonlyMap<string, string>;
}

/** Computes where each IP goes: to the link of the ENI that holds it (see {@link EniLinks}), while attached. */
export function desiredDelivery(
  enis: readonly EniView[],
  links: EniLinks,
  previous: Delivery = new Map(),
): DeliveryDecision {
  const holders = new Map<string, { eni: string; link: string }[]>();
  for (const eni of [...enis].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    const link = eni.instanceId
      ? (links.ofEni?.get(eni.id) ?? links.ofInstance.get(eni.instanceId))
      : undefined;
    if (!link) continue;
    for (const ip of eni.ips) {
      const list = holders.get(ip) ?? [];
      list.push({ eni: eni.id, link });
      holders.set(ip, list);
    }
  }
  const delivery = new Map<string, string>();
  const conflicts = new Map<string, string[]>();
  for (const [ip, list] of holders) {
    if (list.length > 1)
      conflicts.set(
        ip,
        list.map((h) => h.eni),
      );
    const keep = list.find((h) => h.link === previous.get(ip));
    delivery.set(ip, (keep ?? list[0]!).link);
  }
  return { delivery, conflicts };
}

/** Commands that turn the applied delivery into the desired one. */
export interface VpcPlan {
  /** `ip -batch` lines (empty when nothing changes). */
  readonly routes: readonly string[];
  /** One `nft -f` transaction (empty when nothing changes). */
  readonly nft: string;
  /** IPs whose delivery changed (added, moved or removed). */
  readonly changed: readonly string[];
}

/** Name of the router's nftables table (family inet). */
export const VPC_TABLE = 'vpc';
/** The set of allowed (ingress link, source IP) pairs. */
export const SOURCES_SET = 'eni_sources';
/** Its IPv6 twin: allowed (ingress link, source IPv6 address) pairs. */
export const SOURCES_SET6 = 'eni_sources6';

const isIpv6 = (ip: string) => familyOf(ip) === 6;
const hostRoute = (ip: string) => `${ip}/${isIpv6(ip) ? 128 : 32}`;

/**
 * The router's static ruleset: forwarded packets from a node link must carry a source its ENI holds, in either
 * family (EC2's source/destination check covers IPv4 and IPv6 alike).
 */
export function vpcRuleset(uplink: string | readonly string[]): string {
  const uplinks = (typeof uplink === 'string' ? [uplink] : uplink).map((u) => `"${u}"`);
  const exempt = uplinks.length === 1 ? uplinks[0] : `{ ${uplinks.join(', ')} }`;
  return [
    `table inet ${VPC_TABLE} {`,
    '\tcounter spoofed { }',
    `\tset ${SOURCES_SET} { type ifname . ipv4_addr; }`,
    `\tset ${SOURCES_SET6} { type ifname . ipv6_addr; }`,
    '\tchain forward {',
    '\t\ttype filter hook forward priority filter; policy accept;',
    `\t\tmeta nfproto ipv4 iifname != ${exempt} iifname . ip saddr != @${SOURCES_SET} counter name "spoofed" drop`,
    `\t\tmeta nfproto ipv6 iifname != ${exempt} iifname . ip6 saddr != @${SOURCES_SET6} counter name "spoofed" drop`,
    '\t}',
    '}',
    '',
  ].join('\n');
}

/** Plans the change from `applied` to `desired`. */
export function planVpc(applied: Delivery, desired: Delivery): VpcPlan {
  const routes: string[] = [];
  const removals: string[] = [];
  const additions: string[] = [];
  const changed: string[] = [];
  for (const [ip, link] of applied) {
    const next = desired.get(ip);
    if (next === link) continue;
    removals.push(ip);
    if (next === undefined) {
      routes.push(`route del ${hostRoute(ip)}`);
      changed.push(ip);
    }
  }
  for (const [ip, link] of desired) {
    if (applied.get(ip) === link) continue;
    additions.push(ip);
    routes.push(`route replace ${hostRoute(ip)} dev ${link}`);
    changed.push(ip);
  }
  const elements = (verb: string, ips: readonly string[], delivery: Delivery) =>
    [SOURCES_SET, SOURCES_SET6].map((set) => {
      const pairs = ips
        .filter((ip) => isIpv6(ip) === (set === SOURCES_SET6))
        .map((ip) => `"${delivery.get(ip)}" . ${ip}`);
      return pairs.length ? `${verb} element inet ${VPC_TABLE} ${set} { ${pairs.join(', ')} }` : '';
    });
  const nft = [...elements('delete', removals, applied), ...elements('add', additions, desired)]
    .filter(Boolean)
    .join('\n');
  return { routes, nft: nft ? `${nft}\n` : '', changed };
}
