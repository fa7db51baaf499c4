/**
 * @module
 * Capability flags: what a provider can do, declared once in its descriptor and read by the core (the engine,
 * the controller) instead of comparing provider names.
 *
 * | flag                | true                                                   | false                                                  |
 * |---------------------|--------------------------------------------------------|--------------------------------------------------------|
 * | `atomicMove`        | one call takes an IP from its old interface (AWS       | a move is a release on the old interface, DONE, then   |
 * |                     | `AllowReassignment`): the IP is never on no interface  | an add on the new one (GCP, Azure)                     |
 * | `publicAddresses`   | a change may pair a public address with the IP (AWS    | a change naming one fails `terminal` with the          |
 * |                     | Elastic IP, Azure public IP)                           | provider's {@link ProviderCapabilities.publicAddressHint} |
 * | `cloudAllocatedIPs` | `allocate` lets the cloud pick free IPs                | gateways with `cloudAllocated` are refused             |
 * | `ownershipRecord`   | the cloud records which IPs this installation owns     | nothing in the cloud says so (`none`): the controller   |
 * |                     | (tags, ranges, names): `listAssignments` is the truth  | seeds the placement from the policies' status           |
 * | `families` (a set)  | the address families whose IPs the provider can place; | an IP of another family is never handed out; a policy   |
 * |                     | the controller hands out those the agents also program | asking for one is told why ({@link                      |
 * |                     |                                                        | ProviderCapabilities.familiesHint})                     |
 *
 * | provider   | atomicMove | publicAddresses | cloudAllocatedIPs | ownershipRecord | families                          |
 * |------------|------------|-----------------|-------------------|-----------------|-----------------------------------|
 * | `aws`      | yes        | yes             | yes               | yes             | IPv4, IPv6 (`AssignIpv6Addresses`)|
 * | `gcp`      | no         | no              | yes               | yes             | IPv4 (alias IP ranges are IPv4)   |
 * | `azure`    | no         | yes             | yes               | yes             | IPv4, IPv6                        |
 * | `none`     | yes        | no              | no                | no              | IPv4, IPv6 (ARP, unsolicited NA)  |
 * | `inmemory` | yes        | yes             | yes               | yes             | IPv4, IPv6                        |
 *
 * `atomicMove` is the provider's answer for every move unless its driver answers per move
 * (interface-driver.ts `atomicMove(from, to)`): Azure's one-operation move (`moveIpConfigurations`) exists only
 * where the subscription has the feature, and a route next hop (AKS scale-set nodes) always moves in one write.
 * `subnetReserved` (not a flag): how many addresses at the start and the end of each subnet the cloud keeps;
 * `aws` and `inmemory` 4 and 1, `none` 1 and 1 (network and broadcast), others the default, 4 and 2.
 */

import type { IpFamily } from '../net/ip.ts';

/** Addresses at the start and at the end of every subnet that a cloud keeps for itself. */
export interface SubnetReservation {
  readonly first: number;
  readonly last: number;
}

/**
 * What the core assumes of a provider that declares no {@link ProviderCapabilities.subnetReserved}: the most
 * any supported cloud keeps (AWS and Azure the first four, GCP the last two).
 */
export const DEFAULT_SUBNET_RESERVED: SubnetReservation = { first: 4, last: 2 };

/** `families` of a provider that places IPv4 and IPv6 egress IPs. */
export const IPV4_AND_IPV6: ReadonlySet<IpFamily> = new Set<IpFamily>([4, 6]);

/** `families` of a provider that places IPv4 egress IPs only. */
export const IPV4_ONLY: ReadonlySet<IpFamily> = new Set<IpFamily>([4]);

/** See the module table. */
export interface ProviderCapabilities {
  /** One cloud call moves an IP between interfaces, so it is never on none in between. */
  readonly atomicMove: boolean;
  /** A change may pair a public address (AWS Elastic IP, Azure public IP) with the egress IP. */
  readonly publicAddresses: boolean;
  /** Without `publicAddresses`: what to tell a user who asks for one (where to look instead). */
  readonly publicAddressHint?: string;
  /** `allocate` changes let the cloud pick free IPs in the node's subnet. */
  readonly cloudAllocatedIPs: boolean;
  /** The cloud records ownership, so `listAssignments` is the truth without the policies' status. */
  readonly ownershipRecord: boolean;
  /**
   * The address families whose IPs the provider can place on a node's interface. The controller hands out
   * only IPs of these families that the node agents also program (src/controller/served-families.ts).
   */
  readonly families: ReadonlySet<IpFamily>;
  /**
   * Without every family in `families`: why the others cannot be placed, for the user (e.g. GCP: alias IP ranges
   * carry IPv4 only). The controller puts it in the status of a policy that asks for such an IP.
   */
  readonly familiesHint?: string;
  /**
   * Addresses at the start and the end of every subnet that the cloud refuses to assign (AWS: the first four
   * and the last, https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html). The scheduler never
   * hands them out. Absent: {@link DEFAULT_SUBNET_RESERVED}.
   */
  readonly subnetReserved?: SubnetReservation;
}
