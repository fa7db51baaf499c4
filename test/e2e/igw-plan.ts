/**
 * @module
 * The box's internet gateway, pure: the 1:1 NAT between Elastic IPs and the private IPs LocalStack has
 * associated them with, and the difference between two such states as one `nft -f` transaction.
 *
 * AWS's internet gateway "performs network address translation (NAT) for instances that have been assigned
 * public IPv4 addresses" (VPC User Guide, "Enable internet access for a VPC using an internet gateway"): a packet
 * from a private IP with an Elastic IP leaves with the Elastic IP as its source, a packet to the Elastic IP comes
 * in to the private IP, and a packet from a private IP without one does not reach the internet.
 *
 * ```
 * DescribeAddresses ──desiredNat──► private IP -> Elastic IP   (associated, on an ENI of this VPC)
 * applied, desired ──planNat──► "delete element ... eip_out/eip_in ; add element ..."  (one transaction)
 *
 * router, towards the internet link:  forward:     oifname <inet> ip saddr not in eip_out -> count, drop
 *                                     postrouting: oifname <inet> snat to ip saddr map eip_out
 * router, from the internet link:     prerouting:  iifname <inet> dnat to ip daddr map eip_in
 * ```
 */

/** An Elastic IP as the internet gateway needs it (DescribeAddresses). */
export interface EipView {
  readonly publicIp: string;
  /** The ENI and private IP it is associated with (both absent when it is not). */
  readonly networkInterfaceId: string | undefined;
  readonly privateIp: string | undefined;
}

/** The gateway's NAT table: private IP -> Elastic IP. */
export type PublicNat = ReadonlyMap<string, string>;

/** Name of the gateway's nftables table (family ip). */
export const IGW_TABLE = 'igw';
/** Counter of packets dropped because their source has no public address. */
export const NO_PUBLIC_IP_COUNTER = 'no_public_ip';

/** The NAT the gateway should do: each Elastic IP associated with a private IP on one of `enis` (the VPC's). */
export function desiredNat(addresses: readonly EipView[], enis: ReadonlySet<string>): PublicNat {
  const nat = new Map<string, string>();
  for (const a of addresses) {
    if (a.networkInterfaceId && a.privateIp && enis.has(a.networkInterfaceId))
      nat.set(a.privateIp, a.publicIp);
  }
  return nat;
}

/** The gateway's static ruleset on the router; `link` is the router's link towards the internet. */
export function igwRuleset(link: string): string {
  return [
    `table ip ${IGW_TABLE} {`,
    `\tcounter ${NO_PUBLIC_IP_COUNTER} { }`,
    '\tmap eip_out { type ipv4_addr : ipv4_addr; }',
    '\tmap eip_in { type ipv4_addr : ipv4_addr; }',
    '\tchain forward {',
    '\t\ttype filter hook forward priority filter; policy accept;',
    `\t\toifname "${link}" ip saddr != @eip_out counter name "${NO_PUBLIC_IP_COUNTER}" drop`,
    '\t}',
    '\tchain post {',
    '\t\ttype nat hook postrouting priority srcnat; policy accept;',
    `\t\toifname "${link}" snat to ip saddr map @eip_out`,
    '\t}',
    '\tchain pre {',
    '\t\ttype nat hook prerouting priority dstnat; policy accept;',
    `\t\tiifname "${link}" dnat to ip daddr map @eip_in`,
    '\t}',
    '}',
    '',
  ].join('\n');
}

/** The `nft -f` transaction from `applied` to `desired` ('' when they are the same). */
export function planNat(applied: PublicNat, desired: PublicNat): string {
  const gone = [...applied].filter(([ip, eip]) => desired.get(ip) !== eip);
  const added = [...desired].filter(([ip, eip]) => applied.get(ip) !== eip);
  const elements = (pairs: [string, string][], dir: 'out' | 'in') =>
    pairs.map(([ip, eip]) => (dir === 'out' ? `${ip} : ${eip}` : `${eip} : ${ip}`)).join(', ');
  const lines: string[] = [];
  for (const dir of ['out', 'in'] as const) {
    if (gone.length) lines.push(`delete element ip ${IGW_TABLE} eip_${dir} { ${elements(gone, dir)} }`);
  }
  for (const dir of ['out', 'in'] as const) {
    if (added.length) lines.push(`add element ip ${IGW_TABLE} eip_${dir} { ${elements(added, dir)} }`);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}
