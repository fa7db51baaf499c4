/**
 * @module
 * The pure half of an Azure NIC update: given the NIC's ipConfigurations as just read, the subnet prefixes
 * and the wanted edits, compute the ipConfigurations to PUT back and a verdict per edit. No I/O.
 *
 * An egress IP is a secondary, static, non-primary ipConfiguration named `cloudegress-<owner>-<ip>` (dots
 * and colons as dashes, the address in canonical text), in the primary's subnet with the primary's application
 * security groups, of version IPv4 or IPv6 as its address is (IPv6 in the subnet's IPv6 prefix). Only
 * ipConfigurations whose name is exactly that for their own address are ours; nothing else is ever changed.
 *
 * | edit   | the IP on this NIC now            | verdict                                           |
 * |--------|-----------------------------------|---------------------------------------------------|
 * | remove | absent                            | ok, nothing to write                              |
 * | remove | ours                              | dropped (its public IP, if any, is reported)      |
 * | remove | primary, or not ours              | terminal: not owned by cloud-egress               |
 * | add    | ours, same public IP              | ok, nothing to write                              |
 * | add    | ours, other public IP             | public IP replaced                                |
 * | add    | primary, or not ours              | terminal: in use and not owned                    |
 * | add    | outside the NIC's subnet          | terminal, naming the IP and the subnet            |
 * | add    | absent, NIC has room              | new static ipConfiguration                        |
 * | add    | absent, batch passes 256 per NIC  | capacity, for every new IP of the batch           |
 * | allocate n | names not yet on the NIC      | n Dynamic ipConfigurations (Azure picks the IPs)  |
 * | allocate n | names already on the NIC      | ok, nothing to write (a retry after a timeout)    |
 * | pin        | allocated, Dynamic            | made Static, keeping the IP Azure picked          |
 *
 * An allocation's ipConfigurations are named `cloudegress-<owner>-a<8 hex>` (the IP is not known when
 * they are made); they are owned as well.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { NetworkInterfaceIPConfiguration } from '@azure/arm-network';
import { canonicalIp, cidrContains, familyOf, isIp } from '../../src/net/ip.ts';
import { ProviderError } from '../../src/provider/contract.ts';
import { sameResource } from './resource-id.ts';

/** Most ipConfigurations (private IPs) an Azure NIC can hold, the primary included. */
export const IP_CONFIGURATIONS_PER_NIC = 256;

/** One wanted edit of a NIC. */
export type NicEdit =
  | { readonly kind: 'remove'; readonly ip: string }
  | { readonly kind: 'add'; readonly ip: string; readonly publicAddress?: string }
  /** Let Azure pick IPs: one Dynamic ipConfiguration per name (see {@link allocationNames}). */
  | { readonly kind: 'allocate'; readonly names: readonly string[] }
  /** Make the named (allocated) ipConfigurations Static. */
  | { readonly kind: 'pin'; readonly names: readonly string[] };

/** What a plan decided. */
export interface NicEditPlan {
  /** The ipConfigurations to PUT. */
  readonly ipConfigurations: NetworkInterfaceIPConfiguration[];
  /** False when the NIC already is as wanted (no PUT needed). */
  readonly changed: boolean;
  /** Edits that cannot be done, with why. The others are carried out by the PUT. */
  readonly failed: ReadonlyMap<NicEdit, ProviderError>;
  /** Public IP resource IDs of removed ipConfigurations, by IP (a move carries them along). */
  readonly removedPublicAddresses: ReadonlyMap<string, string>;
}

/** The owner as it appears in names: lower case, safe characters, at most 24 of them. */
function ownerTag(owner: string): string {
  const tag = owner.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-');
  if (tag.length <= 24) return tag;
  return `${tag.slice(0, 13)}-${createHash('sha256').update(owner).digest('hex').slice(0, 10)}`;
}

/** `ip` in canonical text (IPv6 compressed, lower case), so that every spelling of one address is one address. */
const canonical = (ip: string) => (isIp(ip) ? canonicalIp(ip) : ip.toLowerCase());

/** The ipConfiguration's address in canonical text (none: an empty list, for `flatMap`). */
export const addressOf = (config: NetworkInterfaceIPConfiguration): string[] =>
  config.privateIPAddress === undefined ? [] : [canonical(config.privateIPAddress)];

/** True when the ipConfiguration holds `ip` (in any spelling). */
export const holds = (config: NetworkInterfaceIPConfiguration, ip: string): boolean =>
  config.privateIPAddress !== undefined && canonical(config.privateIPAddress) === canonical(ip);

/** The ipConfiguration name that marks `ip` (in any spelling) as owned by the installation `owner`. */
export function ownedName(owner: string, ip: string): string {
  return `cloudegress-${ownerTag(owner)}-${canonical(ip).replace(/[.:]/g, '-')}`;
}

/** `count` fresh names for ipConfigurations of an allocation by `owner`. */
export function allocationNames(owner: string, count: number): string[] {
  return Array.from(
    { length: count },
    () => `cloudegress-${ownerTag(owner)}-a${randomBytes(4).toString('hex')}`,
  );
}

/** True when `name` is an allocation name of `owner` (`cloudegress-<owner>-a<8 hex>`). */
function isAllocationName(name: string | undefined, owner: string): boolean {
  const prefix = `cloudegress-${ownerTag(owner)}-a`;
  return name?.startsWith(prefix) === true && /^[0-9a-f]{8}$/.test(name.slice(prefix.length));
}

/** True when the ipConfiguration is one this installation made. */
export function isOwned(config: NetworkInterfaceIPConfiguration, owner: string): boolean {
  const ip = config.privateIPAddress;
  if (config.primary || ip === undefined) return false;
  return config.name === ownedName(owner, ip) || isAllocationName(config.name, owner);
}

/** The primary ipConfiguration (or the first, when none says so, as Azure treats it). */
export function primaryOf(
  configs: readonly NetworkInterfaceIPConfiguration[],
): NetworkInterfaceIPConfiguration {
  const primary = configs.find((c) => c.primary) ?? configs[0];
  if (!primary)
    throw new ProviderError('terminal', 'the NIC has no ipConfiguration', { code: 'InvalidIPConfigCount' });
  return primary;
}

/** Inputs of {@link planNicEdits}. */
export interface PlanInput {
  /** Installation owner (ownership names). */
  readonly owner: string;
  /** Words naming the NIC in messages, e.g. "NIC gw-1-nic (node gw-1)". */
  readonly where: string;
  /** The NIC's ipConfigurations, as read. */
  readonly ipConfigurations: readonly NetworkInterfaceIPConfiguration[];
  /** Address prefixes of the primary's subnet (needed when adding). */
  readonly subnetPrefixes: readonly string[];
  readonly edits: readonly NicEdit[];
}

/** Plans one NIC update (see the module table). */
export function planNicEdits(input: PlanInput): NicEditPlan {
  const { owner, where } = input;
  let configs = input.ipConfigurations.map((c) => ({ ...c }));
  const failed = new Map<NicEdit, ProviderError>();
  const removedPublicAddresses = new Map<string, string>();
  let changed = false;
  const primary = primaryOf(configs);
  const subnetId = primary.subnet?.id;
  const findIp = (ip: string) => configs.find((c) => holds(c, ip));
  const notOwned = (ip: string, verb: string) =>
    new ProviderError('terminal', `${ip} on ${where} is not owned by cloud-egress; not ${verb}`, {
      code: 'NotOwned',
    });

  for (const edit of input.edits) {
    if (edit.kind !== 'remove') continue;
    const held = findIp(edit.ip);
    if (!held) continue;
    if (!isOwned(held, owner)) {
      failed.set(edit, notOwned(edit.ip, 'released'));
      continue;
    }
    if (held.publicIPAddress?.id) removedPublicAddresses.set(edit.ip, held.publicIPAddress.id);
    configs = configs.filter((c) => c !== held);
    changed = true;
  }

  const added: { edit: NicEdit; config: NetworkInterfaceIPConfiguration }[] = [];
  for (const edit of input.edits) {
    if (edit.kind !== 'add') continue;
    if (!isIp(edit.ip)) {
      failed.set(
        edit,
        new ProviderError('terminal', `"${edit.ip}" is not an IP address`, { code: 'InvalidIP' }),
      );
      continue;
    }
    const held = findIp(edit.ip);
    if (held && !isOwned(held, owner)) {
      failed.set(
        edit,
        new ProviderError('terminal', `${edit.ip} is in use on ${where} and not owned by cloud-egress`, {
          code: 'NotOwned',
          heldBy: where,
        }),
      );
      continue;
    }
    if (held) {
      const want = edit.kind === 'add' ? edit.publicAddress : undefined;
      if (want && !sameResource(held.publicIPAddress?.id, want)) {
        configs = configs.map((c) => (c === held ? { ...c, publicIPAddress: { id: want } } : c));
        changed = true;
      }
      continue;
    }
    if (!input.subnetPrefixes.some((prefix) => cidrContains(prefix, edit.ip))) {
      failed.set(
        edit,
        new ProviderError(
          'terminal',
          `${edit.ip} is outside subnet ${input.subnetPrefixes.join(', ') || '(no prefix)'} (${subnetId ?? 'unknown subnet'}) of ${where}; an Azure NIC's secondary IPs must come from its primary's subnet`,
          { code: 'PrivateIPAddressNotInSubnet' },
        ),
      );
      continue;
    }
    const config: NetworkInterfaceIPConfiguration = {
      name: ownedName(owner, edit.ip),
      privateIPAddress: edit.ip,
      privateIPAllocationMethod: 'Static',
      privateIPAddressVersion: familyOf(edit.ip) === 4 ? 'IPv4' : 'IPv6',
      primary: false,
      ...(subnetId ? { subnet: { id: subnetId } } : {}),
      ...(primary.applicationSecurityGroups
        ? { applicationSecurityGroups: primary.applicationSecurityGroups.map((a) => ({ id: a.id })) }
        : {}),
      ...(edit.publicAddress ? { publicIPAddress: { id: edit.publicAddress } } : {}),
    };
    added.push({ edit, config });
  }

  for (const edit of input.edits) {
    if (edit.kind === 'pin') {
      configs = configs.map((c) => {
        if (!edit.names.includes(c.name ?? '') || c.privateIPAllocationMethod === 'Static') return c;
        changed = true;
        return { ...c, privateIPAllocationMethod: 'Static' };
      });
      continue;
    }
    if (edit.kind !== 'allocate') continue;
    for (const name of edit.names) {
      if (configs.some((c) => c.name === name)) continue;
      added.push({
        edit,
        config: {
          name,
          privateIPAllocationMethod: 'Dynamic',
          privateIPAddressVersion: primary.privateIPAddressVersion ?? 'IPv4',
          primary: false,
          ...(subnetId ? { subnet: { id: subnetId } } : {}),
          ...(primary.applicationSecurityGroups
            ? { applicationSecurityGroups: primary.applicationSecurityGroups.map((a) => ({ id: a.id })) }
            : {}),
        },
      });
    }
  }

  if (added.length > 0) {
    const total = configs.length + added.length;
    if (total > IP_CONFIGURATIONS_PER_NIC) {
      const error = new ProviderError(
        'capacity',
        `${where} can hold ${IP_CONFIGURATIONS_PER_NIC} IP configurations; it has ${configs.length} and ${added.length} more were asked`,
        { code: 'QuotaExceeded' },
      );
      for (const { edit } of added) failed.set(edit, error);
    } else {
      configs.push(...added.map((a) => a.config));
      changed = true;
    }
  }
  return { ipConfigurations: configs, changed, failed, removedPublicAddresses };
}
