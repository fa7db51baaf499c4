/**
 * @module
 * Pure: the status of policies, from the scheduler's plan, the cloud's answers and the previous status. Two
 * phases per reconcile (CNCC: status before the cloud call):
 *
 * | IP                                  | phase `pending` | phase `final`, cloud ok     | phase `final`, cloud failed |
 * |-------------------------------------|-----------------|-----------------------------|-----------------------------|
 * | placed, already on its node         | Ready           | Ready                       | -                           |
 * | placed, to be assigned or moved     | Pending         | Ready (Assigned if the node | Failed, reason from the     |
 * |                                     |                 | is not healthy)             | error kind, cloud's message |
 * | moved off a leaving node, planned   | as it was, and  | Ready on the new node,      | Failed, as above            |
 * | (make-before-break)                 | handoverTo: new | handoverFrom: old (dropped  |                             |
 * |                                     |                 | `settleMs` after `since`)   |                             |
 * | allocated, not placed (`Unplaced`)  | Failed          | Failed                      | -                           |
 * | placed where the cloud acknowledged | Pending,        | Pending, reason Verifying   | Failed, as above            |
 * | it, but a read showed it missing    | reason Verifying| (verify-writes.ts)          |                             |
 *
 * A planned move keeps its old entry through the cloud call, with `handoverTo`: both gateways hold the IP and
 * the old one copies what it sends from it to the new one, so whichever the cloud delivers to, traffic flows
 * and both have its connections. The final write names the new node, with `handoverFrom` (the old one keeps
 * copying for the agents that switch late); a later pass drops it.
 *
 * `since` moves only when an IP's state or node changes; conditions follow apimachinery's rules. Conflicted is True
 * while an IP it asks for is another policy's (IPInUse, the message names the owner). Destinations the agents do
 * not steer (IPv6): all of them, Ready=False IPv6NotSupported; some, Degraded=True IPv6NotSupported. An IP of a
 * family the gateway does not serve (its provider cannot place it, e.g. IPv6 on GCP: the scheduler's Unplaced
 * IPv6NotSupported) makes Ready=False IPv6NotSupported with the scheduler's message (which family, which
 * provider, why), while the policy's other IPs are served as usual.
 */
import { CONDITION, REASON, type Reason } from '../api/conditions.ts';
import {
  type AnyEgressPolicy,
  ASSIGNMENT_STATE,
  type EgressPolicyStatus,
  type IpAssignmentStatus,
  summarizeAssignments,
} from '../api/egress-policy.ts';
import { validatePolicySpec } from '../api/validate.ts';
import { DATAPLANE_FAMILIES } from '../kube/dataplane-families.ts';
import { policyKey } from '../kube/objects.ts';
import { familyOf } from '../net/ip.ts';
import type { ChangeOutcome, ProviderError } from '../provider/contract.ts';
import type { Placement, Unplaced } from '../scheduler/types.ts';
import { type Rejection, rejectionConditions, setConditions, truncateMessage } from './conditions.ts';
import type { PlanDecision } from './decide-plan.ts';

/**
 * The reason an IP failed in the cloud: IPHeldInCloud when something this installation does not own holds it
 * (`heldBy`), else from the error's kind.
 */
export function reasonOfProviderError(error: ProviderError): Reason {
  if (error.heldBy !== undefined) return REASON.IPHeldInCloud;
  switch (error.kind) {
    case 'throttled':
      return REASON.CloudThrottled;
    case 'capacity':
      return REASON.CapacityExceeded;
    default:
      return REASON.CloudError;
  }
}

/** The policy's `destinationCIDRs` of families the agents do not steer (their traffic keeps the node's address). */
export function unsteeredDestinations(policy: AnyEgressPolicy): string[] {
  return (policy.spec.destinationCIDRs ?? []).filter((c) => !DATAPLANE_FAMILIES.has(familyOf(c)));
}

function destinationsMessage(cidrs: readonly string[], all: boolean): string {
  const list = cidrs.slice(0, 5).join(', ') + (cidrs.length > 5 ? `, and ${cidrs.length - 5} more` : '');
  return `${all ? 'every destinationCIDRs entry is IPv6' : `destinationCIDRs ${list} are IPv6`}${all ? ` (${list})` : ''}: the node agent steers IPv4 traffic only, so traffic to ${all ? 'them' : 'those'} leaves with the node's own address, not an egress IP`;
}

/** The entry of an IP written again after a read showed it missing. */
const verifying = (ip: string, node: string): IpAssignmentStatus => ({
  ip,
  node,
  state: ASSIGNMENT_STATE.Pending,
  reason: REASON.Verifying,
  message: `a read of the cloud did not show it on ${node} after the cloud had acknowledged it; written again, Ready once a read shows it`,
});

/** Planned moves of a pass, for {@link decidePolicyStatus}. */
export interface HandoverInput {
  /** Changing IPs that move off a leaving node make-before-break. */
  readonly planned: ReadonlySet<string>;
  /** How long an entry keeps `handoverFrom` after its `since`. */
  readonly settleMs: number;
}

/** Inputs of {@link decidePolicyStatus}. */
export interface PolicyStatusInput {
  readonly policy: AnyEgressPolicy;
  /** The plan's placements of this policy. */
  readonly placements: readonly Placement[];
  /** The plan's unplaced entries of this policy. */
  readonly unplaced: readonly Unplaced[];
  /** `pending`: before the cloud call; `final`: with the cloud's outcomes. */
  readonly phase: 'pending' | 'final';
  /** The outcome of the assign change of each IP that needed one (final phase). */
  readonly outcomes: ReadonlyMap<string, ChangeOutcome>;
  /** IPs that need an assign change (absent: already on their node). */
  readonly changing: ReadonlySet<string>;
  /** Planned moves (make-before-break) and how long `handoverFrom` stays; absent: none. */
  readonly handover?: HandoverInput;
  /** Whether a node may hold IPs now. */
  readonly healthy: (node: string) => boolean;
  /**
   * IPs a read showed missing where they were acknowledged, IP -> that node (verify-writes.ts): placed there
   * and not failed, they are `Pending`, reason `Verifying`.
   */
  readonly unconfirmed?: ReadonlyMap<string, string>;
  readonly now: Date;
}

const sameEntry = (a: IpAssignmentStatus | undefined, b: IpAssignmentStatus): boolean =>
  a !== undefined && a.state === b.state && a.node === b.node && a.reason === b.reason;

/** The policy's new status; see the module table. */
export function decidePolicyStatus(input: PolicyStatusInput): EgressPolicyStatus {
  const { policy, now } = input;
  const previous = new Map((policy.status?.assignments ?? []).map((a) => [a.ip ?? `-${a.reason}`, a]));
  const entries: IpAssignmentStatus[] = [];
  const withSince = (entry: IpAssignmentStatus): IpAssignmentStatus => {
    const before = previous.get(entry.ip ?? `-${entry.reason}`);
    return { ...entry, since: sameEntry(before, entry) && before?.since ? before.since : now.toISOString() };
  };

  for (const p of input.placements) {
    const settled = input.healthy(p.node) ? ASSIGNMENT_STATE.Ready : ASSIGNMENT_STATE.Assigned;
    const failed = input.phase === 'final' && input.outcomes.get(p.ip)?.ok === false;
    if (input.unconfirmed?.get(p.ip) === p.node && !failed) {
      entries.push(withSince(verifying(p.ip, p.node)));
      continue;
    }
    const kept = previous.get(p.ip);
    if (!input.changing.has(p.ip)) {
      const from =
        kept?.node === p.node && kept.handoverFrom && kept.since && input.handover
          ? now.getTime() - Date.parse(kept.since) < input.handover.settleMs
          : false;
      entries.push(
        withSince({
          ip: p.ip,
          node: p.node,
          state: settled,
          ...(from ? { handoverFrom: kept!.handoverFrom! } : {}),
        }),
      );
      continue;
    }
    const planned = input.handover?.planned.has(p.ip) === true && p.previousNode !== undefined;
    if (input.phase === 'pending' && planned && kept && kept.node === p.previousNode) {
      const { handoverFrom: _earlier, ...entry } = kept;
      entries.push({ ...entry, handoverTo: p.node });
      continue;
    }
    if (input.phase === 'pending') {
      const message = p.previousNode ? `moving from ${p.previousNode}` : 'assigning in the cloud';
      entries.push(
        withSince({
          ip: p.ip,
          node: p.node,
          state: ASSIGNMENT_STATE.Pending,
          reason: REASON.Pending,
          message,
        }),
      );
      continue;
    }
    const outcome = input.outcomes.get(p.ip);
    if (outcome && !outcome.ok) {
      entries.push(
        withSince({
          ip: p.ip,
          node: p.node,
          state: ASSIGNMENT_STATE.Failed,
          reason: reasonOfProviderError(outcome.error),
          message: truncateMessage(
            outcome.error.heldBy !== undefined
              ? `${outcome.error.message}: something outside this installation holds it in the cloud; free it there or pick another IP`
              : outcome.error.message,
          ),
        }),
      );
    } else {
      entries.push(
        withSince({
          ip: p.ip,
          node: p.node,
          state: settled,
          ...(planned ? { handoverFrom: p.previousNode! } : {}),
        }),
      );
    }
  }
  for (const u of input.unplaced) {
    entries.push(
      withSince({
        ...(u.ip ? { ip: u.ip } : {}),
        state: ASSIGNMENT_STATE.Failed,
        reason: u.reason,
        message: truncateMessage(u.message),
      }),
    );
  }

  const generation = policy.metadata.generation;
  const ready = entries.filter((e) => e.state === ASSIGNMENT_STATE.Ready).length;
  const failed = entries.filter((e) => e.state === ASSIGNMENT_STATE.Failed);
  // A count policy asks for `count` IPs of each of its ipFamilies.
  const wanted =
    policy.spec.egressIPs?.length ??
    (policy.spec.count ?? 1) * new Set(policy.spec.ipFamilies ?? ['IPv4']).size;
  const allReady = failed.length === 0 && ready === entries.length && ready >= wanted;
  const firstFailure = failed[0];
  const conflicts = failed.filter((e) => e.reason === REASON.IPInUse || e.reason === REASON.IPHeldInCloud);
  const unsteered = unsteeredDestinations(policy);
  // Problems the CRD refuses today, in a policy stored before: said, while what parses is served.
  const problems = validatePolicySpec(policy.spec);
  // A family the gateway does not serve is the cause to name: no retry or other node will bring it.
  const unserved = failed.find((e) => e.reason === REASON.IPv6NotSupported);
  const ipsReady = allReady
    ? { reason: REASON.AllIPsReady, message: `${ready} of ${wanted} egress IPs are Ready` }
    : unserved
      ? {
          reason: REASON.IPv6NotSupported,
          message: `${ready} of ${wanted} egress IPs are Ready; ${unserved.message}`,
        }
      : {
          reason: REASON.IPsNotReady,
          message: `${ready} of ${wanted} egress IPs are Ready${firstFailure ? `; ${firstFailure.ip ?? 'an IP'}: ${firstFailure.message}` : ''}`,
        };
  const readyCondition =
    unsteered.length > 0 && unsteered.length === policy.spec.destinationCIDRs?.length
      ? {
          status: 'False' as const,
          reason: REASON.IPv6NotSupported,
          message: destinationsMessage(unsteered, true),
        }
      : { status: allReady ? ('True' as const) : ('False' as const), ...ipsReady };
  const degraded = firstFailure
    ? {
        status: 'True' as const,
        reason: firstFailure.reason as Reason,
        message: `${failed.length} egress IP(s) failed: ${firstFailure.message ?? ''}`,
      }
    : unsteered.length > 0
      ? {
          status: 'True' as const,
          reason: REASON.IPv6NotSupported,
          message: destinationsMessage(unsteered, false),
        }
      : { status: 'False' as const, reason: REASON.AllIPsReady, message: 'every egress IP is placed' };
  const conditions = setConditions(
    policy.status?.conditions,
    [
      {
        type: CONDITION.Accepted,
        ...(problems.length > 0
          ? {
              status: 'False' as const,
              reason: REASON.InvalidSpec,
              message: truncateMessage(problems.map((p) => `${p.field}: ${p.message}`).join('; ')),
            }
          : {
              status: 'True' as const,
              reason: REASON.Accepted,
              message: `uses EgressGateway "${policy.spec.gatewayName}"`,
            }),
        ...(generation !== undefined ? { observedGeneration: generation } : {}),
      },
      {
        type: CONDITION.Ready,
        ...readyCondition,
        message: truncateMessage(readyCondition.message),
        ...(generation !== undefined ? { observedGeneration: generation } : {}),
      },
      {
        type: CONDITION.Degraded,
        ...degraded,
        message: truncateMessage(degraded.message),
        ...(generation !== undefined ? { observedGeneration: generation } : {}),
      },
      {
        type: CONDITION.Conflicted,
        status: conflicts.length > 0 ? 'True' : 'False',
        reason:
          conflicts.length === 0
            ? REASON.NoConflict
            : conflicts.some((e) => e.reason === REASON.IPInUse)
              ? REASON.IPInUse
              : REASON.IPHeldInCloud,
        message:
          conflicts.length > 0
            ? truncateMessage(conflicts.map((e) => e.message ?? '').join('; '))
            : 'no other policy owns an IP it asks for',
        ...(generation !== undefined ? { observedGeneration: generation } : {}),
      },
    ],
    now,
  );
  return {
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    assignments: entries,
    // `kubectl get` shows these (printer columns print only the first match of a JSONPath over a list).
    ...summarizeAssignments(entries),
    conditions,
  };
}

/**
 * The new status of each of `policies` (in order) in `phase`, from the plan `decision`: each policy gets its
 * placements and unplaced entries; an IP changes when the plan assigns it; a node is healthy when the plan
 * saw it so.
 */
export function decidePolicyStatuses(
  decision: Pick<PlanDecision, 'plan' | 'changes' | 'nodes'>,
  policies: readonly AnyEgressPolicy[],
  phase: PolicyStatusInput['phase'],
  outcomes: ReadonlyMap<string, ChangeOutcome>,
  now: Date,
  unconfirmed?: ReadonlyMap<string, string>,
  handover?: HandoverInput,
): EgressPolicyStatus[] {
  const healthyNodes = new Set(decision.nodes.filter((n) => n.healthy).map((n) => n.name));
  const changing = new Set(decision.changes.flatMap((c) => (c.kind === 'assign' ? [c.ip] : [])));
  return policies.map((policy) => {
    const key = policyKey(policy);
    return decidePolicyStatus({
      policy,
      placements: decision.plan.placements.filter((p) => p.policy === key),
      unplaced: decision.plan.unplaced.filter((u) => u.policy === key),
      phase,
      outcomes,
      changing,
      healthy: (node) => healthyNodes.has(node),
      ...(unconfirmed ? { unconfirmed } : {}),
      ...(handover ? { handover } : {}),
      now,
    });
  });
}

/**
 * Status of a policy that cannot be served at all (gateway missing, namespace not admitted, provider unknown).
 * With `keep` (the gateway's provider cannot be used, so no cloud call was made), its assignments stay as they
 * are: the cloud still holds them and the agents keep routing by them; the conditions say nothing moves them.
 */
export function rejectedPolicyStatus(
  policy: AnyEgressPolicy,
  rejection: Rejection,
  now: Date,
  keep = false,
): EgressPolicyStatus {
  const generation = policy.metadata.generation;
  const gen = generation !== undefined ? { observedGeneration: generation } : {};
  const entries = keep ? (policy.status?.assignments ?? []) : [];
  const said =
    entries.length > 0
      ? {
          ...rejection,
          message: truncateMessage(
            `${rejection.message}; its ${entries.length} egress IP(s) stay where they are, but nothing moves them (no failover) until then`,
          ),
        }
      : rejection;
  return {
    ...gen,
    assignments: [...entries],
    ...summarizeAssignments(entries),
    conditions: setConditions(
      policy.status?.conditions,
      [
        ...rejectionConditions(said, gen),
        {
          type: CONDITION.Degraded,
          status: 'False',
          reason: rejection.reason,
          message: 'not accepted',
          ...gen,
        },
        {
          type: CONDITION.Conflicted,
          status: 'False',
          reason: REASON.NoConflict,
          message: 'not accepted',
          ...gen,
        },
      ],
      now,
    ),
  };
}
