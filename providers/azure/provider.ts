/**
 * @module
 * The Azure provider: egress IPs as secondary, static ipConfigurations on the node's NIC.
 *
 * `apply(plan)`, per NIC and never two at once on one NIC (a keyed lock):
 *
 * ```
 *  resolve nodes: providerID ─► VM GET ─► NIC ID (primary NIC, or settings.interface as an index)
 *  phase 1, releases (and the `from` half of moves), NICs in parallel:
 *      NIC GET ─► plan (pure, ip-configs.ts) ─► one PUT with If-Match: etag ─► poll Azure-AsyncOperation
 *  phase 2, assignments and allocations, NICs in parallel: the same, adding; a move adds only once its
 *      release is done; an allocation adds Dynamic ipConfigurations, then makes them Static
 *  every read-modify-write is retried with p-retry and jitter:
 *      412 stale etag, 409 operation in progress ─► re-read, retry soon
 *      429 / 5xx / operation failed or timed out   ─► back off (Retry-After honoured), re-read, retry
 *      400 naming one IP of the batch               ─► that change fails, the rest is written again
 * ```
 *
 * A move is two writes (Azure has no reassign): the IP leaves the old NIC before it is put on the new one,
 * so it is never on two NICs; a public IP on the old ipConfiguration follows the IP unless the change
 * names another.
 */
import type { Logger } from '../../src/log.ts';
import {
  type ApplyResult,
  type Change,
  type ChangeOutcome,
  type CloudAssignment,
  type CloudProvider,
  isProviderError,
  type NodeNetwork,
  type NodeRef,
  type Plan,
  ProviderError,
  type ProviderSettings,
} from '../../src/provider/contract.ts';
import type { AzureApi, AzureApiFactory } from './api.ts';
import { azureProvider } from './descriptor.ts';
import { classifyAzureError } from './errors.ts';
import { allocationNames, IP_CONFIGURATIONS_PER_NIC, isOwned } from './ip-configs.ts';
import { describeTarget, type NicItem, type NicTarget, nicUpdater } from './nic-update.ts';
import { parseNicId, parseProviderID } from './resource-id.ts';
import { type RetrySettings, retrying } from './retry.ts';

export type { RetrySettings } from './retry.ts';

/** What the provider is built from. */
export interface AzureProviderDeps {
  /** The Azure calls of one subscription (the SDK seam). */
  readonly api: AzureApiFactory;
  readonly retry?: RetrySettings;
  readonly logger?: Logger;
}

/** Creates the Azure provider over an {@link AzureApiFactory}. */
export function createAzureProviderWith(settings: ProviderSettings, deps: AzureProviderDeps): CloudProvider {
  const owner = settings.owner;
  const apis = new Map<string, AzureApi>();
  const apiFor = (subscriptionId: string) => {
    const id = subscriptionId.toLowerCase();
    let api = apis.get(id);
    if (!api) {
      api = deps.api(subscriptionId);
      apis.set(id, api);
    }
    return api;
  };
  const withRetry = retrying(deps.retry, deps.logger);
  const nics = nicUpdater({ owner, apiFor, retrying: withRetry });

  const resolve = async (node: NodeRef, signal?: AbortSignal): Promise<NicTarget> => {
    const vmRef = parseProviderID(node);
    const api = apiFor(vmRef.subscriptionId);
    const vm = await withRetry(`node ${node.name}: VM get`, () => api.getVm(vmRef, signal), signal);
    const index = settings.interface ? Number(settings.interface) : undefined;
    const picked =
      index !== undefined && Number.isInteger(index)
        ? vm.nics[index]
        : (vm.nics.find((n) => n.primary) ?? vm.nics[0]);
    if (!picked) {
      throw new ProviderError(
        'notFound',
        `node ${node.name}: the VM has no network interface${index !== undefined ? ` at index ${index}` : ''}`,
      );
    }
    const nic = parseNicId(picked.id);
    if (!nic) {
      throw new ProviderError(
        'terminal',
        `node ${node.name}: NIC ${picked.id} belongs to a uniform scale set, whose ipConfigurations come from the scale set's model and cannot hold a chosen private IP; use standalone VMs or a Flexible scale set for gateway nodes`,
        { code: 'UnsupportedNic' },
      );
    }
    const zone = vm.zones[0] ? `${vm.location}-${vm.zones[0]}` : vm.location;
    return { node, nic, zone };
  };

  return {
    name: azureProvider.name,
    capabilities: azureProvider.capabilities,

    async describeNode(node, signal) {
      const target = await resolve(node, signal);
      const nic = await nics.read(target, signal);
      const configs = nic.ipConfigurations ?? [];
      const where = describeTarget(target);
      const prefixes = await withRetry(
        `${where}: subnet get`,
        () => nics.subnetPrefixes(nic, where, signal),
        signal,
      );
      const owned = configs.filter((c) => isOwned(c, owner)).flatMap((c) => c.privateIPAddress ?? []);
      const network: NodeNetwork = {
        node: node.name,
        interfaceId: nic.id ?? target.nic.id,
        zone: target.zone,
        subnets: prefixes,
        reservedIPs: configs.filter((c) => !isOwned(c, owner)).flatMap((c) => c.privateIPAddress ?? []),
        ownedIPs: owned.sort(),
        freeSlots: Math.max(0, IP_CONFIGURATIONS_PER_NIC - configs.length),
      };
      return network;
    },

    async listAssignments(nodes, signal) {
      const perNode = await Promise.all(
        nodes.map(async (node): Promise<CloudAssignment[]> => {
          try {
            const target = await resolve(node, signal);
            const nic = await nics.read(target, signal);
            return (nic.ipConfigurations ?? [])
              .filter((c) => isOwned(c, owner))
              .map((c) => ({
                ip: c.privateIPAddress!,
                node: node.name,
                interfaceId: nic.id ?? target.nic.id,
                ...(c.publicIPAddress?.id ? { publicAddress: c.publicIPAddress.id } : {}),
              }))
              .sort((x, y) => (x.ip < y.ip ? -1 : x.ip > y.ip ? 1 : 0));
          } catch (err) {
            if (isProviderError(err, 'notFound')) return [];
            throw err;
          }
        }),
      );
      return perNode.flat();
    },

    async apply(plan: Plan, signal?: AbortSignal): Promise<ApplyResult> {
      const outcomes = new Map<Change, ChangeOutcome>();
      const fail = (change: Change, error: ProviderError) => {
        if (!outcomes.has(change)) outcomes.set(change, { change, ok: false, error });
      };
      const resolved = new Map<string, Promise<NicTarget>>();
      const resolveOnce = (node: NodeRef) => {
        const k = `${node.name}\n${node.providerID}`;
        let p = resolved.get(k);
        if (!p) {
          p = resolve(node, signal);
          p.catch(() => undefined);
          resolved.set(k, p);
        }
        return p;
      };
      const settle = async (node: NodeRef) => {
        try {
          return { target: await resolveOnce(node) };
        } catch (err) {
          return { error: classifyAzureError(err, `node ${node.name}`) };
        }
      };

      type Item = NicItem<Change>;
      type Batch = { target: NicTarget; items: Item[] };
      const releases = new Map<string, Batch>();
      const assigns = new Map<string, Batch>();
      const add = (batches: Map<string, Batch>, target: NicTarget, item: Item) => {
        const k = target.nic.id.toLowerCase();
        const batch = batches.get(k) ?? { target, items: [] };
        batch.items.push(item);
        batches.set(k, batch);
      };
      const moveHalf = new Map<Change, Item>();

      await Promise.all(
        plan.changes.map(async (change) => {
          const to = await settle(change.node);
          if (!to.target) return fail(change, to.error!);
          if (change.kind === 'allocate') {
            const names = allocationNames(owner, Math.max(0, change.count));
            add(assigns, to.target, { tag: change, edit: { kind: 'allocate', names } });
            return;
          }
          if (change.kind === 'release') {
            add(releases, to.target, { tag: change, edit: { kind: 'remove', ip: change.ip } });
            return;
          }
          if (change.from) {
            const from = await settle(change.from);
            if (from.error && from.error.kind !== 'notFound') return fail(change, from.error);
            if (from.target && from.target.nic.id.toLowerCase() !== to.target.nic.id.toLowerCase()) {
              const item: Item = { tag: change, edit: { kind: 'remove', ip: change.ip } };
              moveHalf.set(change, item);
              add(releases, from.target, item);
            }
          }
          add(assigns, to.target, {
            tag: change,
            edit: {
              kind: 'add',
              ip: change.ip,
              ...(change.publicAddress ? { publicAddress: change.publicAddress } : {}),
            },
          });
        }),
      );

      // Phase 1: releases, so that a moved IP is gone from its old NIC before it is added elsewhere.
      const carried = new Map<string, string>();
      await Promise.all(
        [...releases.values()].map(async ({ target, items }) => {
          const { errors, removedPublic } = await nics.update(target, items, signal);
          for (const [ip, id] of removedPublic) carried.set(ip, id);
          for (const item of items) {
            const error = errors.get(item);
            if (error) fail(item.tag, error);
            else if (item.tag.kind === 'release') outcomes.set(item.tag, { change: item.tag, ok: true });
          }
        }),
      );

      // Phase 2: assignments (a move whose release failed is not attempted).
      await Promise.all(
        [...assigns.values()].map(async ({ target, items }) => {
          const todo = items
            .filter((i) => !outcomes.has(i.tag))
            .map((i): Item => {
              const publicAddress = i.edit.kind === 'add' ? carried.get(i.edit.ip) : undefined;
              return i.edit.kind === 'add' && !i.edit.publicAddress && publicAddress && moveHalf.has(i.tag)
                ? { tag: i.tag, edit: { ...i.edit, publicAddress } }
                : i;
            });
          if (todo.length === 0) return;
          const { errors, allocated } = await nics.update(target, todo, signal);
          for (const item of todo) {
            const error = errors.get(item);
            const ips = allocated.get(item);
            if (error) fail(item.tag, error);
            else
              outcomes.set(
                item.tag,
                ips ? { change: item.tag, ok: true, allocated: ips } : { change: item.tag, ok: true },
              );
          }
        }),
      );

      return {
        outcomes: plan.changes.map(
          (c) =>
            outcomes.get(c) ?? {
              change: c,
              ok: false,
              error: new ProviderError('terminal', `change for ${c.node.name} was not carried out`),
            },
        ),
      };
    },
  };
}
