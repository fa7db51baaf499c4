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
 *  phase 2, assignments, NICs in parallel: the same, adding; a move adds only once its release is done
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
import type { NetworkInterface } from '@azure/arm-network';
import pRetry from 'p-retry';
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
import { classifyAzureError } from './errors.ts';
import { IP_CONFIGURATIONS_PER_NIC, isOwned, type NicEdit, planNicEdits, primaryOf } from './ip-configs.ts';
import { KeyedLock } from './nic-lock.ts';
import { type NicRef, parseNicId, parseProviderID, parseSubnetId } from './resource-id.ts';

/** Retry settings (p-retry, exponential with jitter). */
export interface RetrySettings {
  /** Retries after the first attempt (default 8). */
  readonly retries?: number;
  /** First backoff (default 250 ms). */
  readonly minTimeoutMs?: number;
  /** Longest backoff (default 10,000 ms). */
  readonly maxTimeoutMs?: number;
  /** Longest `Retry-After` honoured (default 30,000 ms). */
  readonly maxRetryAfterMs?: number;
}

/** What the provider is built from. */
export interface AzureProviderDeps {
  /** The Azure calls of one subscription (the SDK seam). */
  readonly api: AzureApiFactory;
  readonly retry?: RetrySettings;
  readonly logger?: Logger;
}

/** A node resolved to its NIC. */
interface ResolvedNode {
  readonly node: NodeRef;
  readonly nic: NicRef;
  readonly zone: string;
}

/** One change's part in a NIC update. */
interface NicItem {
  readonly change: Change;
  readonly edit: NicEdit;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

/** An IP, as a whole word, in a message. */
const mentions = (message: string, ip: string) =>
  new RegExp(`(^|[^0-9A-Za-z.:])${ip.replace(/[.]/g, '\\.')}($|[^0-9A-Za-z:]|\\.(\\s|$))`).test(message);

/** Creates the Azure provider over an {@link AzureApiFactory}. */
export function createAzureProviderWith(settings: ProviderSettings, deps: AzureProviderDeps): CloudProvider {
  const owner = settings.owner;
  const locks = new KeyedLock();
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
  const retry = {
    retries: deps.retry?.retries ?? 8,
    minTimeout: deps.retry?.minTimeoutMs ?? 250,
    maxTimeout: deps.retry?.maxTimeoutMs ?? 10_000,
    maxRetryAfterMs: deps.retry?.maxRetryAfterMs ?? 30_000,
  };

  /** Runs `fn` with classified errors, retried while the error is retryable. */
  const withRetry = <T>(context: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> =>
    pRetry(
      async () => {
        try {
          return await fn();
        } catch (err) {
          throw classifyAzureError(err, context);
        }
      },
      {
        retries: retry.retries,
        minTimeout: retry.minTimeout,
        maxTimeout: retry.maxTimeout,
        factor: 2,
        randomize: true,
        ...(signal ? { signal } : {}),
        onFailedAttempt: async ({ error, retriesLeft, attemptNumber }) => {
          const e = error as ProviderError;
          deps.logger?.debug(
            { err: e, kind: e.kind, attemptNumber, retriesLeft },
            `${context}: attempt failed`,
          );
          if (retriesLeft > 0 && e.retryable && e.retryAfterMs) {
            await sleep(Math.min(e.retryAfterMs, retry.maxRetryAfterMs), signal);
          }
        },
        shouldRetry: ({ error }) => isProviderError(error) && error.retryable,
      },
    );

  const resolve = async (node: NodeRef, signal?: AbortSignal): Promise<ResolvedNode> => {
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

  const subnetPrefixes = async (nic: NetworkInterface, where: string, signal?: AbortSignal) => {
    const subnetId = primaryOf(nic.ipConfigurations ?? []).subnet?.id;
    const subnet = subnetId ? parseSubnetId(subnetId) : undefined;
    if (!subnet) throw new ProviderError('terminal', `${where}: the primary ipConfiguration names no subnet`);
    return {
      subnetId: subnetId!,
      prefixes: await apiFor(subnet.subscriptionId).getSubnetPrefixes(subnet, signal),
    };
  };

  /**
   * One NIC's read-modify-write for a batch of edits, under the NIC's lock. Returns the error of each edit
   * that failed (absent = done) and the public IPs of removed ipConfigurations.
   */
  const updateNic = (target: ResolvedNode, items: readonly NicItem[], signal?: AbortSignal) =>
    locks.run(target.nic.id.toLowerCase(), async () => {
      const where = `NIC ${target.nic.name} (node ${target.node.name})`;
      const api = apiFor(target.nic.subscriptionId);
      const errors = new Map<NicItem, ProviderError>();
      const removedPublic = new Map<string, string>();
      let pending = [...items];
      while (pending.length > 0) {
        let planned = new Map<NicItem, ProviderError>();
        try {
          await withRetry(
            `${where}: update`,
            async () => {
              const nic = await api.getNic(target.nic, signal);
              if (nic.provisioningState === 'Updating') {
                // Another operation is still running on the NIC: wait for it rather than be told 409.
                throw new ProviderError('conflict', `${where}: the NIC is still updating`, {
                  code: 'NicUpdating',
                });
              }
              const adds = pending.some((i) => i.edit.kind === 'add');
              const prefixes = adds ? (await subnetPrefixes(nic, where, signal)).prefixes : [];
              const plan = planNicEdits({
                owner,
                where,
                ipConfigurations: nic.ipConfigurations ?? [],
                subnetPrefixes: prefixes,
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
              await api.putNic(
                target.nic,
                { ...nic, ipConfigurations: plan.ipConfigurations },
                nic.etag ?? '*',
                signal,
              );
            },
            signal,
          );
          for (const [item, error] of planned) errors.set(item, error);
          return { errors, removedPublic };
        } catch (err) {
          const error = classifyAzureError(err, `${where}: update`);
          const written = pending.filter((i) => !planned.has(i));
          // ARM refused the batch for one of its IPs: fail that change and write the rest again.
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
          return { errors, removedPublic };
        }
      }
      return { errors, removedPublic };
    });

  const readNic = async (target: ResolvedNode, signal?: AbortSignal) =>
    withRetry(
      `NIC ${target.nic.name} (node ${target.node.name}): get`,
      () => apiFor(target.nic.subscriptionId).getNic(target.nic, signal),
      signal,
    );

  return {
    name: 'azure',

    async describeNode(node, signal) {
      const target = await resolve(node, signal);
      const nic = await readNic(target, signal);
      const configs = nic.ipConfigurations ?? [];
      const where = `NIC ${target.nic.name} (node ${node.name})`;
      const { prefixes } = await withRetry(
        `${where}: subnet get`,
        () => subnetPrefixes(nic, where, signal),
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
            const nic = await readNic(target, signal);
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
      const resolved = new Map<string, Promise<ResolvedNode>>();
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

      type Batch = { target: ResolvedNode; items: NicItem[] };
      const releases = new Map<string, Batch>();
      const assigns = new Map<string, Batch>();
      const add = (batches: Map<string, Batch>, target: ResolvedNode, item: NicItem) => {
        const k = target.nic.id.toLowerCase();
        const batch = batches.get(k) ?? { target, items: [] };
        batch.items.push(item);
        batches.set(k, batch);
      };
      const moveHalf = new Map<Change, NicItem>();

      await Promise.all(
        plan.changes.map(async (change) => {
          if (change.kind === 'allocate') {
            fail(
              change,
              new ProviderError(
                'terminal',
                `node ${change.node.name}: the Azure provider assigns explicit IPs only; list the egress IPs (allocate is not supported)`,
                { code: 'AllocateUnsupported' },
              ),
            );
            return;
          }
          const to = await settle(change.node);
          if (!to.target) return fail(change, to.error!);
          if (change.kind === 'release') {
            add(releases, to.target, { change, edit: { kind: 'remove', ip: change.ip } });
            return;
          }
          if (change.from) {
            const from = await settle(change.from);
            if (from.error && from.error.kind !== 'notFound') return fail(change, from.error);
            if (from.target && from.target.nic.id.toLowerCase() !== to.target.nic.id.toLowerCase()) {
              const item: NicItem = { change, edit: { kind: 'remove', ip: change.ip } };
              moveHalf.set(change, item);
              add(releases, from.target, item);
            }
          }
          add(assigns, to.target, {
            change,
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
          const { errors, removedPublic } = await updateNic(target, items, signal);
          for (const [ip, id] of removedPublic) carried.set(ip, id);
          for (const item of items) {
            const error = errors.get(item);
            if (error) fail(item.change, error);
            else if (item.change.kind === 'release')
              outcomes.set(item.change, { change: item.change, ok: true });
          }
        }),
      );

      // Phase 2: assignments (a move whose release failed is not attempted).
      await Promise.all(
        [...assigns.values()].map(async ({ target, items }) => {
          const todo = items
            .filter((i) => !outcomes.has(i.change))
            .map((i): NicItem => {
              const publicAddress = carried.get(i.edit.ip);
              return i.edit.kind === 'add' && !i.edit.publicAddress && publicAddress && moveHalf.has(i.change)
                ? { change: i.change, edit: { ...i.edit, publicAddress } }
                : i;
            });
          if (todo.length === 0) return;
          const { errors } = await updateNic(target, todo, signal);
          for (const item of todo) {
            const error = errors.get(item);
            if (error) fail(item.change, error);
            else outcomes.set(item.change, { change: item.change, ok: true });
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
