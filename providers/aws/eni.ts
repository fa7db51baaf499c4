/**
 * @module
 * What the provider knows about one ENI, read from `DescribeNetworkInterfaces`, and the ownership record:
 * tags `cloudegress.io/owner/<owner>/<n>` on the **subnet**, whose values list the egress IPs the installation
 * `<owner>` claims in it (space-separated, packed into as few tags as AWS's 256-character values allow), and
 * `cloudegress.io/owner/<owner>/version`, which names the claim write that the values are the outcome of (a read
 * shows which of the installation's writes it has seen: subnet-claims.ts).
 *
 * A private IP belongs to its subnet for life, whichever ENI holds it, so the claim sits on the subnet: a move
 * between ENIs needs no tag write, and a claim survives the termination of the node (and ENI) that held the IP.
 * An IP counts as owned only while it is on the ENI *and* claimed, so the primary IP, IPs of other tools and IPs
 * of another installation are never touched.
 */
import type { NetworkInterface, Tag } from '@aws-sdk/client-ec2';
import { OWNERSHIP_TAG } from '../../src/api/annotations.ts';
import { canonicalIp } from '../../src/net/ip.ts';

/** An ENI as the provider sees it. */
export interface EniView {
  readonly id: string;
  readonly subnetId: string;
  readonly vpcId: string;
  readonly zone: string;
  /** The primary private IPv4 address. */
  readonly primary: string;
  /** Every private IPv4 address, the primary included. */
  readonly ipv4: readonly string[];
  /** Every IPv6 address. */
  readonly ipv6: readonly string[];
  /** The ENI's tags. */
  readonly tags: ReadonlyMap<string, string>;
  /** EC2's source/destination check (on unless turned off). */
  readonly sourceDestCheck: boolean;
}

/** Longest AWS tag value. */
const MAX_TAG_VALUE = 256;

/** The key prefix of an owner's ownership tags: `cloudegress.io/owner/<owner>/`. */
export function ownershipPrefix(owner: string): string {
  return `${OWNERSHIP_TAG}/${owner}/`;
}

/** The key of an owner's claims version tag: `cloudegress.io/owner/<owner>/version`. */
export function claimsVersionKey(owner: string): string {
  return `${ownershipPrefix(owner)}version`;
}

/** Whether `key` is one of the claim tags `<prefix><n>` (not the version tag). */
function isClaimKey(key: string, prefix: string): boolean {
  return key.startsWith(prefix) && /^\d+$/.test(key.slice(prefix.length));
}

/** The IPs an owner's ownership tags on a subnet claim (whether or not an ENI holds them now). */
export function claimedIPs(tags: ReadonlyMap<string, string>, owner: string): Set<string> {
  const prefix = ownershipPrefix(owner);
  const out = new Set<string>();
  for (const [key, value] of tags) {
    if (isClaimKey(key, prefix)) for (const ip of value.split(' ')) if (ip) out.add(ip);
  }
  return out;
}

/**
 * The ownership tags recording `ips`: sorted, space-separated, packed into values of at most 256 characters
 * under keys `<prefix>0`, `<prefix>1`, ... (AWS allows 50 tags per resource, so one tag per IP would not scale).
 */
export function ownershipTags(owner: string, ips: Iterable<string>): { Key: string; Value: string }[] {
  const out: { Key: string; Value: string }[] = [];
  let value = '';
  for (const ip of [...new Set(ips)].sort()) {
    if (value && value.length + 1 + ip.length > MAX_TAG_VALUE) {
      out.push({ Key: `${ownershipPrefix(owner)}${out.length}`, Value: value });
      value = '';
    }
    value = value ? `${value} ${ip}` : ip;
  }
  if (value) out.push({ Key: `${ownershipPrefix(owner)}${out.length}`, Value: value });
  return out;
}

/**
 * The tag writes that make a resource's ownership tags record exactly `ips`: keys to (over)write and to delete
 * (the version tag is neither).
 */
export function ownershipTagUpdate(
  tags: ReadonlyMap<string, string>,
  owner: string,
  ips: Iterable<string>,
): { write: { Key: string; Value: string }[]; remove: string[] } {
  const wanted = ownershipTags(owner, ips);
  const prefix = ownershipPrefix(owner);
  const write = wanted.filter((t) => tags.get(t.Key) !== t.Value);
  const keep = new Set(wanted.map((t) => t.Key));
  const remove = [...tags.keys()].filter((k) => isClaimKey(k, prefix) && !keep.has(k));
  return { write, remove };
}

/** Parses an SDK network interface. */
export function eniView(eni: NetworkInterface): EniView {
  const ipv4 = (eni.PrivateIpAddresses ?? [])
    .map((p) => p.PrivateIpAddress)
    .filter((ip): ip is string => !!ip);
  const primary =
    eni.PrivateIpAddresses?.find((p) => p.Primary)?.PrivateIpAddress ?? eni.PrivateIpAddress ?? ipv4[0] ?? '';
  const ipv6 = (eni.Ipv6Addresses ?? [])
    .map((p) => p.Ipv6Address)
    .filter((ip): ip is string => !!ip)
    .map(canonicalIp);
  return {
    id: eni.NetworkInterfaceId ?? '',
    subnetId: eni.SubnetId ?? '',
    vpcId: eni.VpcId ?? '',
    zone: eni.AvailabilityZone ?? '',
    primary,
    ipv4: ipv4.includes(primary) || !primary ? ipv4 : [primary, ...ipv4],
    ipv6,
    tags: new Map((eni.TagSet ?? []).map((t: Tag) => [t.Key ?? '', t.Value ?? ''])),
    sourceDestCheck: eni.SourceDestCheck ?? true,
  };
}

/** True when `ip` is on the ENI (IPv4 or IPv6). */
export function holds(eni: EniView, ip: string): boolean {
  return eni.ipv4.includes(ip) || eni.ipv6.includes(ip);
}

/** The IPs this installation claims in a subnet (from the subnet's ownership tags). */
export type Claims = ReadonlySet<string>;

/** True when `ip` is on the ENI, is not its primary, and is claimed. */
export function owns(eni: EniView, ip: string, claims: Claims): boolean {
  return ip !== eni.primary && holds(eni, ip) && claims.has(ip);
}

/** Every IP the ENI holds that we own, sorted. */
export function ownedIPs(eni: EniView, claims: Claims): string[] {
  return [...eni.ipv4, ...eni.ipv6].filter((ip) => owns(eni, ip, claims)).sort();
}

/** Every IP on the ENI we do not own (primary first). */
export function reservedIPs(eni: EniView, claims: Claims): string[] {
  return [
    eni.primary,
    ...[...eni.ipv4, ...eni.ipv6].filter((ip) => ip !== eni.primary && !owns(eni, ip, claims)),
  ];
}
