/**
 * @module
 * Pure: the Events that tell a policy's story between two statuses: at most one Event per reason and policy,
 * so that moving 50 IPs, even to 50 different nodes, is one Event, not 50 (each Event is an API call, and they
 * compete with status writes during a failover).
 *
 * | before -> after                          | Event (one per policy; its groups `; `-separated, 5 at most) |
 * |------------------------------------------|--------------------------------------------------------------|
 * | absent / Failed / no node -> Ready(node) | Normal Assigned  "<ips> assigned to <node>; ..."             |
 * | Ready(A) -> Ready(B)                     | Normal Moved     "<ips> moved from <A> to <B>; ..."          |
 * | Ready(A) -> Ready(B), A leaving (planned)| Normal Drained   "<ips> moved from <A> to <B> before <A>     |
 * |                                          | leaves (<signal>); ..."                                      |
 * | present -> absent                        | Normal Released  "<ips> released from <node>; ..."           |
 * | anything -> Failed(reason) (new reason)  | Warning <reason> "<message>" (+ how many more)               |
 */
import { EVENT_TYPE, REASON, type Reason } from '../api/conditions.ts';
import { ASSIGNMENT_STATE, type EgressPolicyStatus, type IpAssignmentStatus } from '../api/egress-policy.ts';

/** One Event to record. */
export interface EventSpec {
  readonly type: (typeof EVENT_TYPE)[keyof typeof EVENT_TYPE];
  readonly reason: Reason;
  readonly message: string;
}

const listIPs = (ips: readonly string[], max = 10): string =>
  ips.length <= max ? ips.join(', ') : `${ips.slice(0, max).join(', ')} and ${ips.length - max} more`;

/** At most `max` phrases, `; `-separated, then how many more. */
const joinPhrases = (phrases: readonly string[], max = 5): string =>
  phrases.length <= max
    ? phrases.join('; ')
    : `${phrases.slice(0, max).join('; ')}; and ${phrases.length - max} more`;

function grouped(map: Map<string, string[]>, key: string, ip: string): void {
  map.set(key, [...(map.get(key) ?? []), ip]);
}

/**
 * The Events between `before` and `after`; see the module table. `leaving` maps each leaving node the moves
 * planned off to the signal that makes it leave.
 */
export function decideAssignmentEvents(
  before: EgressPolicyStatus | undefined,
  after: EgressPolicyStatus,
  leaving: ReadonlyMap<string, string> = new Map(),
): EventSpec[] {
  const previous = new Map<string, IpAssignmentStatus>();
  for (const a of before?.assignments ?? []) if (a.ip) previous.set(a.ip, a);
  const failedBefore = new Set((before?.assignments ?? []).map((a) => `${a.ip}/${a.state}/${a.reason}`));
  const assigned = new Map<string, string[]>();
  const moved = new Map<string, string[]>();
  const failures = new Map<string, IpAssignmentStatus[]>();
  for (const a of after.assignments ?? []) {
    if (a.state === ASSIGNMENT_STATE.Failed) {
      if (!failedBefore.has(`${a.ip}/${a.state}/${a.reason}`)) {
        const reason = a.reason ?? REASON.CloudError;
        failures.set(reason, [...(failures.get(reason) ?? []), a]);
      }
      continue;
    }
    if (!a.ip || !a.node || (a.state !== ASSIGNMENT_STATE.Ready && a.state !== ASSIGNMENT_STATE.Assigned))
      continue;
    const prev = previous.get(a.ip);
    if (prev?.node && prev.node !== a.node) grouped(moved, `${prev.node}\n${a.node}`, a.ip);
    else if (!prev || prev.state === ASSIGNMENT_STATE.Failed || !prev.node) grouped(assigned, a.node, a.ip);
  }
  const now = new Set((after.assignments ?? []).flatMap((a) => (a.ip ? [a.ip] : [])));
  const released = new Map<string, string[]>();
  for (const [ip, a] of previous) if (!now.has(ip)) grouped(released, a.node ?? 'the cloud', ip);

  const events: EventSpec[] = [];
  const once = (reason: Reason, phrases: readonly string[]) => {
    if (phrases.length > 0) events.push({ type: EVENT_TYPE.Normal, reason, message: joinPhrases(phrases) });
  };
  once(
    REASON.Assigned,
    [...assigned].map(([node, ips]) => `${listIPs(ips)} assigned to ${node}`),
  );
  const moves = [...moved].map(([key, ips]) => {
    const [from, to] = key.split('\n') as [string, string];
    return { ips, from, to, signal: leaving.get(from) };
  });
  once(
    REASON.Moved,
    moves
      .filter((m) => m.signal === undefined)
      .map((m) => `${listIPs(m.ips)} moved from ${m.from} to ${m.to}`),
  );
  once(
    REASON.Drained,
    moves
      .filter((m) => m.signal !== undefined)
      .map((m) => `${listIPs(m.ips)} moved from ${m.from} to ${m.to} before ${m.from} leaves (${m.signal})`),
  );
  once(
    REASON.Released,
    [...released].map(([node, ips]) => `${listIPs(ips)} released from ${node}`),
  );
  for (const [reason, list] of failures) {
    const first = list[0]!;
    const more = list.length > 1 ? ` (and ${list.length - 1} more IP(s) for the same reason)` : '';
    events.push({
      type: EVENT_TYPE.Warning,
      reason: reason as Reason,
      message: `${first.message ?? reason}${more}`,
    });
  }
  return events;
}
