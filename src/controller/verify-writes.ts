/**
 * @module
 * Pure: trust, then verify. Each gateway pass compares the cloud's read with what the controller wrote and the
 * cloud acknowledged, as the statuses record it, and repairs where they part (clouds lose writes, apply them
 * late and answer reads stale). The status is the record of acknowledged writes: an IP `Ready` or `Assigned`
 * on a node was written there and the cloud said yes; `Pending` with reason `Verifying` was written there again
 * after a read showed it missing.
 *
 * | recorded (the gateway's policies, its status) | the read, on nodes that may hold IPs   | verdict                     |
 * |-----------------------------------------------|----------------------------------------|-----------------------------|
 * | ip Ready / Assigned / Verifying on node N     | ip on N                                | agrees                      |
 * | ip Ready / Assigned / Verifying on node N     | ip elsewhere (R) or nowhere            | `missing`: see below        |
 * | ip Pending (not Verifying) or Failed          | anything                               | not checked (no answer seen)|
 * | ip on a node that may not hold IPs            | anything                               | not checked (it moves)      |
 * | a policy not placed (deleted, not admitted, its gateway deleted) | anything            | not checked (released)      |
 * | nowhere                                       | ip on a node of the gateway            | `unexpected` (a lost release|
 * |                                               |                                        | or a late write): the plan  |
 * |                                               |                                        | releases it                 |
 *
 * A `missing` IP is planned as if it were where it was written (so a stale read does not move it), and written
 * there again ({@link reassert}: an assign to N, taken from R when R holds it); its status stays `Pending`,
 * reason `Verifying`, until a read shows it on N.
 */

import { REASON } from '../api/conditions.ts';
import type { EgressGateway } from '../api/egress-gateway.ts';
import type { AnyEgressPolicy } from '../api/egress-policy.ts';
import { ASSIGNMENT_STATE } from '../api/egress-policy.ts';
import type { Change, CloudAssignment, NodeRef } from '../provider/contract.ts';
import type { SchedulePlan } from '../scheduler/types.ts';

/** An IP the read does not show where it was written. */
export interface MissingIP {
  readonly ip: string;
  /** Where the status says it was written. */
  readonly written: string;
  /** Where the read shows it, if anywhere. */
  readonly read: string | undefined;
}

/** What a pass found when it compared the read with the record. */
export interface Verdict {
  /** IP -> where it is missing from. */
  readonly missing: ReadonlyMap<string, MissingIP>;
  /** IPs the read shows on the gateway's nodes that nothing records, IP -> node. */
  readonly unexpected: ReadonlyMap<string, string>;
}

/** Inputs of {@link verifyWrites}. */
export interface VerifyInput {
  readonly gateway: EgressGateway;
  /** The policies this pass places (admitted, live), with their status as read: their IPs are checked. */
  readonly live: readonly AnyEgressPolicy[];
  /** Every policy of the gateway (live or being deleted): what their statuses name is not unexpected. */
  readonly policies: readonly AnyEgressPolicy[];
  /** The cloud's read of the gateway's IPs, IP -> node. */
  readonly read: ReadonlyMap<string, string>;
  /** Nodes that may hold IPs now (healthy members of the gateway). */
  readonly mayHold: ReadonlySet<string>;
}

/** Whether an entry records a write the cloud acknowledged. */
const acknowledged = (state: string, reason: string | undefined) =>
  state === ASSIGNMENT_STATE.Ready ||
  state === ASSIGNMENT_STATE.Assigned ||
  (state === ASSIGNMENT_STATE.Pending && reason === REASON.Verifying);

/** Compares the read with the record; see the module table. */
export function verifyWrites(input: VerifyInput): Verdict {
  const missing = new Map<string, MissingIP>();
  for (const policy of input.live) {
    for (const a of policy.status?.assignments ?? []) {
      if (!a.ip || !a.node || !acknowledged(a.state, a.reason) || !input.mayHold.has(a.node)) continue;
      const read = input.read.get(a.ip);
      if (read !== a.node) missing.set(a.ip, { ip: a.ip, written: a.node, read });
    }
  }
  const recorded = new Set(input.policies.flatMap((p) => (p.status?.assignments ?? []).map((a) => a.ip)));
  for (const node of input.gateway.status?.nodes ?? []) for (const ip of node.ips ?? []) recorded.add(ip);
  const unexpected = new Map<string, string>();
  for (const [ip, node] of input.read) {
    if (!recorded.has(ip) && input.mayHold.has(node)) unexpected.set(ip, node);
  }
  return { missing, unexpected };
}

/**
 * The cloud's read as the plan is to see it: each missing IP where it was written (a read that disagrees with
 * an acknowledged write is not trusted to move it).
 */
export function asWritten(read: readonly CloudAssignment[], verdict: Verdict): CloudAssignment[] {
  const out = read.filter((a) => !verdict.missing.has(a.ip));
  for (const m of verdict.missing.values()) out.push({ ip: m.ip, node: m.written, interfaceId: '' });
  return out;
}

/**
 * The plan's changes with the repairs of the missing IPs (the plan saw them where they were written, so its
 * changes name that node): kept where written ─► assign there again, from where the read shows it; moved
 * elsewhere ─► the move's `from` is where the read shows it; released ─► released where the read shows it (or
 * nothing to release).
 */
export function reassert(
  changes: readonly Change[],
  plan: SchedulePlan,
  verdict: Verdict,
  refs: ReadonlyMap<string, NodeRef>,
): Change[] {
  if (verdict.missing.size === 0) return [...changes];
  const fromRead = (m: MissingIP) => (m.read === undefined ? undefined : refs.get(m.read));
  const out: Change[] = [];
  for (const change of changes) {
    const m = change.kind === 'allocate' ? undefined : verdict.missing.get(change.ip);
    if (!m || change.kind === 'allocate') {
      out.push(change);
    } else if (change.kind === 'assign') {
      const { from: _, ...rest } = change;
      const from = fromRead(m);
      out.push(from ? { ...rest, from } : rest);
    } else {
      const holder = fromRead(m);
      if (holder) out.push({ ...change, node: holder });
    }
  }
  for (const p of plan.placements) {
    const m = verdict.missing.get(p.ip);
    const node = refs.get(p.node);
    if (!m || p.node !== m.written || !node) continue;
    const from = fromRead(m);
    out.push(from ? { kind: 'assign', ip: p.ip, node, from } : { kind: 'assign', ip: p.ip, node });
  }
  return out;
}

/** The IPs whose status is `Pending`, reason `Verifying`, this pass: each missing IP, IP -> the node written. */
export function unconfirmed(verdict: Verdict): ReadonlyMap<string, string> {
  return new Map([...verdict.missing.values()].map((m) => [m.ip, m.written]));
}
