/**
 * @module
 * Status conditions with apimachinery's semantics (`meta.SetStatusCondition`): `lastTransitionTime` changes
 * only when `status` changes; reason, message and observedGeneration are always copied.
 */
import { CONDITION, type ConditionType, type Reason } from '../api/conditions.ts';
import type { Condition } from '../api/schema-common.ts';

/** A condition to set; `lastTransitionTime` is managed by {@link setCondition}. */
export interface ConditionInput {
  readonly type: ConditionType;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: Reason;
  readonly message: string;
  readonly observedGeneration?: number;
}

/**
 * Returns `conditions` with `next` set. The list is new; the input is not modified. A condition whose
 * status is unchanged keeps its `lastTransitionTime`.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  next: ConditionInput,
  now: Date,
): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === next.type);
  const previous = index >= 0 ? list[index] : undefined;
  const condition: Condition = {
    type: next.type,
    status: next.status,
    reason: next.reason,
    message: next.message,
    lastTransitionTime:
      previous && previous.status === next.status ? previous.lastTransitionTime : now.toISOString(),
    ...(next.observedGeneration !== undefined ? { observedGeneration: next.observedGeneration } : {}),
  };
  if (index >= 0) list[index] = condition;
  else list.push(condition);
  return list;
}

/** Sets several conditions at once (see {@link setCondition}). */
export function setConditions(
  conditions: readonly Condition[] | undefined,
  next: readonly ConditionInput[],
  now: Date,
): Condition[] {
  return next.reduce<Condition[]>((list, c) => setCondition(list, c, now), [...(conditions ?? [])]);
}

/** The condition of `type`, if present. */
export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: ConditionType,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** Why an object cannot be served at all: its conditions' reason and message. */
export interface Rejection {
  readonly reason: Reason;
  readonly message: string;
}

/** Accepted=False and Ready=False, both with the rejection's reason and message. */
export function rejectionConditions(
  rejection: Rejection,
  gen: { observedGeneration?: number },
): ConditionInput[] {
  return [CONDITION.Accepted, CONDITION.Ready].map((type) => ({
    type,
    status: 'False' as const,
    reason: rejection.reason,
    message: rejection.message,
    ...gen,
  }));
}

/** A message cut to `max` characters (an ellipsis marks the cut), so statuses stay small. */
export function truncateMessage(text: string, max = 1000): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
