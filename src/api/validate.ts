/**
 * @module
 * Spec checks the API server's schema cannot make, run by the controller (shown as `Accepted=False,
 * reason InvalidSpec`) and by the schema tests: IPv6 range order (CEL has no IPv6 ordering), overlapping
 * pool entries, and the same checks as the CEL rules as a second line of defence, for objects stored before a
 * rule existed (pool entry sizes, label selectors).
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
import { LABEL_SYNTAX, type LabelSelector, LIMITS } from './schema-common.ts';

/** One problem in a spec: the field path and a message a person understands. */
export interface SpecProblem {
  readonly field: string;
  readonly message: string;
}

const labelKey = (k: string) => new RegExp(LABEL_SYNTAX.key).test(k) && k.indexOf('/') <= 253;
const labelValue = (v: string) => v.length <= 63 && new RegExp(LABEL_SYNTAX.value).test(v);

/** Problems in a label selector at `field`, as Kubernetes (and the CRDs' CEL rules) would refuse it. */
export function selectorProblems(selector: LabelSelector | undefined, field: string): SpecProblem[] {
  const problems: SpecProblem[] = [];
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) {
    if (!labelKey(key))
      problems.push({ field: `${field}.matchLabels`, message: `key "${key}" is not a label key` });
    if (!labelValue(value))
      problems.push({ field: `${field}.matchLabels`, message: `"${value}" is not a label value` });
  }
  (selector?.matchExpressions ?? []).forEach((req, i) => {
    const at = `${field}.matchExpressions[${i}]`;
    const count = req.values?.length ?? 0;
    if (!labelKey(req.key)) problems.push({ field: at, message: `key "${req.key}" is not a label key` });
    if ((req.operator === 'In' || req.operator === 'NotIn') && count === 0)
      problems.push({
        field: at,
        message: `operator ${req.operator} needs at least one value (key "${req.key}"); it selects nothing until it has one`,
      });
    if ((req.operator === 'Exists' || req.operator === 'DoesNotExist') && count > 0)
      problems.push({
        field: at,
        message: `operator ${req.operator} takes no values (key "${req.key}"); it selects nothing until they are removed`,
      });
    for (const v of req.values ?? [])
      if (!labelValue(v)) problems.push({ field: at, message: `"${v}" is not a label value` });
  });
  return problems;
}

/** Problems in an EgressGateway spec; empty when valid. */
export function validateGatewaySpec(spec: EgressGatewaySpec): SpecProblem[] {
  const problems: SpecProblem[] = [
    ...selectorProblems(spec.nodeSelector, 'spec.nodeSelector'),
    ...selectorProblems(spec.namespaceSelector, 'spec.namespaceSelector'),
  ];
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
  (spec.publicAddresses ?? []).forEach((pair, i) => {
    const field = `spec.publicAddresses[${i}].ip`;
    try {
      const own = poolEntryRange(pair.ip);
      if (!ranges.some((r) => rangesOverlap(r.range, own))) {
        problems.push({
          field,
          message: `"${pair.ip}" is not one of spec.ips: pair public addresses with egress IPs of this gateway`,
        });
      }
    } catch (err) {
      if (!(err instanceof InvalidAddressError)) throw err;
      problems.push({ field, message: err.message });
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
  const problems: SpecProblem[] = [
    ...selectorProblems(spec.podSelector, 'spec.podSelector'),
    ...('namespaceSelector' in spec
      ? selectorProblems(spec.namespaceSelector, 'spec.namespaceSelector')
      : []),
  ];
  if (spec.egressIPs && spec.count !== undefined) {
    problems.push({
      field: 'spec',
      message: 'set either spec.egressIPs (explicit IPs) or spec.count, not both',
    });
  }
  if (spec.egressIPs && spec.ipFamilies) {
    problems.push({
      field: 'spec.ipFamilies',
      message: 'spec.ipFamilies goes with spec.count; with spec.egressIPs each IP gives its own family',
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
