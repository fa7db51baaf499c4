/**
 * @module
 * Pure: which finalizers can go after a reconcile. An object being deleted keeps the finalizer until none of
 * its IPs is left in the cloud, so deleting it never leaks an IP.
 *
 * | being deleted | after the reconcile, in the cloud                               | finalizer                     |
 * |---------------|-----------------------------------------------------------------|-------------------------------|
 * | policy        | none of its status's IPs held (or held but placed for another,  | removed                       |
 * |               | or kept as the gateway's spare cloud-picked IP)                 |                               |
 * | policy        | some held                                                       | kept until a later pass       |
 * | gateway       | none of its IPs held                                            | removed, Normal Released      |
 * | gateway       | some held                                                       | kept; the reconcile retries   |
 */
import type { AnyEgressPolicy } from '../api/egress-policy.ts';
import { deleting } from '../kube/objects.ts';
import type { Placement } from '../scheduler/types.ts';
import { statusIPs } from './decide-plan.ts';

/** Inputs of {@link decideRelease}. */
export interface ReleaseInput {
  /** The gateway's policies (those being deleted are looked at). */
  readonly policies: readonly AnyEgressPolicy[];
  /** Whether the gateway is being deleted. */
  readonly gatewayDeleting: boolean;
  /** Where the cloud holds the gateway's IPs after the cloud call, IP -> node. */
  readonly held: ReadonlyMap<string, string>;
  /** The plan's placements (an IP placed for a live policy is no longer the deleted one's). */
  readonly placements: readonly Placement[];
  /** Cloud-picked IPs kept for the gateway (no longer the deleted policy's either). */
  readonly spare?: ReadonlySet<string>;
}

/** A policy being deleted, and its IPs still held in the cloud (none: its finalizer can go). */
export interface PolicyRelease {
  readonly policy: AnyEgressPolicy;
  readonly left: readonly string[];
}

/** What {@link decideRelease} found. */
export interface ReleaseDecision {
  /** Every policy being deleted, in order. */
  readonly policies: readonly PolicyRelease[];
  /** `live`: not being deleted; `released`: its finalizer can go; `waiting`: IPs are still held. */
  readonly gateway: 'live' | 'released' | 'waiting';
}

/** See the module table. */
export function decideRelease(input: ReleaseInput): ReleaseDecision {
  const placed = new Set([...input.placements.map((p) => p.ip), ...(input.spare ?? [])]);
  const policies = input.policies.filter(deleting).map((policy) => ({
    policy,
    left: statusIPs(policy).filter((ip) => input.held.has(ip) && !placed.has(ip)),
  }));
  const gateway = !input.gatewayDeleting ? 'live' : input.held.size === 0 ? 'released' : 'waiting';
  return { policies, gateway };
}
