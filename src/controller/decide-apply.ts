/**
 * @module
 * Pure: what the provider's answer to `apply` means for the rest of the reconcile.
 *
 * | answer                                  | outcomes (by IP)  | held (IP -> node)          | other                                |
 * |-----------------------------------------|-------------------|----------------------------|--------------------------------------|
 * | assign ok                               | the outcome       | IP on the change's node    |                                      |
 * | release ok                              | the outcome       | IP gone                    |                                      |
 * | allocate ok                             | -                 | each new IP on the node    | new IPs join `cloudAllocatedIPs`     |
 * | a change failed                         | the outcome (not  | unchanged                  | logged; `capacity` / `notFound`:     |
 * |                                         | for allocate)     |                            | the node's description is dropped;   |
 * |                                         |                   |                            | the first retryable error is kept    |
 * | `apply` threw a terminal ProviderError  | every assign and  | unchanged                  | (a retryable throw is not folded:    |
 * |                                         | release failed    |                            | the reconcile rethrows it)           |
 */
import type { ApplyResult, Change, ChangeOutcome, ProviderError } from '../provider/contract.ts';

/** The state before the cloud call that an answer updates. */
export interface BeforeApply {
  /** The cloud's placement of the gateway's IPs, IP -> node. */
  readonly held: ReadonlyMap<string, string>;
  /** IPs the cloud picked for `spec.cloudAllocated` so far. */
  readonly cloudAllocatedIPs: readonly string[];
}

/** The state after the cloud call; see the module table. */
export interface Applied {
  /** The outcome of each assign or release, by IP (the final statuses read it). */
  readonly outcomes: ReadonlyMap<string, ChangeOutcome>;
  /** Where the cloud holds the gateway's IPs now, IP -> node. */
  readonly held: ReadonlyMap<string, string>;
  readonly cloudAllocatedIPs: readonly string[];
  /** The outcomes that failed, in order (to log). */
  readonly failed: readonly (ChangeOutcome & { readonly ok: false })[];
  /** Nodes whose cached description is stale (a capacity or not-found error about them). */
  readonly invalidate: readonly string[];
  /** The first retryable error: the work queue retries the gateway with backoff. */
  readonly retryable: ProviderError | undefined;
}

/** Nothing was applied (no change): the state as it was. */
export function nothingApplied(before: BeforeApply): Applied {
  return {
    outcomes: new Map(),
    held: new Map(before.held),
    cloudAllocatedIPs: [...before.cloudAllocatedIPs],
    failed: [],
    invalidate: [],
    retryable: undefined,
  };
}

/** Folds the provider's per-change outcomes into the state after the call; see the module table. */
export function foldApplyResult(result: ApplyResult, before: BeforeApply): Applied {
  const outcomes = new Map<string, ChangeOutcome>();
  const held = new Map(before.held);
  let cloudAllocatedIPs = [...before.cloudAllocatedIPs];
  const failed: (ChangeOutcome & { ok: false })[] = [];
  const invalidate = new Set<string>();
  let retryable: ProviderError | undefined;
  for (const outcome of result.outcomes) {
    const change = outcome.change;
    if (change.kind === 'allocate') {
      if (outcome.ok && outcome.allocated) {
        cloudAllocatedIPs = [...new Set([...cloudAllocatedIPs, ...outcome.allocated])];
        for (const ip of outcome.allocated) held.set(ip, change.node.name);
      }
    } else {
      outcomes.set(change.ip, outcome);
      if (outcome.ok) {
        if (change.kind === 'assign') held.set(change.ip, change.node.name);
        else held.delete(change.ip);
      }
    }
    if (!outcome.ok) {
      failed.push(outcome);
      if (outcome.error.kind === 'capacity' || outcome.error.kind === 'notFound')
        invalidate.add(change.node.name);
      if (outcome.error.retryable) retryable ??= outcome.error;
    }
  }
  return { outcomes, held, cloudAllocatedIPs, failed, invalidate: [...invalidate], retryable };
}

/**
 * `apply` threw a terminal error before carrying out anything: every assign and release failed with it (the
 * statuses say so), nothing moved in the cloud, and there is nothing to retry.
 */
export function applyRefused(changes: readonly Change[], error: ProviderError, before: BeforeApply): Applied {
  const outcomes = new Map<string, ChangeOutcome>();
  for (const change of changes) {
    if (change.kind !== 'allocate') outcomes.set(change.ip, { change, ok: false, error });
  }
  return { ...nothingApplied(before), outcomes };
}

/** How many changes of each kind a plan has (for the log). */
export function countChanges(changes: readonly Change[]): Record<Change['kind'], number> {
  const counts = { assign: 0, release: 0, allocate: 0 };
  for (const change of changes) counts[change.kind]++;
  return counts;
}

/**
 * The cloud-picked IPs the gateway still has after the pass (its `status.cloudAllocatedIPs`): those the cloud
 * holds or a policy is placed on. The others (released, or gone from the cloud) are forgotten, so the gateway
 * asks the cloud for new ones instead of handing out a number the subnet may have given to something else.
 */
export function cloudAllocatedAfter(applied: Applied, placed: ReadonlySet<string>): string[] {
  return applied.cloudAllocatedIPs.filter((ip) => applied.held.has(ip) || placed.has(ip));
}
