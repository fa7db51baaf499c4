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
 * | every subnet (and public IP) referenced exists                     | 400 InvalidResourceReference           |
 * | a static IP lies in its subnet                                     | 400 PrivateIPAddressNotInSubnet        |
 * | ... and is not one of the subnet's first four or its last address  | 400 PrivateIPAddressInReservedRange    |
 * | ... and no other ipConfiguration holds it                          | 400 PrivateIPAddressIsAllocated        |
 * | a public IP is associated with one ipConfiguration at most         | 400 PublicIPAddressInUse               |
 * | every ipConfiguration has the primary's application security groups| 400 AllIpConfigurations...SameApplicationSecurityGroups |
 *
 * A Dynamic ipConfiguration keeps the IP it had, or gets the subnet's lowest free address.
 */
import { addressesIn, cidrContains, cidrRange, familyOf } from '../../../src/net/ip.ts';
import {
  ArmError,
  badRequest,
  differentAsgs,
  duplicateChildName,
  inReservedRange,
  invalidReference,
  ipAllocated,
  notInSubnet,
  primaryRequired,
  publicIpInUse,
  staticWithoutAddress,
  tooManyIpConfigurations,
} from './arm-errors.ts';
import {
  clone,
  ipVersion,
  type Json,
  key,
  MAX_IP_CONFIGURATIONS_PER_NIC,
  type WireIpConfiguration,
  type WireNic,
} from './wire.ts';

/** A subnet as the rules need it. */
export interface RuleSubnet {
  readonly id: string;
  readonly prefix: string;
}

/** What the rules look up in the rest of the emulated subscription. */
export interface NicRuleContext {
  subnet(id: string): RuleSubnet | undefined;
  /** IP → ipConfiguration ID, over every NIC but `except`. */
  heldIPs(except: WireNic): Map<string, string>;
  publicIpExists(id: string): boolean;
  /** The ipConfiguration (of a NIC other than `except`) a public IP is associated with. */
  publicHolder(id: string, except: WireNic): string | undefined;
}

/** True when `ip` is one of the five addresses Azure keeps in every subnet. */
function reserved(prefix: string, ip: string): boolean {
  const range = cidrRange(prefix);
  const value = cidrRange(`${ip}/${familyOf(ip) === 4 ? 32 : 128}`).start;
  return value < range.start + 4n || value === range.end;
}

function nextFree(subnet: RuleSubnet, taken: (ip: string) => boolean): string {
  const range = cidrRange(subnet.prefix);
  const [ip] = addressesIn({ ...range, start: range.start + 4n, end: range.end - 1n }, taken, 1);
  if (!ip) throw new ArmError(400, 'SubnetIsFull', `Subnet ${subnet.id} has no free address.`);
  return ip;
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
    let ip = c.properties.privateIPAddress;
    if (!ip && c.properties.privateIPAllocationMethod === 'Static') throw staticWithoutAddress(configId);
    if (!ip || (c.properties.privateIPAllocationMethod ?? 'Dynamic') === 'Dynamic') {
      const wasHere = current.properties.ipConfigurations.find((o) => o.name === c.name)?.properties
        .privateIPAddress;
      ip = ip ?? wasHere ?? nextFree(subnet, (candidate) => others.has(candidate) || seen.has(candidate));
      c.properties.privateIPAllocationMethod = c.properties.privateIPAllocationMethod ?? 'Dynamic';
    }
    if (!cidrContains(subnet.prefix, ip)) throw notInSubnet(configId, ip, subnet.id, subnet.prefix);
    if (reserved(subnet.prefix, ip)) throw inReservedRange(configId, ip, subnet.id);
    const holder = others.get(ip) ?? seen.get(ip);
    if (holder) throw ipAllocated(configId, ip, holder);
    seen.set(ip, configId);
    c.properties.privateIPAddress = ip;
    c.properties.privateIPAddressVersion = ipVersion(ip);
    const pip = c.properties.publicIPAddress?.id;
    if (pip) {
      if (!ctx.publicIpExists(pip)) throw invalidReference(pip, configId);
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
