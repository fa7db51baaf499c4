/**
 * @module
 * The GCP provider: egress IPs are `/32` alias IP ranges from the secondary range `cloud-egress-<owner>`
 * on the node's network interface (`nic0` unless `settings.interface` names another).
 *
 * `apply(plan)` runs in two phases; within a phase, NICs proceed in parallel:
 *
 * ```
 * changes ──► phase 1: releases, and the release half of every move, one write per source NIC
 *         │        read NIC (fingerprint) ─► planReleases ─► updateNetworkInterface ─► wait until DONE
 *         └─► phase 2: assignments and allocations, one write per target NIC
 *                  read NIC (fingerprint) + subnetwork ─► planAssignments ─► updateNetworkInterface ─► wait until DONE
 * ```
 *
 * Each NIC's read-modify-write holds that NIC's lock ({@link KeyedLock}) and is retried with p-retry
 * (exponential backoff with jitter) on `conflict` (412: re-read, re-plan), `throttled` and `transient`.
 * An operation is waited on until DONE: `zoneOperations.wait` may return earlier, so it is called again.
 * A move is never one call on GCP: the source NIC's removal must be DONE before the target NIC may take the
 * IP (GCP refuses an IP another NIC holds). A source instance that no longer exists counts as released.
 */
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
import { KeyedLock } from '../../src/provider/keyed-lock.ts';
import { withRetry } from '../../src/provider/retry.ts';
import type { ComputeApi, GceNic, GceOperation, GceSubnetwork, InstanceKey } from './client.ts';
import { gcpProvider } from './descriptor.ts';
import { classifyGcpError, operationError } from './errors.ts';
import {
  egressRangeCidr,
  egressRangeName,
  MAX_ALIAS_RANGES,
  type NicContext,
  type NicDecision,
  ownedIPs,
  planAssignments,
  planReleases,
  reservedIPs,
} from './nic-plan.ts';
import { instanceOf, parseSubnetworkUrl } from './provider-id.ts';

/** Tuning of retries and operation polling (tests shorten them). */
export interface GcpProviderOptions {
  /** Retries of one NIC's read-modify-write or one read; default 6. */
  readonly retries?: number;
  /** Base retry delay in ms (full jitter, doubling; five times that after throttling); default 200. */
  readonly minRetryDelayMs?: number;
  /** Longest retry delay in ms; default 5,000. */
  readonly maxRetryDelayMs?: number;
  /** Pause after a `wait` that returned before DONE, in ms; default 250. */
  readonly pollIntervalMs?: number;
  /** Give up waiting for one operation after this many ms (`transient`); default 180,000. */
  readonly operationTimeoutMs?: number;
}

/** The GCP provider, with `close` for its clients. */
export interface GcpProvider extends CloudProvider {
  close(): Promise<void>;
}

interface Group {
  readonly node: NodeRef;
  readonly ips: Map<Change, string>;
  readonly counts: Map<Change, number>;
}

/** Instances read at once by `listAssignments` (each is one `instances.get`). */
const LIST_CONCURRENCY = 8;

/** Maps `items` through `fn` with at most `limit` calls in flight; results in input order. */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const keyOf = (k: InstanceKey) => `${k.project}/${k.zone}/${k.instance}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Creates the provider over a {@link ComputeApi} (the real SDK clients, or an emulator's). */
export function createGcpProviderFor(
  api: ComputeApi,
  settings: ProviderSettings,
  options: GcpProviderOptions = {},
): GcpProvider {
  // `settings.interface` is a NIC name (`nic1`); a bare index (`1`) means the same NIC.
  const nicName = settings.interface ? settings.interface.replace(/^(\d+)$/, 'nic$1') : 'nic0';
  const rangeName = egressRangeName(settings.owner);
  const locks = new KeyedLock();
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const operationTimeoutMs = options.operationTimeoutMs ?? 180_000;

  const retryOptions = {
    retries: options.retries ?? 6,
    baseDelayMs: options.minRetryDelayMs ?? 200,
    throttledBaseDelayMs: (options.minRetryDelayMs ?? 200) * 5,
    maxDelayMs: options.maxRetryDelayMs ?? 5_000,
  };
  const retrying = <T>(work: () => Promise<T>, signal?: AbortSignal) => withRetry(work, retryOptions, signal);

  const call = async <T>(doing: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      throw classifyGcpError(err, doing);
    }
  };

  const readNic = async (node: NodeRef, signal?: AbortSignal): Promise<{ key: InstanceKey; nic: GceNic }> => {
    const key = instanceOf(node);
    const inst = await call(`reading instance ${keyOf(key)} (node ${node.name})`, () =>
      api.getInstance(key, signal),
    );
    const nic = inst.networkInterfaces.find((n) => n.name === nicName);
    if (!nic) {
      throw new ProviderError(
        'notFound',
        `node ${node.name}: instance ${keyOf(key)} has no network interface ${nicName}`,
      );
    }
    return { key, nic };
  };

  const readSubnet = (nic: GceNic, signal?: AbortSignal): Promise<GceSubnetwork> => {
    const { project, region, name } = parseSubnetworkUrl(nic.subnetwork);
    return call(`reading subnetwork ${project}/${region}/${name}`, () =>
      api.getSubnetwork(project, region, name, signal),
    );
  };

  const waitDone = async (key: InstanceKey, first: GceOperation, doing: string, signal?: AbortSignal) => {
    const deadline = Date.now() + operationTimeoutMs;
    let op = first;
    while (op.status !== 'DONE') {
      if (Date.now() > deadline) {
        throw new ProviderError(
          'transient',
          `${doing}: operation ${op.name} not DONE after ${operationTimeoutMs} ms`,
        );
      }
      const name = op.name;
      op = await call(`${doing}: waiting for operation ${name}`, () =>
        api.waitOperation(key.project, key.zone, name, signal),
      );
      if (op.status !== 'DONE') await sleep(pollIntervalMs);
    }
    if (op.errors.length) throw operationError(op.errors, doing);
  };

  /** One NIC's locked, retried read-modify-write; returns the decision of the attempt that succeeded. */
  const readModifyWrite = <K>(
    node: NodeRef,
    decide: (ctx: NicContext, nic: GceNic, signal?: AbortSignal) => Promise<NicDecision<K>>,
    signal?: AbortSignal,
  ) => {
    const key = instanceOf(node);
    return locks.run(`${keyOf(key)}#${nicName}`, () =>
      retrying(async () => {
        const { nic } = await readNic(node, signal);
        const decision = await decide({ nic, node: node.name, rangeName }, nic, signal);
        if (decision.aliasIpRanges) {
          const doing = `updating alias IP ranges of ${keyOf(key)} ${nicName} (node ${node.name})`;
          const update = { fingerprint: nic.fingerprint, aliasIpRanges: decision.aliasIpRanges };
          const op = await call(doing, () => api.updateAliasRanges(key, nicName, update, signal));
          await waitDone(key, op, doing, signal);
        }
        return { decision, before: nic };
      }, signal),
    );
  };

  const group = (groups: Map<string, Group>, node: NodeRef): Group => {
    const key = keyOf(instanceOf(node));
    let g = groups.get(key);
    if (!g) {
      g = { node, ips: new Map(), counts: new Map() };
      groups.set(key, g);
    }
    return g;
  };

  return {
    name: gcpProvider.name,
    capabilities: gcpProvider.capabilities,

    async describeNode(node, signal) {
      return retrying(async () => {
        const { key, nic } = await readNic(node, signal);
        const subnet = await readSubnet(nic, signal);
        const egress = egressRangeCidr(subnet, rangeName);
        const network: NodeNetwork = {
          node: node.name,
          interfaceId: `projects/${key.project}/zones/${key.zone}/instances/${key.instance}#${nic.name}`,
          zone: key.zone,
          subnets: egress ? [egress] : [],
          reservedIPs: reservedIPs(nic, rangeName),
          ownedIPs: ownedIPs(nic, rangeName),
          freeSlots: Math.max(0, MAX_ALIAS_RANGES - nic.aliasIpRanges.length),
        };
        return network;
      }, signal);
    },

    async listAssignments(nodes, signal) {
      const perNode = await mapLimited(nodes, LIST_CONCURRENCY, async (node) => {
        try {
          const { key, nic } = await retrying(() => readNic(node, signal), signal);
          const interfaceId = `projects/${key.project}/zones/${key.zone}/instances/${key.instance}#${nic.name}`;
          return ownedIPs(nic, rangeName).map(
            (ip): CloudAssignment => ({ ip, node: node.name, interfaceId }),
          );
        } catch (err) {
          if (isProviderError(err, 'notFound')) return [];
          throw err;
        }
      });
      return perNode.flat();
    },

    async apply(plan: Plan, signal?: AbortSignal): Promise<ApplyResult> {
      const outcomes = new Map<Change, ChangeOutcome>();
      const fail = (change: Change, error: ProviderError) =>
        outcomes.set(change, { change, ok: false, error });
      const succeed = (change: Change, allocated?: string[]) =>
        outcomes.set(change, allocated ? { change, ok: true, allocated } : { change, ok: true });

      const releases = new Map<string, Group>();
      const assigns = new Map<string, Group>();
      for (const change of plan.changes) {
        try {
          if (change.kind === 'release') group(releases, change.node).ips.set(change, change.ip);
          else if (change.kind === 'allocate') group(assigns, change.node).counts.set(change, change.count);
          else if (change.publicAddress) {
            fail(
              change,
              new ProviderError(
                'terminal',
                `${change.ip}: public addresses are not paired with alias IPs on GCP (an access config maps only the NIC's primary IP); use Cloud NAT on the egress range (docs/gcp.md)`,
              ),
            );
          } else {
            const target = group(assigns, change.node);
            if (change.from && keyOf(instanceOf(change.from)) !== keyOf(instanceOf(change.node))) {
              group(releases, change.from).ips.set(change, change.ip);
            }
            target.ips.set(change, change.ip);
          }
        } catch (err) {
          fail(change, classifyGcpError(err, `change for node ${change.node.name}`));
        }
      }

      // Phase 1: releases (and the release half of moves), each DONE before any assignment starts.
      await Promise.all(
        [...releases.values()].map(async (g) => {
          const pending = new Map([...g.ips].filter(([change]) => !outcomes.has(change)));
          try {
            const { decision } = await readModifyWrite(
              g.node,
              async (ctx) => planReleases(ctx, pending),
              signal,
            );
            for (const [change, error] of decision.failed) fail(change, error);
            for (const change of pending.keys())
              if (change.kind === 'release' && !outcomes.has(change)) succeed(change);
          } catch (err) {
            // An instance that is gone holds no alias ranges any more: its releases are done.
            const gone = isProviderError(err, 'notFound');
            for (const change of pending.keys()) {
              if (gone) {
                if (change.kind === 'release') succeed(change);
              } else fail(change, classifyGcpError(err, `releasing from node ${g.node.name}`));
            }
          }
        }),
      );

      // Phase 2: assignments and allocations per target NIC.
      await Promise.all(
        [...assigns.values()].map(async (g) => {
          const ips = new Map([...g.ips].filter(([change]) => !outcomes.has(change)));
          const counts = new Map([...g.counts].filter(([change]) => !outcomes.has(change)));
          while (ips.size + counts.size > 0) {
            try {
              let subnet: GceSubnetwork | undefined;
              const { decision, before } = await readModifyWrite(
                g.node,
                async (ctx, nic, sig) => {
                  subnet ??= await readSubnet(nic, sig);
                  return planAssignments(ctx, subnet, ips, counts);
                },
                signal,
              );
              for (const [change, error] of decision.failed) fail(change, error);
              const allocating = [...counts.keys()].filter((c) => !outcomes.has(c));
              if (allocating.length && decision.aliasIpRanges) {
                const { nic } = await retrying(() => readNic(g.node, signal), signal);
                const old = new Set(ownedIPs(before, rangeName));
                const fresh = ownedIPs(nic, rangeName).filter(
                  (ip) => !old.has(ip) && ![...ips.values()].includes(ip),
                );
                for (const change of allocating) succeed(change, fresh.splice(0, counts.get(change) ?? 0));
              }
              for (const change of ips.keys()) if (!outcomes.has(change)) succeed(change);
              return;
            } catch (err) {
              const error = classifyGcpError(err, `assigning on node ${g.node.name}`);
              // GCP names the one range it refused (e.g. in use by another NIC): fail that change, write the rest.
              const culprit =
                error.kind === 'terminal' && ips.size + counts.size > 1
                  ? [...ips].find(
                      ([, ip]) =>
                        error.message.includes(`'${ip}/32'`) || error.message.includes(` ${ip}/32 `),
                    )
                  : undefined;
              if (culprit) {
                fail(
                  culprit[0],
                  new ProviderError('terminal', `${culprit[1]}: ${error.message}`, { cause: error }),
                );
                ips.delete(culprit[0]);
                continue;
              }
              for (const change of [...ips.keys(), ...counts.keys()]) {
                fail(
                  change,
                  new ProviderError(
                    error.kind,
                    `${change.kind === 'assign' ? `${change.ip}: ` : ''}${error.message}`,
                    { cause: error, ...(error.code ? { code: error.code } : {}) },
                  ),
                );
              }
              return;
            }
          }
        }),
      );

      return {
        outcomes: plan.changes.map(
          (change) =>
            outcomes.get(change) ?? {
              change,
              ok: false,
              error: new ProviderError(
                'transient',
                `change for node ${change.node.name} was not carried out`,
              ),
            },
        ),
      };
    },

    close: () => api.close(),
  };
}
