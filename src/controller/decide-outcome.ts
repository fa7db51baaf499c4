/**
 * @module
 * Pure: what one gateway reconcile reports once the policies' final statuses are decided, for failover
 * tracking, for the other gateways and for the metrics.
 *
 * | reported            | from                                                                              |
 * |---------------------|-----------------------------------------------------------------------------------|
 * | `held`              | where the cloud holds the gateway's IPs after the cloud call                     |
 * | `ready`             | the IPs Ready in the final statuses                                               |
 * | `droppedForeignIPs` | a final status dropped an IP of the previous status that this gateway did not   |
 * |                     | hold before the call (the policy came from another gateway, which may hold it)    |
 * | `freedIPs`          | an IP a policy held is no longer held by it (dropped from its status, or the     |
 * |                     | policy left the gateway): a policy of a gateway whose pool overlaps may take it   |
 * | `states`            | how many of the final statuses' entries are in each state                        |
 */
import {
  type AnyEgressPolicy,
  ASSIGNMENT_STATE,
  type AssignmentState,
  type EgressPolicyStatus,
} from '../api/egress-policy.ts';
import { heldIPs, statusIPs } from './decide-plan.ts';

/** What one reconcile found, for failover tracking and for other gateways. */
export interface GatewayOutcome {
  /** IP -> node where the cloud holds the gateway's IPs after the reconcile. */
  readonly held: ReadonlyMap<string, string>;
  /** IPs Ready in the policies' statuses. */
  readonly ready: ReadonlySet<string>;
  /**
   * A policy's status dropped IPs this gateway does not hold (e.g. the policy came from another gateway):
   * the other gateways should look again, as they may hold them.
   */
  readonly droppedForeignIPs: boolean;
  /** A policy of the gateway let go of an IP it held: gateways whose pools overlap should look again. */
  readonly freedIPs: boolean;
}

/** Inputs of {@link decideOutcome}. */
export interface OutcomeInput {
  /** The gateway's live, admitted policies, with the status they had when the reconcile read them. */
  readonly policies: readonly AnyEgressPolicy[];
  /** Their final statuses, in the same order. */
  readonly statuses: readonly EgressPolicyStatus[];
  /** The cloud's placement of the gateway's IPs before the cloud call, IP -> node. */
  readonly current: ReadonlyMap<string, string>;
  /** The placement after the cloud call, reported as `held`. */
  readonly held: ReadonlyMap<string, string>;
  /** The gateway's policies that leave it (being deleted, or not admitted), as read. */
  readonly leaving: readonly AnyEgressPolicy[];
}

/** The outcome and the count of IPs by state; see the module table. */
export function decideOutcome(input: OutcomeInput): {
  outcome: GatewayOutcome;
  states: Record<AssignmentState, number>;
} {
  const ready = new Set<string>();
  const states: Record<AssignmentState, number> = { Pending: 0, Assigned: 0, Ready: 0, Failed: 0 };
  let droppedForeignIPs = false;
  let freedIPs = input.leaving.some((p) => heldIPs(p).size > 0);
  input.policies.forEach((policy, i) => {
    const status = input.statuses[i] ?? {};
    for (const a of status.assignments ?? []) {
      states[a.state] = (states[a.state] ?? 0) + 1;
      if (a.ip && a.state === ASSIGNMENT_STATE.Ready) ready.add(a.ip);
    }
    if (dropsForeignIPs(policy, status, input.current)) droppedForeignIPs = true;
    const after = heldIPs({ ...policy, status } as AnyEgressPolicy);
    if ([...heldIPs(policy).keys()].some((ip) => !after.has(ip))) freedIPs = true;
  });
  return { outcome: { held: input.held, ready, droppedForeignIPs, freedIPs }, states };
}

/**
 * True when `status` drops an IP of `policy`'s status that is not in `current` (the gateway's placement
 * before the cloud call): another gateway may hold it.
 */
export function dropsForeignIPs(
  policy: AnyEgressPolicy,
  status: EgressPolicyStatus,
  current: ReadonlyMap<string, string>,
): boolean {
  const kept = new Set((status.assignments ?? []).flatMap((a) => (a.ip ? [a.ip] : [])));
  return statusIPs(policy).some((ip) => !kept.has(ip) && !current.has(ip));
}
