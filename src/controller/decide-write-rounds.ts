/**
 * @module
 * Pure: in which order a pass writes its policies' statuses (the Pending ones before the cloud call, and the
 * final ones after it, or alone when the cloud needs no change), so that no IP is ever usable (Pending,
 * Assigned, Ready) for two policies at once while the pass hands IPs from one policy to another. The writes of
 * one round go side by side; a round starts when the one before it is stored.
 *
 * | the policy's new status, against its stored one   | round 1                               | round 2        |
 * |---------------------------------------------------|---------------------------------------|----------------|
 * | names no IP usable that it did not                | the new status                        | -              |
 * | makes IPs usable, gives up none                   | -                                     | the new status |
 * | makes IPs usable and gives up others              | the new status without the new IPs    | the new status |
 *
 * So every IP given up is given up in round 1, and every IP taken is taken in round 2; an IP moving between
 * two policies of the pass is named by neither in between.
 */
import {
  type AnyEgressPolicy,
  type EgressPolicyStatus,
  summarizeAssignments,
  USABLE_STATES,
} from '../api/index.ts';

/** The IPs a status makes usable. */
function usableIPs(status: EgressPolicyStatus | undefined): Set<string> {
  return new Set(
    (status?.assignments ?? []).flatMap((a) => (a.ip && USABLE_STATES.has(a.state) ? [a.ip] : [])),
  );
}

/**
 * The rounds of status writes (see the module table): for each round, the status to write per policy (in the
 * order of `policies`), or undefined for none. `next[i]` is the new status of `policies[i]`.
 */
export function decideWriteRounds(
  policies: readonly AnyEgressPolicy[],
  next: readonly EgressPolicyStatus[],
): [readonly (EgressPolicyStatus | undefined)[], readonly (EgressPolicyStatus | undefined)[]] {
  const first: (EgressPolicyStatus | undefined)[] = [];
  const second: (EgressPolicyStatus | undefined)[] = [];
  policies.forEach((policy, i) => {
    const status = next[i]!;
    const before = usableIPs(policy.status);
    const after = usableIPs(status);
    const taken = [...after].filter((ip) => !before.has(ip));
    const givesUp = [...before].some((ip) => !after.has(ip));
    if (taken.length === 0) {
      first.push(status);
      second.push(undefined);
      return;
    }
    second.push(status);
    if (!givesUp) {
      first.push(undefined);
      return;
    }
    const newIPs = new Set(taken);
    const assignments = (status.assignments ?? []).filter((a) => !a.ip || !newIPs.has(a.ip));
    first.push({ ...status, assignments, ...summarizeAssignments(assignments) });
  });
  return [first, second];
}
