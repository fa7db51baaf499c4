/**
 * @module
 * The engine's decisions, pure: which edits each interface gets in each phase of `apply`, and which outcome
 * each change ends with. engine.ts does the I/O around them.
 *
 * ```
 * change                       resolved?                    phase 1 (releases)        phase 2 (assignments)
 * ---------------------------  ---------------------------  ------------------------  ------------------------
 * not an IP address            -                            -                         -   terminal at once
 * assign + publicAddress,      -                            -                         -   terminal at once
 *   provider without them
 * release ip from N            N gone (notFound)            -                         -   ok: nothing is held there
 *                              N failed otherwise           -                         -   that error
 *                              N                            remove ip on N            -
 * assign ip to N               N failed (gone or otherwise) -                         -   that error
 *   (from F)                   atomic move                  -                         add ip on N (from F's key,
 *                                                                                     when F is resolved)
 *                              F gone                       -                         add ip on N
 *                              F failed otherwise           -                         -   that error
 *                              F's interface is N's         -                         add ip on N
 *                              otherwise                    remove ip on F (the half) add ip on N once the half
 *                                                                                     is done (a public address
 *                                                                                     it carried comes along)
 * allocate count on N          N failed                     -                         -   that error
 *                              N                            -                         allocate count on N
 * ```
 *
 * A move is atomic when the driver's per-move answer (`moveInOne`, for a resolved F) says so, else when the
 * provider's `atomicMove` capability does.
 *
 * Outcome of a change: decided at once, else its half's error, else its edit's outcome; a change with none
 * (the apply was cut short) fails `transient`, since its effect is unknown.
 */
import { canonicalIp, isIp } from '../net/ip.ts';
import type { ProviderCapabilities } from './capabilities.ts';
import { type Change, type ChangeOutcome, type NodeRef, ProviderError } from './contract.ts';
import type { Edit } from './interface-driver.ts';

/** A node's resolution: its interface and that interface's key, or why there is none. */
export type Resolution<T> =
  | { readonly ok: true; readonly target: T; readonly key: string }
  | { readonly ok: false; readonly error: ProviderError };

/** One interface's edits in one phase. */
export interface Batch<T> {
  readonly key: string;
  readonly node: NodeRef;
  readonly target: T;
  /** The edits, each with the index of the change it serves. */
  readonly items: readonly { readonly index: number; readonly edit: Edit }[];
}

/** How one edit ended. */
export type EditOutcome =
  | { readonly ok: true; readonly allocated?: readonly string[] }
  | { readonly ok: false; readonly error: ProviderError };

/** The two phases' inputs, decided before any write. */
export interface BatchPlan<T> {
  /** Outcomes known without the cloud, by change index. */
  readonly decided: ReadonlyMap<number, ChangeOutcome>;
  /** Phase 1: releases and the release halves of moves, per interface. */
  readonly releases: readonly Batch<T>[];
  /** For a move done in two steps: change index -> its release half (an edit of `releases`). */
  readonly halves: ReadonlyMap<number, Edit>;
  /** Phase 2 before the halves are known: change index -> its add or allocate edit and interface. */
  readonly assigns: ReadonlyMap<
    number,
    { readonly resolution: Resolution<T> & { ok: true }; readonly node: NodeRef; readonly edit: Edit }
  >;
}

/** The key a node is resolved under (a node's name and providerID). */
export const nodeKey = (node: NodeRef): string => `${node.name}\n${node.providerID}`;

/**
 * Every node the plan needs resolved: targets, and move sources where the move takes two steps, or every move
 * source when the driver answers per move (`perMove`).
 */
export function nodesToResolve(
  changes: readonly Change[],
  capabilities: ProviderCapabilities,
  perMove = false,
): NodeRef[] {
  const nodes = new Map<string, NodeRef>();
  for (const change of changes) {
    nodes.set(nodeKey(change.node), change.node);
    if (change.kind === 'assign' && change.from && (perMove || !capabilities.atomicMove)) {
      nodes.set(nodeKey(change.from), change.from);
    }
  }
  return [...nodes.values()];
}

const failed = (change: Change, error: ProviderError): ChangeOutcome => ({ change, ok: false, error });

function group<T>(
  batches: Map<string, Batch<T> & { items: { index: number; edit: Edit }[] }>,
  node: NodeRef,
  r: Resolution<T> & { ok: true },
  index: number,
  edit: Edit,
) {
  const batch = batches.get(r.key) ?? { key: r.key, node, target: r.target, items: [] };
  batch.items.push({ index, edit });
  batches.set(r.key, batch);
}

/** Decides phase 1 and the edits of phase 2; see the module table. */
export function planBatches<T>(
  changes: readonly Change[],
  resolved: (node: NodeRef) => Resolution<T>,
  capabilities: ProviderCapabilities,
  moveInOne?: (from: T, to: T) => boolean,
): BatchPlan<T> {
  const decided = new Map<number, ChangeOutcome>();
  const releases = new Map<string, Batch<T> & { items: { index: number; edit: Edit }[] }>();
  const halves = new Map<number, Edit>();
  const assigns = new Map<number, { resolution: Resolution<T> & { ok: true }; node: NodeRef; edit: Edit }>();

  changes.forEach((change, index) => {
    if (change.kind !== 'allocate' && !isIp(change.ip)) {
      decided.set(
        index,
        failed(change, new ProviderError('terminal', `"${change.ip}" is not an IP address`)),
      );
      return;
    }
    if (change.kind === 'assign' && change.publicAddress && !capabilities.publicAddresses) {
      const hint = capabilities.publicAddressHint ? `; ${capabilities.publicAddressHint}` : '';
      decided.set(
        index,
        failed(
          change,
          new ProviderError(
            'terminal',
            `${change.ip}: this provider pairs no public address with an egress IP${hint}`,
          ),
        ),
      );
      return;
    }
    const to = resolved(change.node);
    if (change.kind === 'release') {
      if (to.ok) group(releases, change.node, to, index, { kind: 'remove', ip: canonicalIp(change.ip) });
      else if (to.error.kind === 'notFound') decided.set(index, { change, ok: true });
      else decided.set(index, failed(change, to.error));
      return;
    }
    if (!to.ok) {
      decided.set(index, failed(change, to.error));
      return;
    }
    if (change.kind === 'allocate') {
      assigns.set(index, {
        resolution: to,
        node: change.node,
        edit: { kind: 'allocate', count: change.count },
      });
      return;
    }
    const ip = canonicalIp(change.ip);
    const source = change.from && (moveInOne || !capabilities.atomicMove) ? resolved(change.from) : undefined;
    const atomic = source?.ok && moveInOne ? moveInOne(source.target, to.target) : capabilities.atomicMove;
    let movingFrom: string | undefined;
    if (change.from && atomic && source?.ok && source.key !== to.key) movingFrom = source.key;
    if (change.from && !atomic) {
      const from = source!;
      if (!from.ok && from.error.kind !== 'notFound') {
        decided.set(index, failed(change, from.error));
        return;
      }
      if (from.ok && from.key !== to.key) {
        const half: Edit = { kind: 'remove', ip };
        halves.set(index, half);
        group(releases, change.from, from, index, half);
      }
    }
    const edit: Edit = {
      kind: 'add',
      ip,
      ...(change.publicAddress ? { publicAddress: change.publicAddress } : {}),
      ...(movingFrom ? { from: movingFrom } : {}),
    };
    assigns.set(index, { resolution: to, node: change.node, edit });
  });

  return { decided, releases: [...releases.values()], halves, assigns };
}

/**
 * Phase 2's batches, once phase 1 is done: a move whose release half failed is not attempted (it ends with the
 * half's error); one whose half carried a public address off the old interface brings it along.
 */
export function assignBatches<T>(
  plan: BatchPlan<T>,
  outcomes: ReadonlyMap<Edit, EditOutcome>,
  carried: ReadonlyMap<string, string>,
): Batch<T>[] {
  const batches = new Map<string, Batch<T> & { items: { index: number; edit: Edit }[] }>();
  for (const [index, { resolution, node, edit }] of plan.assigns) {
    const half = plan.halves.get(index);
    if (half && outcomes.get(half)?.ok !== true) continue;
    const publicAddress =
      half && edit.kind === 'add' && !edit.publicAddress ? carried.get(edit.ip) : undefined;
    group(
      batches,
      node,
      resolution,
      index,
      publicAddress && edit.kind === 'add' ? { ...edit, publicAddress } : edit,
    );
  }
  return [...batches.values()];
}

/** The outcome of every change, in plan order; see the module comment. */
export function changeOutcomes(
  changes: readonly Change[],
  plan: BatchPlan<unknown>,
  edits: ReadonlyMap<number, Edit>,
  outcomes: ReadonlyMap<Edit, EditOutcome>,
): ChangeOutcome[] {
  return changes.map((change, index) => {
    const known = plan.decided.get(index);
    if (known) return known;
    const half = plan.halves.get(index);
    const halfOutcome = half ? outcomes.get(half) : undefined;
    if (halfOutcome && !halfOutcome.ok) return failed(change, halfOutcome.error);
    const edit = edits.get(index);
    const outcome = edit ? outcomes.get(edit) : undefined;
    if (!outcome) {
      return failed(
        change,
        new ProviderError(
          'transient',
          `${change.kind === 'allocate' ? 'allocation' : change.ip} on node ${change.node.name}: not carried out; its effect is unknown`,
        ),
      );
    }
    if (!outcome.ok) return failed(change, outcome.error);
    return outcome.allocated ? { change, ok: true, allocated: outcome.allocated } : { change, ok: true };
  });
}
