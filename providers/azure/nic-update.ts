/**
 * @module
 * One NIC's read-modify-write for a batch of edits: under the NIC's lock, GET the NIC, plan the edits
 * (ip-configs.ts), PUT it back with `If-Match` and wait for the operation, all retried (retry.ts).
 *
 * ```
 *  lock(NIC) ─► GET ─► still Updating? ─ yes ─► conflict: back off, GET again
 *                 │ no
 *                 ├─► plan ─► nothing to change ─► done
 *                 └─► PUT If-Match ─► operation Succeeded ─► done
 *                        ├─ 412 / 409 / 429 / 5xx / operation failed ─► back off, GET again
 *                        └─ 400 naming one IP of the batch ─► that edit fails, plan the rest again
 *  allocations: the write adds Dynamic ipConfigurations (Azure picks the IPs); a second read-modify-write
 *  makes them Static, and the IPs are reported
 * ```
 */
import type { NetworkInterface } from '@azure/arm-network';
import { type NodeRef, ProviderError } from '../../src/provider/contract.ts';
import { KeyedLock } from '../../src/provider/keyed-lock.ts';
import type { AzureApi } from './api.ts';
import { classifyAzureError } from './errors.ts';
import { type NicEdit, planNicEdits, primaryOf } from './ip-configs.ts';
import { type NicRef, parseSubnetId } from './resource-id.ts';
import type { Retrying } from './retry.ts';

/** A node resolved to the NIC that holds its egress IPs. */
export interface NicTarget {
  readonly node: NodeRef;
  readonly nic: NicRef;
  /** `<location>-<zone>`, or the location for a VM without a zone. */
  readonly zone: string;
}

/** One edit of a batch, with whatever the caller needs to tell the edits apart. */
export interface NicItem<T> {
  readonly tag: T;
  readonly edit: NicEdit;
}

/** What a NIC update did. */
export interface NicUpdateResult<T> {
  /** The error of each edit that failed; an edit not listed is done. */
  readonly errors: ReadonlyMap<NicItem<T>, ProviderError>;
  /** Public IP resource IDs of removed ipConfigurations, by IP. */
  readonly removedPublic: ReadonlyMap<string, string>;
  /** The IPs Azure picked for each allocate edit that succeeded (now Static). */
  readonly allocated: ReadonlyMap<NicItem<T>, string[]>;
}

/** NIC reads and read-modify-writes for the provider. */
export interface NicUpdater {
  /** Reads the NIC (retried). */
  read(target: NicTarget, signal?: AbortSignal): Promise<NetworkInterface>;
  /** The address prefixes of the NIC's primary subnet. */
  subnetPrefixes(nic: NetworkInterface, where: string, signal?: AbortSignal): Promise<string[]>;
  /** Carries out a batch of edits on one NIC (see the module diagram). */
  update<T>(
    target: NicTarget,
    items: readonly NicItem<T>[],
    signal?: AbortSignal,
  ): Promise<NicUpdateResult<T>>;
}

/** Words naming a NIC in messages. */
export const describeTarget = (t: NicTarget) => `NIC ${t.nic.name} (node ${t.node.name})`;

/** An IP, as a whole address, in a message (`10.0.0.5` is not found in `10.0.0.50`). */
export function mentions(message: string, ip: string): boolean {
  const escaped = ip.replace(/[.]/g, '\\.');
  return new RegExp(`(^|[^0-9A-Za-z.:])${escaped}($|[^0-9A-Za-z:]|\\.(\\s|$))`).test(message);
}

/**
 * GETs the NIC; while another operation still runs on it (provisioningState `Updating`), fails `conflict`
 * so the caller backs off and reads again rather than be told 409 by the PUT.
 */
async function readSettled(
  api: AzureApi,
  target: NicTarget,
  signal?: AbortSignal,
): Promise<NetworkInterface> {
  const nic = await api.getNic(target.nic, signal);
  if (nic.provisioningState === 'Updating') {
    throw new ProviderError('conflict', `${describeTarget(target)}: the NIC is still updating`, {
      code: 'NicUpdating',
    });
  }
  return nic;
}

/** Makes the {@link NicUpdater} of one provider. */
export function nicUpdater(options: {
  readonly owner: string;
  readonly apiFor: (subscriptionId: string) => AzureApi;
  readonly retrying: Retrying;
}): NicUpdater {
  const { owner, apiFor, retrying } = options;
  const locks = new KeyedLock();

  const subnetPrefixes = async (nic: NetworkInterface, where: string, signal?: AbortSignal) => {
    const subnetId = primaryOf(nic.ipConfigurations ?? []).subnet?.id;
    const subnet = subnetId ? parseSubnetId(subnetId) : undefined;
    if (!subnet) throw new ProviderError('terminal', `${where}: the primary ipConfiguration names no subnet`);
    return apiFor(subnet.subscriptionId).getSubnetPrefixes(subnet, signal);
  };

  const update = <T>(target: NicTarget, items: readonly NicItem<T>[], signal?: AbortSignal) =>
    locks.run(target.nic.id.toLowerCase(), async (): Promise<NicUpdateResult<T>> => {
      const where = describeTarget(target);
      const api = apiFor(target.nic.subscriptionId);
      const errors = new Map<NicItem<T>, ProviderError>();
      const removedPublic = new Map<string, string>();
      const allocated = new Map<NicItem<T>, string[]>();
      let pending = [...items];
      while (pending.length > 0) {
        let planned = new Map<NicItem<T>, ProviderError>();
        try {
          await retrying(
            `${where}: update`,
            async () => {
              const nic = await readSettled(api, target, signal);
              const adds = pending.some((i) => i.edit.kind === 'add');
              const plan = planNicEdits({
                owner,
                where,
                ipConfigurations: nic.ipConfigurations ?? [],
                subnetPrefixes: adds ? await subnetPrefixes(nic, where, signal) : [],
                edits: pending.map((i) => i.edit),
              });
              planned = new Map(
                pending.flatMap((i) => {
                  const e = plan.failed.get(i.edit);
                  return e ? [[i, e] as const] : [];
                }),
              );
              for (const [ip, id] of plan.removedPublicAddresses) removedPublic.set(ip, id);
              if (!plan.changed) return;
              const body = { ...nic, ipConfigurations: plan.ipConfigurations };
              await api.putNic(target.nic, body, nic.etag ?? '*', signal);
            },
            signal,
          );
          for (const [item, error] of planned) errors.set(item, error);
          break;
        } catch (err) {
          const error = classifyAzureError(err, `${where}: update`);
          const written = pending.filter((i) => !planned.has(i));
          // ARM refused the batch for one of its IPs: fail that edit and write the rest again.
          const culprit =
            error.kind === 'terminal' || error.kind === 'capacity'
              ? written.find((i) => i.edit.kind === 'add' && mentions(error.message, i.edit.ip))
              : undefined;
          if (culprit && written.length > 1) {
            errors.set(culprit, error);
            pending = pending.filter((i) => i !== culprit);
            continue;
          }
          for (const item of pending) errors.set(item, planned.get(item) ?? error);
          break;
        }
      }

      const allocating = items.filter((i) => i.edit.kind === 'allocate' && !errors.has(i));
      if (allocating.length > 0) {
        const names = allocating.flatMap((i) => (i.edit.kind === 'allocate' ? i.edit.names : []));
        try {
          const configs = await retrying(
            `${where}: make allocated IPs static`,
            async () => {
              const nic = await readSettled(api, target, signal);
              const plan = planNicEdits({
                owner,
                where,
                ipConfigurations: nic.ipConfigurations ?? [],
                subnetPrefixes: [],
                edits: [{ kind: 'pin', names }],
              });
              if (!plan.changed) return plan.ipConfigurations;
              const body = { ...nic, ipConfigurations: plan.ipConfigurations };
              return (await api.putNic(target.nic, body, nic.etag ?? '*', signal)).ipConfigurations ?? [];
            },
            signal,
          );
          for (const item of allocating) {
            const wanted = item.edit.kind === 'allocate' ? item.edit.names : [];
            const ips = configs
              .filter((c) => wanted.includes(c.name ?? ''))
              .flatMap((c) => c.privateIPAddress ?? []);
            allocated.set(item, ips);
          }
        } catch (err) {
          const error = classifyAzureError(err, `${where}: make allocated IPs static`);
          for (const item of allocating) errors.set(item, error);
        }
      }
      return { errors, removedPublic, allocated };
    });

  return {
    read: (target, signal) =>
      retrying(
        `${describeTarget(target)}: get`,
        () => apiFor(target.nic.subscriptionId).getNic(target.nic, signal),
        signal,
      ),
    subnetPrefixes,
    update,
  };
}
