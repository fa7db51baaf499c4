/**
 * @module
 * One attempt at a batch of edits on one NIC: the Azure driver's `write`. The engine runs it under the NIC's
 * lock and calls it again after each retryable failure; every attempt reads the NIC afresh, so it is safe to
 * repeat.
 *
 * ```
 *  GET NIC ─► still Updating? ─ yes ─► conflict (the engine backs off; the next attempt reads again)
 *     │ no
 *     ├─► adds the engine moves in one write (`from`), not here yet ─► moveIpConfigurations (ip-moves.ts),
 *     │   then GET again
 *     ├─► plan the edits (pure, ip-configs.ts) ─► nothing to change ─► no PUT
 *     └─► PUT If-Match: etag ─► poll Azure-AsyncOperation until Succeeded
 *            412 / 409 / 429 / 5xx / operation failed or timed out ─► thrown, classified: the engine retries
 *            400 naming one IP of the batch ─► thrown: the engine fails that edit (`blame`), writes the rest
 *            400 PrivateIPAddressIsAllocated by our ipConfiguration on a detached NIC ─► taken from there
 *                (ip-moves.ts), conflict: the engine runs the attempt again
 *  allocations the plan accepted: GET again ─► pin their ipConfigurations Static (PUT only if one is still
 *     Dynamic) ─► report the IPs Azure picked
 * ```
 *
 * Shared by the attempts of one batch (in the closure): the allocation names, so that a repeat finds the
 * ipConfigurations an earlier attempt made instead of adding more, and the public IPs of removed
 * ipConfigurations, which a repeat no longer sees.
 */
import type { NetworkInterface } from '@azure/arm-network';
import { type NodeRef, ProviderError } from '../../src/provider/contract.ts';
import type { BatchResult, Edit } from '../../src/provider/interface-driver.ts';
import type { AzureApi } from './api.ts';
import { classifyAzureError, mentions } from './errors.ts';
import {
  addressOf,
  allocationNames,
  holds,
  type NicEdit,
  type NicEditPlan,
  planNicEdits,
  primaryOf,
} from './ip-configs.ts';
import { type MoveFeature, type MoveWriter, moveOnto, takeFromDetached } from './ip-moves.ts';
import { type NicRef, parseSubnetId } from './resource-id.ts';

/** A node resolved to the NIC that holds its egress IPs. */
export interface NicTarget {
  readonly kind: 'nic';
  readonly node: NodeRef;
  readonly nic: NicRef;
  /** `<location>-<zone>`, or the location for a VM without a zone. */
  readonly zone: string;
}

/** Words naming a NIC in messages. */
export const describeTarget = (t: NicTarget) => `NIC ${t.nic.name} (node ${t.node.name})`;

/** `call`, its failure classified as `context` (which leads the message). */
export async function step<R>(context: string, call: Promise<R>): Promise<R> {
  try {
    return await call;
  } catch (err) {
    throw classifyAzureError(err, context);
  }
}

/** The address prefixes of the NIC's primary subnet. */
export async function subnetPrefixes(
  apiFor: (subscriptionId: string) => AzureApi,
  nic: NetworkInterface,
  where: string,
  signal?: AbortSignal,
): Promise<string[]> {
  const subnetId = primaryOf(nic.ipConfigurations ?? []).subnet?.id;
  const subnet = subnetId ? parseSubnetId(subnetId) : undefined;
  if (!subnet) throw new ProviderError('terminal', `${where}: the primary ipConfiguration names no subnet`);
  return step(`${where}: subnet get`, apiFor(subnet.subscriptionId).getSubnetPrefixes(subnet, signal));
}

/**
 * GETs the NIC; while another operation still runs on it (provisioningState `Updating`), fails `conflict`
 * so the engine backs off and reads again rather than be told 409 by the PUT.
 */
async function readSettled(
  api: AzureApi,
  target: NicTarget,
  signal?: AbortSignal,
): Promise<NetworkInterface> {
  const where = describeTarget(target);
  const nic = await step(`${where}: get`, api.getNic(target.nic, signal));
  if (nic.provisioningState === 'Updating') {
    throw new ProviderError('conflict', `${where}: the NIC is still updating`, { code: 'NicUpdating' });
  }
  return nic;
}

/** The added IP a `PrivateIPAddressIsAllocated` refusal names, unless it was already taken from a detached NIC. */
function heldIP(
  error: ProviderError,
  edits: readonly Edit[],
  freed: ReadonlySet<string>,
): string | undefined {
  const edit = edits.find((e) => e.kind === 'add' && !freed.has(e.ip) && mentions(error.message, e.ip));
  return edit?.kind === 'add' ? edit.ip : undefined;
}

/** What {@link nicWrite} needs. */
export interface NicWriteOptions {
  readonly owner: string;
  readonly apiFor: (subscriptionId: string) => AzureApi;
  /** What is known of the one-operation move, per subscription. */
  readonly feature: MoveFeature;
  /** Coalesces the moves of the batches of one failover into one call (shared by every NIC of the provider). */
  readonly moves: MoveWriter;
}

/** The write attempt of one batch of edits on the target's NIC (see the module diagram). */
export function nicWrite(
  options: NicWriteOptions,
  target: NicTarget,
  edits: readonly Edit[],
  signal?: AbortSignal,
): () => Promise<BatchResult> {
  const { owner, apiFor, feature, moves: writer } = options;
  const api = apiFor(target.nic.subscriptionId);
  const where = describeTarget(target);
  const carried = new Map<string, string>();
  const moves = {
    owner,
    api,
    feature,
    writer,
    subscriptionId: target.nic.subscriptionId,
    where,
    signal,
    carried,
  };
  /** IPs already taken from a detached NIC in this batch (once each). */
  const freed = new Set<string>();
  const planned = new Map<Edit, NicEdit>(
    edits.map((e) => [
      e,
      e.kind === 'allocate' ? { kind: 'allocate', names: allocationNames(owner, Math.max(0, e.count)) } : e,
    ]),
  );
  /** PUTs the NIC as read with the plan's ipConfigurations, `If-Match` its etag; waits for the operation. */
  const put = (context: string, nic: NetworkInterface, plan: NicEditPlan) =>
    step(
      context,
      api.putNic(target.nic, { ...nic, ipConfigurations: plan.ipConfigurations }, nic.etag ?? '*', signal),
    );

  /** Makes the allocated ipConfigurations Static; the IPs of each allocation. */
  const pin = async (allocating: readonly Edit[]) => {
    const namesOf = (edit: Edit) => {
      const nicEdit = planned.get(edit);
      return nicEdit?.kind === 'allocate' ? nicEdit.names : [];
    };
    const nic = await readSettled(api, target, signal);
    const plan = planNicEdits({
      owner,
      where,
      ipConfigurations: nic.ipConfigurations ?? [],
      subnetPrefixes: [],
      edits: [{ kind: 'pin', names: allocating.flatMap(namesOf) }],
    });
    if (plan.changed) await put(`${where}: make allocated IPs static`, nic, plan);
    return new Map(
      allocating.map((edit) => {
        const names = namesOf(edit);
        const ips = plan.ipConfigurations.filter((c) => names.includes(c.name ?? '')).flatMap(addressOf);
        return [edit, ips] as const;
      }),
    );
  };

  return async () => {
    // A batch that may move announces it first, so that the move call waits for the other batches' moves.
    const handIn = edits.some((e) => e.kind === 'add' && e.from !== undefined) ? writer.expect() : () => {};
    try {
      return await attempt(handIn);
    } finally {
      handIn();
    }
  };

  async function attempt(handIn: () => void): Promise<BatchResult> {
    let nic = await readSettled(api, target, signal);
    const here = (ip: string) => (nic.ipConfigurations ?? []).some((c) => holds(c, ip));
    const moving = edits.filter(
      (e): e is Edit & { kind: 'add' } => e.kind === 'add' && e.from !== undefined && !here(e.ip),
    );
    if (moving.length === 0) handIn();
    else {
      await moveOnto(moves, nic, moving, handIn);
      for (const edit of moving) {
        const publicAddress = carried.get(edit.ip);
        if (publicAddress && !edit.publicAddress)
          planned.set(edit, { kind: 'add', ip: edit.ip, publicAddress });
      }
      nic = await readSettled(api, target, signal);
    }
    const adding = edits.some((e) => e.kind === 'add');
    const plan = planNicEdits({
      owner,
      where,
      ipConfigurations: nic.ipConfigurations ?? [],
      subnetPrefixes: adding ? await subnetPrefixes(apiFor, nic, where, signal) : [],
      edits: [...planned.values()],
    });
    for (const [ip, id] of plan.removedPublicAddresses) carried.set(ip, id);
    if (plan.changed) {
      try {
        await put(`${where}: update`, nic, plan);
      } catch (err) {
        const error = classifyAzureError(err, `${where}: update`);
        const held = error.code === 'PrivateIPAddressIsAllocated' ? heldIP(error, edits, freed) : undefined;
        if (held && (await takeFromDetached(moves, error, held, nic.id ?? target.nic.id))) {
          freed.add(held);
          throw new ProviderError(
            'conflict',
            `${where}: ${held} was taken from a detached NIC; writing again`,
            {
              cause: error,
              code: 'TakenFromDetachedNic',
            },
          );
        }
        throw error;
      }
    }

    const failed = new Map<Edit, ProviderError>();
    for (const [edit, nicEdit] of planned) {
      const error = plan.failed.get(nicEdit);
      if (error) failed.set(edit, error);
    }
    const allocating = edits.filter((e) => e.kind === 'allocate' && !failed.has(e));
    if (allocating.length === 0) return { failed, carried };
    try {
      return { failed, carried, allocated: await pin(allocating) };
    } catch (err) {
      // The batch's other edits are written: a pin that cannot succeed fails the allocations alone.
      const error = classifyAzureError(err, `${where}: make allocated IPs static`);
      if (error.retryable) throw error;
      for (const edit of allocating) failed.set(edit, error);
      return { failed, carried };
    }
  }
}
