/**
 * @module
 * What the provider knows about one ENI, read from `DescribeNetworkInterfaces`, and the ownership record:
 * one ENI tag per egress IP, key `cloudegress.io/owner/<ip>`, value the installation's owner name.
 *
 * An IP counts as owned only while it is on the ENI *and* that ENI carries its tag with our owner value,
 * so the primary IP, IPs of other tools and IPs of another installation are never touched.
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
}

/** The tag key recording ownership of `ip`. */
export function ownershipTagKey(ip: string): string {
  return `${OWNERSHIP_TAG}/${ip}`;
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
  };
}

/** True when `ip` is on the ENI (IPv4 or IPv6). */
export function holds(eni: EniView, ip: string): boolean {
  return eni.ipv4.includes(ip) || eni.ipv6.includes(ip);
}

/** True when `ip` is on the ENI, is not its primary, and carries our ownership tag. */
export function owns(eni: EniView, ip: string, owner: string): boolean {
  return ip !== eni.primary && holds(eni, ip) && eni.tags.get(ownershipTagKey(ip)) === owner;
}

/** Every IP the ENI holds that we own, sorted. */
export function ownedIPs(eni: EniView, owner: string): string[] {
  return [...eni.ipv4, ...eni.ipv6].filter((ip) => owns(eni, ip, owner)).sort();
}

/** Every IP on the ENI we do not own (primary first). */
export function reservedIPs(eni: EniView, owner: string): string[] {
  return [
    eni.primary,
    ...[...eni.ipv4, ...eni.ipv6].filter((ip) => ip !== eni.primary && !owns(eni, ip, owner)),
  ];
}

/** Our ownership tags on the ENI for IPs it no longer holds (left by a move or a crash). */
export function staleOwnershipKeys(eni: EniView, owner: string): string[] {
  const prefix = `${OWNERSHIP_TAG}/`;
  return [...eni.tags]
    .filter(
      ([key, value]) => key.startsWith(prefix) && value === owner && !holds(eni, key.slice(prefix.length)),
    )
    .map(([key]) => key);
}
