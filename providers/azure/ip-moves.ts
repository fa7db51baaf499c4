/**
 * @module
 * Egress IPs that are on another NIC when a batch adds them: moved in one operation where the subscription
 * has Azure's `moveIpConfigurations`, and taken off a detached NIC (its VM deleted with `deleteOption: Detach`)
 * when nothing else can free them.
 *
 * ```
 *  add ip, from F (the engine's atomic move)     GET F ─► F holds ours ─► POST vnet/moveIpConfigurations
 *                                                  │                        (every such IP of the batch at once)
 *                                                  │                        ├─ ok ─► feature known available
 *                                                  │                        └─ SubscriptionNotRegisteredForFeature
 *                                                  │                           ─► known unavailable (later moves take
 *                                                  │                              the engine's two steps); this once,
 *                                                  │                              PUT F without them (If-Match, wait),
 *                                                  │                              then the ordinary add
 *                                                  └─ F does not hold it ─► an ordinary add
 *  add ip ─► PUT answers PrivateIPAddressIsAllocated naming holder H/ipConfigurations/<our name for ip>
 *       H has no VM (detached) ─► move it from H (feature) or PUT H without it ─► the attempt again
 *       H belongs to a VM ─► terminal, as Azure said (the engine releases IPs of nodes it knows)
 * ```
 *
 * The feature is detected by trying, once per subscription, and the answer cached for the provider's life: a
 * registered feature can still be refused until the provider is registered again (MicrosoftDocs/azure-docs#85617),
 * so the call itself is the only reliable probe. The fallback of that first refusal writes the source NIC from
 * the target's batch, outside the engine's lock of the source; its `If-Match` etag (412) and Azure's one
 * operation per NIC (409) keep a concurrent write of the source from being lost.
 */
import type { NetworkInterface } from '@azure/arm-network';
import { ProviderError } from '../../src/provider/contract.ts';
import type { Edit } from '../../src/provider/interface-driver.ts';
import type { AzureApi } from './api.ts';
import { classifyAzureError } from './errors.ts';
import { isOwned, ownedName, primaryOf } from './ip-configs.ts';
import { parseNicId, parseSubnetId } from './resource-id.ts';

/** Whether a subscription has the one-operation move, as far as known. */
export type MoveSupport = 'unknown' | 'available' | 'unavailable';

/** The one-operation move's state per subscription (shared by every NIC of one provider). */
export class MoveFeature {
  readonly #states = new Map<string, MoveSupport>();

  /** What is known about `subscriptionId`. */
  state(subscriptionId: string): MoveSupport {
    return this.#states.get(subscriptionId.toLowerCase()) ?? 'unknown';
  }

  /** Records what a move call showed. */
  set(subscriptionId: string, state: 'available' | 'unavailable'): void {
    this.#states.set(subscriptionId.toLowerCase(), state);
  }
}

/** The code Azure answers a call behind a subscription feature that is not registered. */
export const FEATURE_NOT_REGISTERED = 'SubscriptionNotRegisteredForFeature';

/** What the helpers need. */
export interface MoveContext {
  readonly owner: string;
  readonly api: AzureApi;
  readonly feature: MoveFeature;
  /** The target NIC's subscription. */
  readonly subscriptionId: string;
  /** Words naming the target NIC in messages. */
  readonly where: string;
  readonly signal?: AbortSignal | undefined;
  /**
   * Public IPs of ipConfigurations removed for a move, by IP, kept across the attempts of one batch (a repeat no
   * longer sees them on the source).
   */
  readonly carried: Map<string, string>;
}

/** The virtual network of a NIC (of its primary ipConfiguration's subnet). */
function vnetOf(nic: NetworkInterface) {
  const subnet = parseSubnetId(primaryOf(nic.ipConfigurations ?? []).subnet?.id ?? '');
  if (!subnet)
    throw new ProviderError('terminal', `NIC ${nic.name}: its primary ipConfiguration names no subnet`);
  return { subscriptionId: subnet.subscriptionId, resourceGroup: subnet.resourceGroup, name: subnet.vnet };
}

/**
 * Moves the batch's moving IPs (adds with `from`) that their source NIC holds as ours onto `nic` (the target as
 * just read) in one call; where the subscription turns out not to have the feature, removes them from their
 * source NICs instead (their public IPs into `ctx.carried`), for the caller's ordinary add. Edits whose source does not hold the IP are left to the
 * ordinary add as well.
 */
export async function moveOnto(
  ctx: MoveContext,
  nic: NetworkInterface,
  moving: readonly (Edit & { kind: 'add' })[],
): Promise<void> {
  const { carried } = ctx;
  const sources = Map.groupBy(moving, (e) => e.from!);
  const items: { edit: Edit & { kind: 'add' }; source: string; target: string; nic: NetworkInterface }[] = [];
  for (const [from, edits] of sources) {
    const ref = parseNicId(from);
    if (!ref) continue;
    let source: NetworkInterface;
    try {
      source = await ctx.api.getNic(ref, ctx.signal);
    } catch (err) {
      const error = classifyAzureError(err, `NIC ${ref.name}: get`);
      if (error.kind === 'notFound') continue;
      throw error;
    }
    if (source.provisioningState === 'Updating') {
      throw new ProviderError('conflict', `NIC ${ref.name}: still updating; the move waits`, {
        code: 'NicUpdating',
      });
    }
    for (const edit of edits) {
      const held = (source.ipConfigurations ?? []).find((c) => c.privateIPAddress === edit.ip);
      if (!held || !isOwned(held, ctx.owner) || !held.id) continue;
      items.push({
        edit,
        source: held.id,
        target: `${nic.id}/ipConfigurations/${ownedName(ctx.owner, edit.ip)}`,
        nic: source,
      });
    }
  }
  if (items.length === 0) return;
  if (ctx.feature.state(ctx.subscriptionId) !== 'unavailable') {
    try {
      await ctx.api.moveIpConfigurations(vnetOf(nic), items, ctx.signal);
      ctx.feature.set(ctx.subscriptionId, 'available');
      return;
    } catch (err) {
      const error = classifyAzureError(err, `${ctx.where}: move IP configurations`);
      if (error.code !== FEATURE_NOT_REGISTERED) throw error;
      ctx.feature.set(ctx.subscriptionId, 'unavailable');
    }
  }
  // This once: remove from each source NIC (one PUT each), then the caller adds.
  for (const group of Map.groupBy(items, (i) => i.nic).values()) {
    const source = group[0]!.nic;
    const ref = parseNicId(source.id ?? '')!;
    const leaving = new Set(group.map((i) => i.source.toLowerCase()));
    for (const c of source.ipConfigurations ?? []) {
      if (leaving.has((c.id ?? '').toLowerCase()) && c.publicIPAddress?.id && c.privateIPAddress) {
        carried.set(c.privateIPAddress, c.publicIPAddress.id);
      }
    }
    const rest = (source.ipConfigurations ?? []).filter((c) => !leaving.has((c.id ?? '').toLowerCase()));
    await ctx.api
      .putNic(ref, { ...source, ipConfigurations: rest }, source.etag ?? '*', ctx.signal)
      .catch((err: unknown) => {
        throw classifyAzureError(err, `NIC ${ref.name}: release for the move`);
      });
  }
}

/** The NIC and ipConfiguration name a `PrivateIPAddressIsAllocated` message names as the holder of `ip`. */
export function holderOf(message: string): { nicId: string; name: string } | undefined {
  const m =
    /already allocated to resource (\/subscriptions\/\S+?\/networkInterfaces\/[^/\s]+)\/ipConfigurations\/([^/\s.]+)/i.exec(
      message,
    );
  return m ? { nicId: m[1]!, name: m[2]! } : undefined;
}

/**
 * After Azure refused `ip` on the target as `PrivateIPAddressIsAllocated`: when the holder is our ipConfiguration
 * for `ip` on a NIC that no VM uses (its VM was deleted and the NIC detached), takes it from there (moved onto
 * `targetNicId` where the feature is known available, else removed from the detached NIC) and returns true: the
 * caller's attempt is then repeated. False when the holder is not ours or its NIC belongs to a VM.
 */
export async function takeFromDetached(
  ctx: MoveContext,
  error: ProviderError,
  ip: string,
  targetNicId: string,
): Promise<boolean> {
  const holder = holderOf(error.message);
  if (!holder || holder.name !== ownedName(ctx.owner, ip)) return false;
  const ref = parseNicId(holder.nicId);
  if (!ref) return false;
  const nic = await ctx.api.getNic(ref, ctx.signal).catch((err: unknown) => {
    throw classifyAzureError(err, `NIC ${ref.name}: get`);
  });
  const config = (nic.ipConfigurations ?? []).find((c) => c.name === holder.name);
  if (nic.virtualMachine?.id || !config || !isOwned(config, ctx.owner)) return false;
  if (ctx.feature.state(ref.subscriptionId) === 'available' && config.id) {
    await ctx.api
      .moveIpConfigurations(
        vnetOf(nic),
        [{ source: config.id, target: `${targetNicId}/ipConfigurations/${holder.name}` }],
        ctx.signal,
      )
      .catch((err: unknown) => {
        throw classifyAzureError(err, `detached NIC ${ref.name}: move ${ip}`);
      });
    return true;
  }
  const rest = (nic.ipConfigurations ?? []).filter((c) => c !== config);
  await ctx.api
    .putNic(ref, { ...nic, ipConfigurations: rest }, nic.etag ?? '*', ctx.signal)
    .catch((err: unknown) => {
      throw classifyAzureError(err, `detached NIC ${ref.name}: release ${ip}`);
    });
  return true;
}
