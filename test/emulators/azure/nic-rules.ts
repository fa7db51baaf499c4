/**
 * @module
 * What ARM checks when a NIC is PUT, as one function over the emulator's state (see cloud.ts for the order
 * of checks around it: running operation, `If-Match`, then these). The first broken rule is thrown as the
 * {@link ArmError} Azure answers with.
 *
 * | rule                                                              | error                                  |
 * |-------------------------------------------------------------------|----------------------------------------|
 * | at most 256 ipConfigurations                                       | 400 QuotaExceeded                      |
 * | ipConfiguration names unique                                       | 400 InvalidRequestFormat (DuplicateResourceName) |
 * | a Static ipConfiguration names its address                         | 400 PrivateIPAddressMissing            |
 * | exactly one primary, the same one as before                        | 400 ...MustHaveOnePrimaryIpConfiguration |
 * | the primary is IPv4 (so the NIC has an IPv4 ipConfiguration)       | 400 IPv6IpConfigurationCannotBePrimary (code not documented) |
 * | `privateIPAddressVersion` is IPv4 or IPv6 (absent: IPv4)           | 400 InvalidRequestFormat               |
 * | every subnet (and public IP) referenced exists                     | 400 InvalidResourceReference           |
 * | a static IP lies in a prefix of its subnet of its version          | 400 PrivateIPAddressNotInSubnet        |
 * | ... and is not one of that prefix's first four or its last address | 400 PrivateIPAddressInReservedRange    |
 * | ... and no other ipConfiguration holds it                          | 400 PrivateIPAddressIsAllocated        |
 * | a public IP is associated with one ipConfiguration at most         | 400 PublicIPAddressInUse               |
 * | ... and has the ipConfiguration's version                          | 400 IPVersionForPublicIpAndNicIpConfigurationMustMatch |
 * | every ipConfiguration has the primary's application security groups| 400 AllIpConfigurations...SameApplicationSecurityGroups |
 *
 * A subnet has one prefix per version (`addressPrefix`, or `addressPrefixes` in a dual-stack subnet); an
 * ipConfiguration's version (`privateIPAddressVersion`, "Whether the specific IP configuration is IPv4 or IPv6.
 * Default is IPv4." in the REST spec) picks the prefix its address comes from: an IPv6 address in an ipConfiguration
 * that names no version, or in a subnet without an IPv6 prefix, is not in its subnet. A Dynamic ipConfiguration
 * keeps the IP it had, or gets the lowest free address of the prefix of its version (Microsoft Learn: "Dynamic
 * private IPv4 and IPv6 (optionally) addresses are assigned by default"); a subnet without a prefix of that version
 * has no free address (`SubnetIsFull`; Azure's code for that case is not documented).
 */
import { addressesIn, canonicalIp, cidrContains, cidrRange, familyOf, isIp } from '../../../src/net/ip.ts';
import {
  ArmError,
  badRequest,
  differentAsgs,
  duplicateChildName,
  inReservedRange,
  invalidReference,
  ipAllocated,
  ipVersionMismatch,
  notInSubnet,
  primaryNotIPv4,
  primaryRequired,
  publicIpInUse,
  staticWithoutAddress,
  tooManyIpConfigurations,
} from './arm-errors.ts';
import {
  clone,
  type Json,
  key,
  MAX_IP_CONFIGURATIONS_PER_NIC,
  type WireIpConfiguration,
  type WireNic,
} from './wire.ts';

/** A subnet as the rules need it. */
export interface RuleSubnet {
  readonly id: string;
  /** Its address prefixes: one IPv4 prefix, and in a dual-stack subnet one IPv6 prefix beside it. */
  readonly prefixes: readonly string[];
}

/** `IPv4` or `IPv6`. */
type IpVersion = 'IPv4' | 'IPv6';

/** What the rules look up in the rest of the emulated subscription. */
export interface NicRuleContext {
  subnet(id: string): RuleSubnet | undefined;
  /** IP (canonical text) → ipConfiguration ID, over every NIC but `except`. */
  heldIPs(except: WireNic): Map<string, string>;
  /** The version of a public IP, or undefined when there is no such public IP. */
  publicIpVersion(id: string): IpVersion | undefined;
  /** The ipConfiguration (of a NIC other than `except`) a public IP is associated with. */
  publicHolder(id: string, except: WireNic): string | undefined;
}

/** True when `ip` is one of the five addresses Azure keeps in every subnet. */
function reserved(prefix: string, ip: string): boolean {
  const range = cidrRange(prefix);
  const value = cidrRange(`${ip}/${familyOf(ip) === 4 ? 32 : 128}`).start;
  return value < range.start + 4n || value === range.end;
}

/** The subnet's prefixes of `version`. */
const prefixesOf = (subnet: RuleSubnet, version: IpVersion) =>
  subnet.prefixes.filter((p) => (familyOf(p.split('/')[0]!) === 4) === (version === 'IPv4'));

function nextFree(subnet: RuleSubnet, version: IpVersion, taken: (ip: string) => boolean): string {
  for (const prefix of prefixesOf(subnet, version)) {
    const range = cidrRange(prefix);
    const [ip] = addressesIn({ ...range, start: range.start + 4n, end: range.end - 1n }, taken, 1);
    if (ip) return ip;
  }
  throw new ArmError(400, 'SubnetIsFull', `Subnet ${subnet.id} has no free ${version} address.`);
}

const asgKey = (c: WireIpConfiguration) =>
  (c.properties.applicationSecurityGroups ?? [])
    .map((a) => key(a.id))
    .sort()
    .join(',');

/**
 * Checks the PUT `body` of NIC `current` and returns the NIC to store (etag and read-only fields still to
 * be filled in by the caller).
 * @throws ArmError for the first broken rule.
 */
export function checkNicPut(current: WireNic, body: unknown, ctx: NicRuleContext): WireNic {
  const props = (body as { properties?: { ipConfigurations?: unknown } } | null)?.properties;
  if (!props || !Array.isArray(props.ipConfigurations)) {
    throw badRequest('The request body must carry properties.ipConfigurations.');
  }
  const configs = clone(props.ipConfigurations) as WireIpConfiguration[];
  if (configs.length > MAX_IP_CONFIGURATIONS_PER_NIC) {
    throw tooManyIpConfigurations(current.id, configs.length, MAX_IP_CONFIGURATIONS_PER_NIC);
  }
  if (configs.filter((c) => c?.properties?.primary === true).length !== 1) throw primaryRequired(current.id);
  const oldPrimary = current.properties.ipConfigurations.find((c) => c.properties.primary)!;
  const newPrimary = configs.find((c) => c.properties.primary)!;
  if (newPrimary.name !== oldPrimary.name) throw primaryRequired(current.id);
  const primaryIP = newPrimary.properties.privateIPAddress;
  if (
    (newPrimary.properties.privateIPAddressVersion ?? 'IPv4') !== 'IPv4' ||
    (primaryIP !== undefined && isIp(primaryIP) && familyOf(primaryIP) !== 4)
  ) {
    throw primaryNotIPv4(`${current.id}/ipConfigurations/${newPrimary.name}`);
  }

  const names = new Set<string>();
  for (const c of configs) {
    const name = typeof c?.name === 'string' ? c.name.toLowerCase() : undefined;
    if (name !== undefined && names.has(name)) throw duplicateChildName(current.id, c.name);
    if (name !== undefined) names.add(name);
  }
  const others = ctx.heldIPs(current);
  const seen = new Map<string, string>();
  const publicSeen = new Map<string, string>();
  for (const c of configs) {
    if (!c?.name || typeof c.properties !== 'object') {
      throw badRequest('Every ipConfiguration needs a name and properties.');
    }
    const configId = `${current.id}/ipConfigurations/${c.name}`;
    const subnetId = c.properties.subnet?.id;
    const subnet = subnetId ? ctx.subnet(subnetId) : undefined;
    if (!subnet) throw invalidReference(subnetId ?? '(none)', configId);
    const version = c.properties.privateIPAddressVersion ?? 'IPv4';
    if (version !== 'IPv4' && version !== 'IPv6') {
      throw badRequest(
        `privateIPAddressVersion of ${configId} must be IPv4 or IPv6, not ${String(version)}.`,
      );
    }
    let ip = c.properties.privateIPAddress;
    if (!ip && c.properties.privateIPAllocationMethod === 'Static') throw staticWithoutAddress(configId);
    if (!ip || (c.properties.privateIPAllocationMethod ?? 'Dynamic') === 'Dynamic') {
      const wasHere = current.properties.ipConfigurations.find((o) => o.name === c.name)?.properties
        .privateIPAddress;
      ip =
        ip ??
        wasHere ??
        nextFree(subnet, version, (candidate) => others.has(candidate) || seen.has(candidate));
      c.properties.privateIPAllocationMethod = c.properties.privateIPAllocationMethod ?? 'Dynamic';
    }
    const prefixes = prefixesOf(subnet, version);
    const prefix = isIp(ip) ? prefixes.find((p) => cidrContains(p, ip!)) : undefined;
    if (!prefix) {
      throw notInSubnet(configId, ip, subnet.id, prefixes.join(', ') || `(no ${version} address prefix)`);
    }
    if (reserved(prefix, ip)) throw inReservedRange(configId, ip, subnet.id);
    const holder = others.get(canonicalIp(ip)) ?? seen.get(canonicalIp(ip));
    if (holder) throw ipAllocated(configId, ip, holder);
    seen.set(canonicalIp(ip), configId);
    c.properties.privateIPAddress = ip;
    c.properties.privateIPAddressVersion = version;
    const pip = c.properties.publicIPAddress?.id;
    if (pip) {
      const pipVersion = ctx.publicIpVersion(pip);
      if (!pipVersion) throw invalidReference(pip, configId);
      if (pipVersion !== version) throw ipVersionMismatch(pip, pipVersion, configId, version);
      const otherHolder = ctx.publicHolder(pip, current) ?? publicSeen.get(key(pip));
      if (otherHolder) throw publicIpInUse(pip, otherHolder);
      publicSeen.set(key(pip), configId);
    }
    if (asgKey(c) !== asgKey(newPrimary)) throw differentAsgs(current.id);
  }

  const b = body as { tags?: Record<string, string>; properties: Json };
  const next: WireNic = {
    ...clone(current),
    properties: {
      ...clone(b.properties),
      // Server-owned fields survive whatever the client sends.
      virtualMachine: current.properties['virtualMachine'],
      macAddress: current.properties['macAddress'],
      primary: current.properties['primary'],
      provisioningState: current.properties.provisioningState,
      ipConfigurations: configs,
    },
  };
  if (b.tags) next.tags = clone(b.tags);
  else delete next.tags;
  return next;
}
