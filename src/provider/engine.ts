/**
 * @module
 * The provider engine: the one `apply` loop every cloud provider runs on. A provider supplies an
 * {@link InterfaceDriver} (a few narrow functions about one interface) and its capabilities; the engine keeps
 * the contract's rules (contract.ts) for all of them.
 *
 * ```
 * apply(plan)
 *   resolve every node once (retried) ─► planBatches (pure): edits per interface, per phase; outcomes known now;
 *                                       a move is atomic by the driver's per-move answer, else by the capability
 *   phase 1, interfaces in parallel: releases and the release halves of two-step moves
 *   phase 2, interfaces in parallel: adds and allocations (assignBatches: a move whose half failed is dropped)
 *   changeOutcomes (pure): one outcome per change; a change nothing answered for fails `transient`
 *
 * one interface's batch
 *   lock(interface) ─► attempt = driver.write(...) ─► retried (p-retry, full jitter) while retryable:
 *                      │                               every attempt reads the interface afresh
 *                      ├─ ok ─► per edit: failed as reported, the rest done (with the IPs allocated)
 *                      ├─ terminal/capacity naming one edit (blame) ─► that edit fails, the rest again
 *                      ├─ notFound on a target that may be stale ─► refresh once, the batch again
 *                      ├─ notFound ─► removes done (a gone interface holds nothing), the rest notFound
 *                      └─ otherwise ─► every edit of the batch fails with the error
 *
 * describeNode(node)     resolve ─► driver.describe, retried; notFound on a stale target ─► refresh once
 * listAssignments(nodes) resolve (gone nodes skipped) ─► driver.list per group, retried; an interface missing
 *                        from the answer ─► refresh that node, list it alone; gone ─► nothing
 * preflight(nodes)       (when the driver has it) resolve ─► driver.preflight; a node that cannot be resolved
 *                        ─► a failed `interface found` check
 * ```
 */
import pMap from 'p-map';
import type { Logger } from '../log.ts';
import type { ProviderCapabilities } from './capabilities.ts';
import {
  type ApplyResult,
  type CloudAssignment,
  type CloudProvider,
  isProviderError,
  type NodeRef,
  type Plan,
  type PreflightCheck,
  type PreflightCluster,
  ProviderError,
  type ProviderName,
} from './contract.ts';
import type { Edit, InterfaceDriver, Resolved } from './interface-driver.ts';
import { KeyedLock } from './keyed-lock.ts';
import {
  assignBatches,
  type Batch,
  changeOutcomes,
  type EditOutcome,
  nodeKey,
  nodesToResolve,
  planBatches,
  type Resolution,
} from './plan-batches.ts';
import { type RetryOptions, withRetry } from './retry.ts';

/** How the engine runs a driver. */
export interface EngineOptions {
  /** The provider's registry name. */
  readonly name: ProviderName;
  readonly capabilities: ProviderCapabilities;
  /** Backoff of every read and of each interface's batch. */
  readonly retry: RetryOptions;
  /** Where retries are logged (debug). */
  readonly logger?: Logger;
  /** Groups of interfaces `listAssignments` reads at once; default 8. */
  readonly listConcurrency?: number;
}

/** A batch's result: each edit's outcome, and public addresses carried off the interface. */
interface BatchRun {
  readonly outcomes: Map<Edit, EditOutcome>;
  readonly carried: Map<string, string>;
}

/** The IP an edit is about, for messages. */
const ipOf = (edit: Edit) => (edit.kind === 'allocate' ? undefined : edit.ip);

/**
 * `error` for one edit: its message names the edit's IP. An edit the message did not name gets a copy without
 * `heldBy` (the holder the cloud reported is another IP's).
 */
function forEdit(error: ProviderError, edit: Edit): ProviderError {
  const ip = ipOf(edit);
  if (!ip || error.message.includes(ip)) return error;
  return new ProviderError(error.kind, `${ip}: ${error.message}`, {
    cause: error,
    ...(error.code !== undefined ? { code: error.code } : {}),
    ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
  });
}

/** A provider that runs `driver` on the engine. */
export function createEngineProvider<T>(driver: InterfaceDriver<T>, options: EngineOptions): CloudProvider {
  const locks = new KeyedLock();
  const { capabilities, logger } = options;
  const listConcurrency = options.listConcurrency ?? 8;

  const retrying = <R>(doing: string, step: () => Promise<R>, signal?: AbortSignal): Promise<R> =>
    withRetry(step, options.retry, signal, {
      classify: (err) => driver.classify(err, doing),
      onRetry: (err, attemptNumber, retriesLeft) =>
        logger?.debug({ err, kind: err.kind, attemptNumber, retriesLeft }, `${doing}: attempt failed`),
    });

  const resolve = (node: NodeRef, signal?: AbortSignal) =>
    retrying(`resolving node ${node.name}`, () => driver.resolve(node, signal), signal);

  const refresh = (node: NodeRef, signal?: AbortSignal) =>
    retrying(`resolving node ${node.name} afresh`, () => driver.refresh!(node, signal), signal);

  /** Runs `fn` on the node's interface; after `notFound` on a target that may be stale, once more afresh. */
  async function withFresh<R>(node: NodeRef, target: T, fn: (target: T) => Promise<R>, signal?: AbortSignal) {
    try {
      return await fn(target);
    } catch (err) {
      if (!driver.refresh || !isProviderError(err, 'notFound')) throw err;
      return fn(await refresh(node, signal));
    }
  }

  /** One interface's batch under its lock; see the module diagram. Throws only `notFound` for the caller. */
  function writeBatch(target: T, edits: readonly Edit[], run: BatchRun, signal?: AbortSignal): Promise<void> {
    const key = driver.key(target);
    return locks.run(key, async () => {
      let pending = [...edits];
      while (pending.length > 0) {
        const doing = `writing ${key}`;
        try {
          const result = await retrying(doing, driver.write(target, pending, signal), signal);
          for (const edit of pending) {
            const error = result.failed?.get(edit);
            const allocated = result.allocated?.get(edit);
            run.outcomes.set(
              edit,
              error ? { ok: false, error } : allocated ? { ok: true, allocated } : { ok: true },
            );
          }
          for (const [ip, address] of result.carried ?? []) run.carried.set(ip, address);
          return;
        } catch (err) {
          const error = isProviderError(err) ? err : driver.classify(err, doing);
          if (error.kind === 'notFound') throw error;
          const culprit =
            (error.kind === 'terminal' || error.kind === 'capacity') && pending.length > 1
              ? driver.blame?.(error, pending)
              : undefined;
          if (culprit) {
            run.outcomes.set(culprit, { ok: false, error: forEdit(error, culprit) });
            pending = pending.filter((e) => e !== culprit);
            continue;
          }
          for (const edit of pending) run.outcomes.set(edit, { ok: false, error: forEdit(error, edit) });
          return;
        }
      }
    });
  }

  async function runBatch(batch: Batch<T>, signal?: AbortSignal): Promise<BatchRun> {
    const run: BatchRun = { outcomes: new Map(), carried: new Map() };
    const edits = batch.items.map((i) => i.edit);
    try {
      await withFresh(batch.node, batch.target, (target) => writeBatch(target, edits, run, signal), signal);
    } catch (err) {
      const error = isProviderError(err) ? err : driver.classify(err, `writing ${batch.key}`);
      // A gone interface holds nothing: its removes are done; nothing can be added to it.
      for (const edit of edits) {
        if (run.outcomes.has(edit)) continue;
        run.outcomes.set(
          edit,
          edit.kind === 'remove' && error.kind === 'notFound'
            ? { ok: true }
            : { ok: false, error: forEdit(error, edit) },
        );
      }
    }
    return run;
  }

  async function runPhase(batches: readonly Batch<T>[], into: BatchRun, signal?: AbortSignal) {
    const runs = await Promise.all(batches.map((b) => runBatch(b, signal)));
    for (const run of runs) {
      for (const [edit, outcome] of run.outcomes) into.outcomes.set(edit, outcome);
      for (const [ip, address] of run.carried) into.carried.set(ip, address);
    }
  }

  return {
    name: options.name,
    capabilities,

    async describeNode(node, signal) {
      const target = await resolve(node, signal);
      return withFresh(
        node,
        target,
        (t) =>
          retrying(`reading node ${node.name}`, () => driver.describe({ node, target: t }, signal), signal),
        signal,
      );
    },

    async listAssignments(nodes, signal) {
      const resolved = await Promise.all(
        nodes.map(async (node): Promise<Resolved<T> | undefined> => {
          try {
            return { node, target: await resolve(node, signal) };
          } catch (err) {
            if (isProviderError(err, 'notFound')) return undefined;
            throw err;
          }
        }),
      );
      const present = resolved.filter((r): r is Resolved<T> => r !== undefined);
      const groups = Map.groupBy(present, (r) => driver.listGroup?.(r.target) ?? driver.key(r.target));
      const found = new Map<Resolved<T>, CloudAssignment[] | undefined>();
      await pMap(
        [...groups.values()],
        async (group) => {
          const lists = await retrying('listing assignments', () => driver.list(group, signal), signal);
          group.forEach((r, i) => {
            found.set(r, lists[i]);
          });
        },
        { concurrency: listConcurrency },
      );
      const afresh = async (node: NodeRef): Promise<CloudAssignment[]> => {
        if (!driver.refresh) return [];
        try {
          const target = await refresh(node, signal);
          const [list] = await retrying(
            `listing node ${node.name}`,
            () => driver.list([{ node, target }], signal),
            signal,
          );
          return list ?? [];
        } catch (err) {
          if (isProviderError(err, 'notFound')) return [];
          throw err;
        }
      };
      const lists = await Promise.all(present.map(async (r) => found.get(r) ?? (await afresh(r.node))));
      return lists.flat();
    },

    async apply(plan: Plan, signal?: AbortSignal): Promise<ApplyResult> {
      const resolutions = new Map<string, Resolution<T>>();
      await Promise.all(
        nodesToResolve(plan.changes, capabilities, driver.atomicMove !== undefined).map(async (node) => {
          try {
            const target = await resolve(node, signal);
            resolutions.set(nodeKey(node), { ok: true, target, key: driver.key(target) });
          } catch (err) {
            const error = isProviderError(err) ? err : driver.classify(err, `resolving node ${node.name}`);
            resolutions.set(nodeKey(node), { ok: false, error });
          }
        }),
      );
      const batches = planBatches(
        plan.changes,
        (node) => resolutions.get(nodeKey(node))!,
        capabilities,
        driver.atomicMove ? (from, to) => driver.atomicMove!(from, to) : undefined,
      );
      const done: BatchRun = { outcomes: new Map(), carried: new Map() };
      await runPhase(batches.releases, done, signal);
      const assigns = assignBatches(batches, done.outcomes, done.carried);
      await runPhase(assigns, done, signal);
      const edits = new Map<number, Edit>();
      for (const batch of [...batches.releases, ...assigns]) {
        for (const { index, edit } of batch.items)
          if (edit !== batches.halves.get(index)) edits.set(index, edit);
      }
      return { outcomes: changeOutcomes(plan.changes, batches, edits, done.outcomes) };
    },

    ...(driver.preflight ? { preflight } : {}),
  };

  /** The driver's checks of the nodes it can resolve, and a failed check for each node it cannot. */
  async function preflight(
    nodes: readonly NodeRef[],
    signal?: AbortSignal,
    cluster?: PreflightCluster,
  ): Promise<PreflightCheck[]> {
    const unresolved: PreflightCheck[] = [];
    const resolved: Resolved<T>[] = [];
    await Promise.all(
      nodes.map(async (node) => {
        try {
          resolved.push({ node, target: await resolve(node, signal) });
        } catch (err) {
          const error = isProviderError(err) ? err : driver.classify(err, `resolving node ${node.name}`);
          unresolved.push({
            check: 'interface found',
            node: node.name,
            ok: false,
            message: error.message,
            fix: error.fix ?? 'check the Node spec.providerID and that the instance exists',
          });
        }
      }),
    );
    const checks = resolved.length > 0 ? await driver.preflight!(resolved, signal, cluster) : [];
    return [...unresolved, ...checks];
  }
}
