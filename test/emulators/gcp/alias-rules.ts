/**
 * @module
 * The rules Compute Engine applies to a new list of alias IP ranges on a network interface
 * (https://cloud.google.com/vpc/docs/alias-ip, https://cloud.google.com/vpc/docs/quota#per_instance):
 *
 * | rule                                                                     | answer                  |
 * |--------------------------------------------------------------------------|-------------------------|
 * | `subnetworkRangeName` names no secondary range of the NIC's subnetwork   | 400 invalid             |
 * | range not inside the named secondary range (or the primary range if none)| 400 invalid             |
 * | more than {@link MAX_ALIAS_RANGES} ranges on the interface               | 400 invalid (limit)     |
 * | range overlaps the NIC's primary IP or another of its own ranges         | 400 invalid (in use)    |
 * | range overlaps any IP (primary or alias, pending included) of another    | accepted; the operation |
 * | NIC in the VPC network                                                   | ends DONE with          |
 * |                                                                          | IP_IN_USE_BY_ANOTHER_…  |
 * | `ipCidrRange` is only a netmask (`/32`)                                  | GCP picks a free block  |
 *
 * Pure: takes the state and returns the ranges to store and the first range another NIC holds, or throws
 * {@link GcpApiError}.
 *
 * An address another resource holds is refused inside the operation, not by the HTTP answer: captured operation
 * errors read `Code: IP_IN_USE_BY_ANOTHER_RESOURCE, Message: IP '10.128.3.140/31' is already being used by
 * another resource.` for alias ranges (GoogleCloudPlatform/compute-image-tools#659, F5Networks/f5-google-gdm-templates#78)
 * and `IP '10.0.0.2' is already being used by another resource.` for a single address
 * (hashicorp/terraform#18998). Which of the two forms GCP writes for a `/32` alias is not documented, so the
 * server offers both ({@link InUseQuote}).
 *
 * Fidelity note: the REST reference documents the rules and the error format, not every message text. The
 * texts here follow GCP's `Invalid value for field '…': '…'. <why>` form; the limit message is the
 * emulator's own wording (the provider counts the limit itself before writing, and classifies a 400 that
 * names the alias limit as `capacity`).
 */
import { addressesIn, cidrRange, type IpRange, isCidr, isIp, rangesOverlap } from '../../../src/net/ip.ts';
import { type GcpApiError, invalidField } from './errors.ts';
import type { AliasIpRange, EmulatedInstance, EmulatedNic, EmulatedSubnetwork, GcpState } from './state.ts';

/** Most alias IP ranges per network interface (https://cloud.google.com/vpc/docs/quota#per_instance). */
export const MAX_ALIAS_RANGES = 100;

/**
 * How an `IP_IN_USE_BY_ANOTHER_RESOURCE` message quotes a single address: `cidr` as `'10.0.0.5/32'`, `address`
 * as `'10.0.0.5'` (both forms are in captured GCP messages; see the module comment). Wider ranges are always
 * quoted as CIDRs.
 */
export type InUseQuote = 'cidr' | 'address';

/** The result of {@link checkAliasRanges}. */
export interface AliasCheck {
  /** The new list, normalised (bare IPs as `/32`, netmask-only entries allocated). */
  readonly ranges: AliasIpRange[];
  /** The first range of the list that another NIC holds, as a CIDR: the operation fails on it. */
  readonly inUse: string | undefined;
}

/** The message of the operation error for a range another resource holds (see the module comment). */
export function inUseMessage(cidr: string, quote: InUseQuote): string {
  const shown = quote === 'address' && cidr.endsWith('/32') ? cidr.slice(0, -3) : cidr;
  return `IP '${shown}' is already being used by another resource.`;
}

/** A range somebody holds in the VPC. */
interface Holding {
  readonly range: IpRange;
  readonly holder: string;
}

const toCidr = (text: string) => (isIp(text) ? `${text}/32` : text);

/** Every address held in the NIC's network by other NICs (primary IPs, aliases, pending aliases). */
function holdings(
  state: GcpState,
  self: EmulatedNic,
  pending: ReadonlyMap<EmulatedNic, AliasIpRange[]>,
): Holding[] {
  const out: Holding[] = [];
  for (const inst of state.instances.values()) {
    for (const nic of inst.networkInterfaces) {
      if (nic === self || nic.network !== self.network) continue;
      const holder = `projects/${inst.project}/zones/${inst.zone}/instances/${inst.name} ${nic.name}`;
      out.push({ range: cidrRange(`${nic.networkIP}/32`), holder });
      for (const alias of [...nic.aliasIpRanges, ...(pending.get(nic) ?? [])]) {
        out.push({ range: cidrRange(toCidr(alias.ipCidrRange)), holder });
      }
    }
  }
  return out;
}

/**
 * Validates `ranges` as the new alias list of `nic` on `instance`: the list normalised (bare IPs as `/32`,
 * netmask-only entries allocated) and the first range another NIC holds.
 * @throws GcpApiError when a rule the HTTP answer enforces is broken.
 */
export function checkAliasRanges(
  state: GcpState,
  instance: EmulatedInstance,
  nic: EmulatedNic,
  subnet: EmulatedSubnetwork,
  ranges: readonly AliasIpRange[],
  pending: ReadonlyMap<EmulatedNic, AliasIpRange[]>,
): AliasCheck {
  if (ranges.length > MAX_ALIAS_RANGES) {
    throw invalidField(
      'resource.aliasIpRanges',
      String(ranges.length),
      `Exceeded the maximum number of alias IP ranges (${MAX_ALIAS_RANGES}) on network interface ${nic.name} of instance ${instance.name}.`,
    ) satisfies GcpApiError;
  }
  const taken = holdings(state, nic, pending);
  const own: Holding[] = [
    { range: cidrRange(`${nic.networkIP}/32`), holder: `${instance.name} ${nic.name} (primary IP)` },
  ];
  const out: AliasIpRange[] = [];
  let inUse: string | undefined;
  ranges.forEach((alias, i) => {
    const field = `resource.aliasIpRanges[${i}].ipCidrRange`;
    const text = alias.ipCidrRange ?? '';
    const name = alias.subnetworkRangeName;
    const parent = name
      ? subnet.secondaryIpRanges.find((r) => r.rangeName === name)?.ipCidrRange
      : subnet.ipCidrRange;
    if (!parent) {
      throw invalidField(
        `resource.aliasIpRanges[${i}].subnetworkRangeName`,
        name ?? '',
        `Subnetwork '${subnet.name}' has no secondary range with that name.`,
      );
    }
    const where = name ? `secondary range '${name}' (${parent})` : `primary range (${parent})`;
    const parentRange = cidrRange(parent);
    let cidr: string;
    if (/^\/\d+$/.test(text)) {
      const prefix = Number(text.slice(1));
      if (prefix !== 32) throw invalidField(field, text, 'Only /32 netmask allocations are supported here.');
      const used = (ip: string) =>
        [...taken, ...own, ...out.map((o) => ({ range: cidrRange(o.ipCidrRange), holder: '' }))].some((h) =>
          rangesOverlap(h.range, cidrRange(`${ip}/32`)),
        );
      const [free] = addressesIn(
        { ...parentRange, start: parentRange.start + 1n, end: parentRange.end - 1n },
        used,
        1,
      );
      if (!free)
        throw invalidField(
          field,
          text,
          `No free address is left in the ${where} of subnetwork '${subnet.name}'.`,
        );
      cidr = `${free}/32`;
    } else {
      if (!isCidr(toCidr(text))) throw invalidField(field, text, 'It is not an IP CIDR range.');
      cidr = toCidr(text);
    }
    const range = cidrRange(cidr);
    if (range.start < parentRange.start || range.end > parentRange.end) {
      throw invalidField(
        field,
        text,
        `The alias IP range must be within the ${where} of subnetwork '${subnet.name}'.`,
      );
    }
    const clash =
      own.find((h) => rangesOverlap(h.range, range)) ??
      out
        .map((o) => ({ range: cidrRange(o.ipCidrRange), holder: `${instance.name} ${nic.name}` }))
        .find((h) => rangesOverlap(h.range, range));
    if (clash) {
      throw invalidField(field, text, `IP address range ${cidr} is already in use by ${clash.holder}.`);
    }
    if (inUse === undefined && taken.some((h) => rangesOverlap(h.range, range))) inUse = cidr;
    out.push(name ? { ipCidrRange: cidr, subnetworkRangeName: name } : { ipCidrRange: cidr });
  });
  return { ranges: out, inUse };
}
