/**
 * @module
 * Egress IPs that are on another NIC when a batch adds them: moved in one operation where the subscription
 * has Azure's `moveIpConfigurations`, and taken off a detached NIC (its VM deleted with `deleteOption: Detach`)
 * when nothing else can free them.
 *
 * ```
 *  add ip, from F (the engine's atomic move)     GET F ─► F holds ours ─► POST vnet/moveIpConfigurations
 *                                                  │                        (every such IP of every NIC's batch of
 *                                                  │                        the failover at once: MoveWriter)
 *                                                  │                        ├─ ok ─► feature known available
 *                                                  │                        └─ SubscriptionNotRegisteredForFeature
 *                                                  │                           ─► known unavailable (later moves take
 *                                                  │                              the engine's two steps); this once,
 *                                                  │                              PUT F without them (If-Match, wait;
 *                                                  │                              one PUT per F for all the batches),
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
 * the targets' batches, outside the engine's lock of the source; its `If-Match` etag (412) and Azure's one
 * operation per NIC (409) keep a concurrent write of the source from being lost.
 */
import type { NetworkInterface } from '@azure/arm-network';
import { ProviderError } from '../../src/provider/contract.ts';
import type { Edit } from '../../src/provider/interface-driver.ts';
import type { AzureApi } from './api.ts';
import { classifyAzureError, mentions } from './errors.ts';
import { holds, isOwned, ownedName, primaryOf } from './ip-configs.ts';
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

/** A virtual network, as the move call names it. */
interface VnetRef {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
}

/** One ipConfiguration to move: our config on its source NIC, and its ID on the target NIC. */
interface MoveItem {
  readonly ip: string;
  /** The source ipConfiguration's ID. */
  readonly source: string;
  /** The target ipConfiguration's ID (created by the move). */
  readonly target: string;
}

/** One batch's part of a move call. */
interface MoveJob {
  readonly api: AzureApi;
  readonly subscriptionId: string;
  readonly vnet: VnetRef;
  readonly items: readonly MoveItem[];
  /** Words naming the batch's NIC in messages. */
  readonly where: string;
  /** Where the public IPs of ipConfigurations released for the fallback go (the batch's `carried`). */
  readonly carried: Map<string, string>;
  readonly signal?: AbortSignal | undefined;
  readonly done: () => void;
  readonly fail: (err: unknown) => void;
}

/**
 * Sends the moves of every NIC's batch of one failover as one `moveIpConfigurations` call per virtual network
 * (group commit, as {@link RouteTableWriter} does for route tables). Azure runs one operation at a time per NIC
 * and a move's operation holds the source NIC as well as the target: a failover that spreads one node's IPs over
 * two new NICs as one call per new NIC had its second call refused 409 AnotherOperationInProgress until the
 * first was done. The request takes a list of items, each naming its own source and target ipConfiguration, so
 * one call fills several NICs (the REST spec's example VirtualNetworkMoveIpConfigurations.json moves nic1 to nic2
 * and nic3 to nic4 in one request).
 *
 * ```
 *  batch attempt with moving adds ─► expect() ─► GET target, sources ─► submit(items) │ nothing to move ─► withdraw
 *  a call waits until every batch that announced a move has submitted or withdrawn, then, per virtual network:
 *    feature not known unavailable ─► POST every item ─► ok: each batch goes on (its IPs are there)
 *                                        └─ SubscriptionNotRegisteredForFeature ─► known unavailable, and:
 *    unavailable ─► per source NIC: GET, one PUT without every item (If-Match, waited) ─► each batch adds
 *  a refusal that names IPs of some batches only fails those; the others are told `conflict` and try again
 * ```
 *
 * Batches that start while a call runs go into the next one.
 */
export class MoveWriter {
  readonly #feature: MoveFeature;
  readonly #pending: MoveJob[] = [];
  #expected = 0;
  #running = false;
  #wake: (() => void) | undefined;

  constructor(feature: MoveFeature) {
    this.#feature = feature;
  }

  /** Announces one batch's moves; the returned function withdraws them unless handed in (call it always). */
  expect(): () => void {
    this.#expected++;
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      this.#expected--;
      if (this.#expected === 0) this.#wake?.();
    };
  }

  /** Hands in a batch's items (`handIn` is what {@link expect} returned); resolves when they are moved or released. */
  submit(job: Omit<MoveJob, 'done' | 'fail'>, handIn: () => void): Promise<void> {
    const result = new Promise<void>((done, fail) => this.#pending.push({ ...job, done, fail }));
    handIn();
    if (!this.#running) void this.#cycle();
    return result;
  }

  async #cycle(): Promise<void> {
    this.#running = true;
    while (this.#pending.length > 0) {
      if (this.#expected > 0) {
        await new Promise<void>((wake) => {
          this.#wake = wake;
        });
        this.#wake = undefined;
      }
      const jobs = this.#pending.splice(0);
      const groups = Map.groupBy(jobs, (j) =>
        `${j.vnet.subscriptionId}/${j.vnet.resourceGroup}/${j.vnet.name}`.toLowerCase(),
      );
      await Promise.all([...groups.values()].map((group) => this.#run(group)));
    }
    this.#running = false;
  }

  /** One call for the jobs of one virtual network (or, without the feature, one release per source NIC). */
  async #run(jobs: readonly MoveJob[]): Promise<void> {
    const first = jobs[0]!;
    try {
      if (this.#feature.state(first.subscriptionId) !== 'unavailable') {
        try {
          await first.api.moveIpConfigurations(
            first.vnet,
            jobs.flatMap((j) => j.items.map(({ source, target }) => ({ source, target }))),
            first.signal,
          );
          this.#feature.set(first.subscriptionId, 'available');
          for (const job of jobs) job.done();
          return;
        } catch (err) {
          const error = classifyAzureError(err, `${first.where}: move IP configurations`);
          if (error.code !== FEATURE_NOT_REGISTERED) throw error;
          this.#feature.set(first.subscriptionId, 'unavailable');
        }
      }
      await releaseFromSources(jobs);
      for (const job of jobs) job.done();
    } catch (err) {
      const error = classifyAzureError(err, `${first.where}: move IP configurations`);
      const named = jobs.filter((j) => j.items.some((i) => mentions(error.message, i.ip)));
      for (const job of jobs) {
        if (error.retryable || named.length === 0 || named.includes(job)) job.fail(error);
        else
          job.fail(
            new ProviderError(
              'conflict',
              `${job.where}: the shared move was refused for other NICs' IPs; again`,
              {
                cause: error,
                code: 'SharedMoveRefused',
              },
            ),
          );
      }
    }
  }
}

/** A source NIC another operation still writes: `conflict`, so that the engine backs off and reads again. */
function refuseUpdating(name: string, nic: NetworkInterface): void {
  if (nic.provisioningState === 'Updating') {
    throw new ProviderError('conflict', `NIC ${name}: still updating; the move waits`, {
      code: 'NicUpdating',
    });
  }
}

/** Without the feature: takes every job's items off their source NICs, one PUT per source NIC, waited. */
async function releaseFromSources(jobs: readonly MoveJob[]): Promise<void> {
  const { api, signal } = jobs[0]!;
  const bySource = Map.groupBy(
    jobs.flatMap((job) => job.items.map((item) => ({ job, item }))),
    ({ item }) => item.source.toLowerCase().replace(/\/ipconfigurations\/[^/]+$/, ''),
  );
  for (const group of bySource.values()) {
    const ref = parseNicId(group[0]!.item.source.replace(/\/ipConfigurations\/[^/]+$/i, ''))!;
    const source = await api.getNic(ref, signal).catch((err: unknown) => {
      throw classifyAzureError(err, `NIC ${ref.name}: get`);
    });
    refuseUpdating(ref.name, source);
    const leaving = new Map(group.map((g) => [g.item.source.toLowerCase(), g.job]));
    for (const c of source.ipConfigurations ?? []) {
      const job = leaving.get((c.id ?? '').toLowerCase());
      if (job && c.publicIPAddress?.id && c.privateIPAddress)
        job.carried.set(c.privateIPAddress, c.publicIPAddress.id);
    }
    const rest = (source.ipConfigurations ?? []).filter((c) => !leaving.has((c.id ?? '').toLowerCase()));
    if (rest.length === (source.ipConfigurations ?? []).length) continue;
    await api
      .putNic(ref, { ...source, ipConfigurations: rest }, source.etag ?? '*', signal)
      .catch((err: unknown) => {
        throw classifyAzureError(err, `NIC ${ref.name}: release for the move`);
      });
  }
}

/** What the helpers need. */
export interface MoveContext {
  readonly owner: string;
  readonly api: AzureApi;
  readonly feature: MoveFeature;
  /** Coalesces the moves of concurrent batches into one call. */
  readonly writer: MoveWriter;
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
function vnetOf(nic: NetworkInterface): VnetRef {
  const subnet = parseSubnetId(primaryOf(nic.ipConfigurations ?? []).subnet?.id ?? '');
  if (!subnet)
    throw new ProviderError('terminal', `NIC ${nic.name}: its primary ipConfiguration names no subnet`);
  return { subscriptionId: subnet.subscriptionId, resourceGroup: subnet.resourceGroup, name: subnet.vnet };
}

/**
 * Moves the batch's moving IPs (adds with `from`) that their source NIC holds as ours onto `nic` (the target as
 * just read), in the writer's next call with the other batches' moves; where the subscription turns out not to
 * have the feature, they are removed from their source NICs instead (their public IPs into `ctx.carried`), for
 * the caller's ordinary add. Edits whose source does not hold the IP are left to the ordinary add as well.
 * `handIn` is the batch's announcement ({@link MoveWriter.expect}): handed in here, or withdrawn when there is
 * nothing to move.
 */
export async function moveOnto(
  ctx: MoveContext,
  nic: NetworkInterface,
  moving: readonly (Edit & { kind: 'add' })[],
  handIn: () => void,
): Promise<void> {
  const sources = Map.groupBy(moving, (e) => e.from!);
  const items: MoveItem[] = [];
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
    refuseUpdating(ref.name, source);
    for (const edit of edits) {
      const held = (source.ipConfigurations ?? []).find((c) => holds(c, edit.ip));
      if (!held || !isOwned(held, ctx.owner) || !held.id) continue;
      items.push({
        ip: edit.ip,
        source: held.id,
        target: `${nic.id}/ipConfigurations/${ownedName(ctx.owner, edit.ip)}`,
      });
    }
  }
  if (items.length === 0) {
    handIn();
    return;
  }
  await ctx.writer.submit(
    {
      api: ctx.api,
      subscriptionId: ctx.subscriptionId,
      vnet: vnetOf(nic),
      items,
      where: ctx.where,
      carried: ctx.carried,
      signal: ctx.signal,
    },
    handIn,
  );
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
