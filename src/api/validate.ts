/**
 * @module
 * Spec checks the API server's schema cannot make, run by the controller (shown as `Accepted=False,
 * reason InvalidSpec`) and by the schema tests: IPv6 range order (CEL has no IPv6 ordering), overlapping
 * pool entries, and the same checks as the CEL rules as a second line of defence.
 */
import {
  InvalidAddressError,
  type IpRange,
  isCidr,
  isIp,
  poolEntryRange,
  rangeSize,
  rangesOverlap,
} from '../net/ip.ts';
import type { EgressGatewaySpec } from './egress-gateway.ts';
import type { ClusterEgressPolicySpec, EgressPolicySpec } from './egress-policy.ts';
import { LIMITS } from './schema-common.ts';

/** One problem in a spec: the field path and a message a person understands. */
export interface SpecProblem {
  readonly field: string;
  readonly message: string;
}

/** Problems in an EgressGateway spec; empty when valid. */
export function validateGatewaySpec(spec: EgressGatewaySpec): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const ips = spec.ips ?? [];
  if (ips.length === 0 && !(spec.cloudAllocated && spec.cloudAllocated > 0)) {
    problems.push({
      field: 'spec',
      message: 'set spec.ips (IPs, CIDRs or ranges) or spec.cloudAllocated, or both',
    });
  }
  const ranges: { entry: string; range: IpRange }[] = [];
  ips.forEach((entry, i) => {
    try {
      const range = poolEntryRange(entry);
      const size = rangeSize(range);
      if (size > LIMITS.poolEntryAddresses) {
        problems.push({ field: `spec.ips[${i}]`, message: tooLarge(entry, size) });
        return;
      }
      const clash = ranges.find((r) => rangesOverlap(r.range, range));
      if (clash) problems.push({ field: `spec.ips[${i}]`, message: `"${entry}" overlaps "${clash.entry}"` });
      ranges.push({ entry, range });
    } catch (err) {
      if (!(err instanceof InvalidAddressError)) throw err;
      problems.push({ field: `spec.ips[${i}]`, message: err.message });
    }
  });
  return problems;
}

/** The message for a pool entry of more than {@link LIMITS.poolEntryAddresses} addresses (as the CEL rule says). */
function tooLarge(entry: string, size: bigint): string {
  const bits = size.toString(2).length - 1;
  const count = size === 1n << BigInt(bits) ? `2^${bits}` : size.toString();
  return `"${entry}" has ${count} addresses; one entry may have at most 2^32 (status counts them): use an IPv6 CIDR of /96 or longer, or a range within one /96`;
}

/** Problems in an EgressPolicy or ClusterEgressPolicy spec; empty when valid. */
export function validatePolicySpec(spec: EgressPolicySpec | ClusterEgressPolicySpec): SpecProblem[] {
  const problems: SpecProblem[] = [];
  if (spec.egressIPs && spec.count !== undefined) {
    problems.push({
      field: 'spec',
      message: 'set either spec.egressIPs (explicit IPs) or spec.count, not both',
    });
  }
  spec.egressIPs?.forEach((ip, i) => {
    if (!isIp(ip)) problems.push({ field: `spec.egressIPs[${i}]`, message: `"${ip}" is not an IP address` });
  });
  for (const field of ['destinationCIDRs', 'excludedCIDRs'] as const) {
    spec[field]?.forEach((cidr, i) => {
      if (!isCidr(cidr)) problems.push({ field: `spec.${field}[${i}]`, message: `"${cidr}" is not a CIDR` });
    });
  }
  return problems;
}
