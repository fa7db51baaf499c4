/**
 * @module
 * Who owns an egress IP: the holder keeps it (docs/adr/0006-the-holder-keeps-its-ip.md). Pure, and the same
 * answer for every gateway that reads the same policies, so two gateways whose pools overlap never both place
 * one IP.
 *
 * A policy claims an IP when it holds it (its status lists the IP, not as a refused request, and its spec
 * still asks for it: the IP is in `spec.egressIPs`, or it is one of the first `count` IPs it holds) or when
 * it asks for it in `spec.egressIPs`. Of the claims on one IP, the first in this order owns it:
 *
 * | rank | claim                        | among equals                                                    |
 * |------|------------------------------|-----------------------------------------------------------------|
 * | 1    | holds it                     | held longest (the status entry's `since`), then older, then key |
 * | 2    | asks for it, holds it not    | older policy (`creationTimestamp`), then key                    |
 *
 * Neither the policy's kind (EgressPolicy or ClusterEgressPolicy) nor its gateway gives precedence.
 */
import { REASON, type Reason } from '../api/conditions.ts';
import { familyOfValidIp } from '../net/ip.ts';
import { compare } from './schedule-state.ts';
import type { PolicyInput } from './types.ts';

/**
 * Reasons of a Failed status entry that refused a request: the IP was never the policy's, so listing it in
 * status is no hold. Every other entry with an IP (Pending, Assigned, Ready, or Failed because it could not
 * be placed or the cloud call failed) is an IP the policy holds.
 */
export const REFUSALS: ReadonlySet<Reason> = new Set<Reason>([
  REASON.IPInUse,
  REASON.IPHeldInCloud,
  REASON.IPOutsideGatewayPool,
  REASON.IPReserved,
  REASON.IPv6NotSupported,
]);

/** A policy's claim on one IP. */
export interface Claim {
  readonly ip: string;
  readonly policy: PolicyInput;
  /** It holds the IP (rank 1), or only asks for it (rank 2). */
  readonly held: boolean;
  /** Since when it holds it, for a held claim (may be empty when the status had none). */
  readonly since: string;
}

/** The IPs `policy` claims, in its own order: what it holds and still asks for, then what it asks for. */
export function claimsOf(policy: PolicyInput): Claim[] {
  const since = (ip: string) => policy.heldSince?.get(ip) ?? '';
  const claims: Claim[] = [];
  const seen = new Set<string>();
  const add = (ip: string, held: boolean) => {
    if (seen.has(ip)) return;
    seen.add(ip);
    claims.push({ ip, policy, held, since: held ? since(ip) : '' });
  };
  if (policy.egressIPs) {
    const asked = new Set(policy.egressIPs);
    for (const ip of policy.allocated) if (asked.has(ip)) add(ip, true);
    for (const ip of policy.egressIPs) add(ip, false);
  } else {
    // The first `count` held IPs of each family the policy asks for.
    const families = new Set(policy.families ?? [4]);
    const perFamily = new Map<number, number>();
    for (const ip of policy.allocated) {
      const family = familyOfValidIp(ip);
      const n = perFamily.get(family) ?? 0;
      if (!families.has(family) || n >= (policy.count ?? 1)) continue;
      perFamily.set(family, n + 1);
      add(ip, true);
    }
  }
  return claims;
}

/** Orders two claims on one IP; the smaller owns it (see the module table). */
export function compareClaims(a: Claim, b: Claim): number {
  if (a.held !== b.held) return a.held ? -1 : 1;
  // An empty `since` (a status written without one) counts as the latest.
  const since = a.held ? compare(a.since || '~', b.since || '~') : 0;
  return since || compare(a.policy.createdAt, b.policy.createdAt) || compare(a.policy.key, b.policy.key);
}

/** The owner of every IP some policy of `policies` claims. */
export function owners(policies: readonly PolicyInput[]): Map<string, Claim> {
  const owner = new Map<string, Claim>();
  for (const policy of policies) {
    for (const claim of claimsOf(policy)) {
      const now = owner.get(claim.ip);
      if (!now || compareClaims(claim, now) < 0) owner.set(claim.ip, claim);
    }
  }
  return owner;
}

/** A policy key as a user writes it: `EgressPolicy ns/name`, `ClusterEgressPolicy name`. */
export function displayKey(key: string): string {
  const slash = key.indexOf('/');
  return slash < 0 ? key : `${key.slice(0, slash)} ${key.slice(slash + 1)}`;
}

/** Why `ip` is not the asking policy's: its owner, in words (IPInUse's message). */
export function inUseMessage(ip: string, owner: Claim): string {
  const who = `${displayKey(owner.policy.key)} of EgressGateway "${owner.policy.gateway}"`;
  return owner.held
    ? `${ip} is held by ${who}${owner.since ? ` (since ${owner.since})` : ''}; the holder keeps its IP: choose another IP, or remove it from that policy first`
    : `${ip} is also asked for by ${who}, which is older and gets it; choose another IP`;
}
