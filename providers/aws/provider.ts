/**
 * @module
 * The AWS provider: egress IPs are secondary private IPs of a gateway node's ENI.
 *
 * ```
 * apply(plan)
 *   resolve each node: providerID -> DescribeInstances -> ENI (device index, or by tag)
 *   releases, per ENI (serialised, retried):  read ENI -> decideReleases -> UnassignPrivateIpAddresses
 *                                             (+ UnassignIpv6Addresses) -> DeleteTags
 *   then assigns, per ENI (serialised, retried): read ENI + holders -> decideAssigns ->
 *        CreateTags (claim first) -> ONE AssignPrivateIpAddresses(AllowReassignment) with every IP moving here
 *        -> IPv6: UnassignIpv6Addresses on the old holder, AssignIpv6Addresses here
 *        -> allocate: AssignPrivateIpAddresses(SecondaryPrivateIpAddressCount) -> CreateTags on the IPs EC2 picked
 *        -> Elastic IPs: AssociateAddress(PrivateIpAddress, AllowReassociation) where not yet associated
 *        -> DeleteTags on the ENIs the IPs left
 * ```
 *
 * The ownership tag is written before the IP is assigned, so a crash between the two leaves a harmless tag,
 * never an untagged (foreign-looking, stuck) egress IP. Each ENI's step re-reads the ENI when retried, so a
 * call whose response was lost is not repeated blindly.
 */
import type { Instance } from '@aws-sdk/client-ec2';
import { familyOf } from '../../src/net/ip.ts';
import {
  type ApplyResult,
  type Change,
  type ChangeOutcome,
  type CloudAssignment,
  type CloudProvider,
  type NodeNetwork,
  type NodeRef,
  type Plan,
  ProviderError,
  type ProviderSettings,
} from '../../src/provider/contract.ts';
import { type AssignRequest, decideAssigns, decideReleases, type EniLimits } from './decide.ts';
import type { Ec2Api } from './ec2-api.ts';
import {
  claimedIPs,
  type EniView,
  eniView,
  holds,
  ownedIPs,
  ownershipTagUpdate,
  reservedIPs,
} from './eni.ts';
import { toProviderError } from './errors.ts';
import { KeyedLock } from './keyed-lock.ts';
import { parseAwsProviderID, regionOfZone } from './provider-id.ts';
import { DEFAULT_RETRY, type RetryOptions, withRetry } from './retry.ts';

/** Options beyond the shared {@link ProviderSettings}. */
export interface AwsProviderOptions {
  /** The EC2 API of a region (already rate-limited and classifying errors). */
  readonly ec2For: (region: string) => Ec2Api;
  /** Backoff of each ENI's step. */
  readonly retry?: Partial<RetryOptions>;
}

/** A node resolved to its instance and egress ENI. */
interface ResolvedNode {
  readonly node: NodeRef;
  readonly api: Ec2Api;
  readonly instanceId: string;
  readonly instanceType: string;
  readonly eniId: string;
}

const MAX_FILTER_VALUES = 200;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Creates the AWS provider over injected EC2 APIs. */
export function createAwsProviderWith(
  settings: ProviderSettings,
  options: AwsProviderOptions,
): CloudProvider {
  const owner = settings.owner;
  const retry: RetryOptions = { ...DEFAULT_RETRY, ...options.retry };
  const locks = new KeyedLock();
  const subnetCache = new Map<string, Promise<string[]>>();
  const limitCache = new Map<string, Promise<EniLimits>>();

  const apiFor = (node: NodeRef) => {
    const { zone, instanceId } = parseAwsProviderID(node.name, node.providerID);
    return { api: options.ec2For(settings.region ?? regionOfZone(zone)), instanceId };
  };

  async function pickEni(
    api: Ec2Api,
    node: NodeRef,
    instance: Instance,
    signal?: AbortSignal,
  ): Promise<string> {
    if (settings.interfaceTag) {
      const eq = settings.interfaceTag.indexOf('=');
      const [key, value] =
        eq < 0
          ? [settings.interfaceTag, undefined]
          : [settings.interfaceTag.slice(0, eq), settings.interfaceTag.slice(eq + 1)];
      const res = await api.describeNetworkInterfaces(
        {
          Filters: [
            { Name: 'attachment.instance-id', Values: [instance.InstanceId!] },
            value === undefined
              ? { Name: 'tag-key', Values: [key] }
              : { Name: `tag:${key}`, Values: [value] },
          ],
        },
        signal,
      );
      const id = res.NetworkInterfaces?.[0]?.NetworkInterfaceId;
      if (!id) {
        throw new ProviderError(
          'notFound',
          `node ${node.name}: instance ${instance.InstanceId} has no ENI tagged ${settings.interfaceTag}`,
        );
      }
      return id;
    }
    const index = Number(settings.interface ?? '0');
    const id = instance.NetworkInterfaces?.find(
      (n) => n.Attachment?.DeviceIndex === index,
    )?.NetworkInterfaceId;
    if (!id) {
      throw new ProviderError(
        'notFound',
        `node ${node.name}: instance ${instance.InstanceId} has no ENI at device index ${index}`,
      );
    }
    return id;
  }

  async function resolve(node: NodeRef, signal?: AbortSignal): Promise<ResolvedNode> {
    const { api, instanceId } = apiFor(node);
    return withRetry(
      async () => {
        const res = await api.describeInstances({ InstanceIds: [instanceId] }, signal);
        const instance = res.Reservations?.flatMap((r) => r.Instances ?? []).find(
          (i) => i.InstanceId === instanceId,
        );
        const state = instance?.State?.Name;
        if (!instance || state === 'terminated' || state === 'shutting-down') {
          throw new ProviderError(
            'notFound',
            `node ${node.name}: instance ${instanceId} not found (${state ?? 'absent'})`,
          );
        }
        return {
          node,
          api,
          instanceId,
          instanceType: instance.InstanceType ?? '',
          eniId: await pickEni(api, node, instance, signal),
        };
      },
      retry,
      signal,
    );
  }

  async function readEni(r: ResolvedNode, signal?: AbortSignal): Promise<EniView> {
    const res = await r.api.describeNetworkInterfaces({ NetworkInterfaceIds: [r.eniId] }, signal);
    const eni = res.NetworkInterfaces?.[0];
    if (!eni) throw new ProviderError('notFound', `node ${r.node.name}: ENI ${r.eniId} not found`);
    return eniView(eni);
  }

  function subnetsOf(r: ResolvedNode, subnetId: string, signal?: AbortSignal): Promise<string[]> {
    let cached = subnetCache.get(subnetId);
    if (!cached) {
      cached = r.api.describeSubnets({ SubnetIds: [subnetId] }, signal).then((res) => {
        const s = res.Subnets?.[0];
        if (!s) throw new ProviderError('notFound', `subnet ${subnetId} not found`);
        return [
          ...(s.CidrBlock ? [s.CidrBlock] : []),
          ...(s.Ipv6CidrBlockAssociationSet ?? [])
            .map((a) => a.Ipv6CidrBlock)
            .filter((c): c is string => !!c),
        ];
      });
      cached.catch(() => subnetCache.delete(subnetId));
      subnetCache.set(subnetId, cached);
    }
    return cached;
  }

  function limitsOf(r: ResolvedNode, signal?: AbortSignal): Promise<EniLimits> {
    let cached = limitCache.get(r.instanceType);
    if (!cached) {
      cached = r.api
        .describeInstanceTypes({ InstanceTypes: [r.instanceType as never] }, signal)
        .then((res) => {
          const info = res.InstanceTypes?.[0]?.NetworkInfo;
          if (!info?.Ipv4AddressesPerInterface) {
            throw new ProviderError(
              'terminal',
              `instance type ${r.instanceType}: no IPv4 addresses per interface`,
            );
          }
          return { ipv4: info.Ipv4AddressesPerInterface, ipv6: info.Ipv6AddressesPerInterface ?? 0 };
        });
      cached.catch(() => limitCache.delete(r.instanceType));
      limitCache.set(r.instanceType, cached);
    }
    return cached;
  }

  /** The ENIs (other than `except`) holding any of `ips`, by IP. */
  async function holdersOf(
    r: ResolvedNode,
    eni: EniView,
    ips: readonly string[],
    signal?: AbortSignal,
  ): Promise<Map<string, EniView>> {
    const out = new Map<string, EniView>();
    const v4 = ips.filter((ip) => familyOf(ip) === 4);
    const v6 = ips.filter((ip) => familyOf(ip) === 6);
    for (const part of chunks(v4, MAX_FILTER_VALUES)) {
      const res = await r.api.describeNetworkInterfaces(
        { Filters: [{ Name: 'addresses.private-ip-address', Values: part }] },
        signal,
      );
      for (const raw of res.NetworkInterfaces ?? []) {
        const view = eniView(raw);
        if (view.id === eni.id) continue;
        for (const ip of part) if (view.ipv4.includes(ip)) out.set(ip, view);
      }
    }
    if (v6.length > 0) {
      const res = await r.api.describeNetworkInterfaces(
        { Filters: [{ Name: 'vpc-id', Values: [eni.vpcId] }] },
        signal,
      );
      for (const raw of res.NetworkInterfaces ?? []) {
        const view = eniView(raw);
        if (view.id === eni.id) continue;
        for (const ip of v6) if (view.ipv6.includes(ip)) out.set(ip, view);
      }
    }
    return out;
  }

  /** The IPs our ownership tags name that the ENI still holds. */
  const heldClaims = (eni: EniView) =>
    [...claimedIPs(eni.tags, owner)].filter((ip) => ip !== eni.primary && holds(eni, ip));

  /** Makes the ENI's ownership tags record exactly `ips`: at most one CreateTags and one DeleteTags. */
  async function writeClaims(api: Ec2Api, eni: EniView, ips: Iterable<string>, signal?: AbortSignal) {
    const { write, remove } = ownershipTagUpdate(eni, owner, ips);
    if (write.length > 0) await api.createTags({ Resources: [eni.id], Tags: write }, signal);
    if (remove.length > 0) {
      await api.deleteTags({ Resources: [eni.id], Tags: remove.map((Key) => ({ Key })) }, signal);
    }
  }

  /** After IPs moved off an ENI: drop them from its ownership tags (best effort; never read as ownership). */
  async function releaseClaims(api: Ec2Api, eniId: string, signal?: AbortSignal) {
    try {
      await locks.run(eniId, async () => {
        const res = await api.describeNetworkInterfaces({ NetworkInterfaceIds: [eniId] }, signal);
        const raw = res.NetworkInterfaces?.[0];
        if (!raw) return;
        const eni = eniView(raw);
        await writeClaims(api, eni, heldClaims(eni), signal);
      });
    } catch {
      // A claim on an IP the ENI no longer holds is ignored and rewritten at that ENI's next change.
    }
  }

  type Indexed = { readonly change: Change; readonly index: number };

  async function releaseStep(r: ResolvedNode, items: readonly Indexed[], signal?: AbortSignal) {
    const ips = items.map((it) => (it.change.kind === 'release' ? it.change.ip : ''));
    const outcomes = new Map<number, ChangeOutcome>();
    await withRetry(
      async () => {
        const eni = await readEni(r, signal);
        const decision = decideReleases(eni, owner, ips);
        if (decision.ipv4.length > 0) {
          await r.api.unassignPrivateIpAddresses(
            { NetworkInterfaceId: eni.id, PrivateIpAddresses: [...decision.ipv4] },
            signal,
          );
        }
        if (decision.ipv6.length > 0) {
          await r.api.unassignIpv6Addresses(
            { NetworkInterfaceId: eni.id, Ipv6Addresses: [...decision.ipv6] },
            signal,
          );
        }
        const released = new Set([...decision.ipv4, ...decision.ipv6]);
        await writeClaims(
          r.api,
          eni,
          heldClaims(eni).filter((ip) => !released.has(ip)),
          signal,
        );
        items.forEach((it, i) => {
          const error = decision.failures.get(i);
          outcomes.set(
            it.index,
            error ? { change: it.change, ok: false, error } : { change: it.change, ok: true },
          );
        });
      },
      retry,
      signal,
    );
    return outcomes;
  }

  async function associateEips(
    r: ResolvedNode,
    eniId: string,
    pairs: readonly { ip: string; allocationId: string }[],
    signal?: AbortSignal,
  ): Promise<Map<string, ProviderError>> {
    const failures = new Map<string, ProviderError>();
    if (pairs.length === 0) return failures;
    const res = await r.api.describeAddresses({ AllocationIds: pairs.map((p) => p.allocationId) }, signal);
    for (const { ip, allocationId } of pairs) {
      const addr = res.Addresses?.find((a) => a.AllocationId === allocationId);
      if (addr?.NetworkInterfaceId === eniId && addr.PrivateIpAddress === ip) continue;
      try {
        await r.api.associateAddress(
          {
            AllocationId: allocationId,
            NetworkInterfaceId: eniId,
            PrivateIpAddress: ip,
            AllowReassociation: true,
          },
          signal,
        );
      } catch (err) {
        const error = toProviderError(err, `associating ${allocationId} with ${ip} on ${eniId}`);
        if (error.retryable) throw error;
        failures.set(ip, error);
      }
    }
    return failures;
  }

  async function assignStep(
    r: ResolvedNode,
    items: readonly Indexed[],
    signal: AbortSignal | undefined,
    movedFrom: Map<string, Ec2Api>,
  ) {
    const requests: AssignRequest[] = items.map((it) =>
      it.change.kind === 'allocate'
        ? { kind: 'allocate', count: it.change.count }
        : { kind: 'assign', ip: (it.change as { ip: string }).ip },
    );
    const outcomes = new Map<number, ChangeOutcome>();
    const requestedIps = new Set(requests.flatMap((q) => (q.kind === 'assign' ? [q.ip] : [])));
    // IPs EC2 picked for `allocate` in an earlier attempt whose response may have been lost.
    let allocBaseline: Set<string> | undefined;
    await withRetry(
      async () => {
        const eni = await readEni(r, signal);
        const [subnets, limits] = await Promise.all([
          subnetsOf(r, eni.subnetId, signal),
          limitsOf(r, signal),
        ]);
        const wanted = requests.flatMap((q) =>
          q.kind === 'assign' && !eni.ipv4.includes(q.ip) && !eni.ipv6.includes(q.ip) ? [q.ip] : [],
        );
        const holders = await holdersOf(r, eni, wanted, signal);
        allocBaseline ??= new Set(eni.ipv4);
        const alreadyAllocated = eni.ipv4.filter((ip) => !allocBaseline!.has(ip) && !requestedIps.has(ip));
        const pending = requests.map((q) =>
          q.kind === 'allocate' ? { kind: 'allocate' as const, count: 0 } : q,
        );
        const allocTotal = requests.reduce((n, q) => n + (q.kind === 'allocate' ? q.count : 0), 0);
        const allocRemaining = Math.max(0, allocTotal - alreadyAllocated.length);
        const firstAlloc = requests.findIndex((q) => q.kind === 'allocate');
        if (firstAlloc >= 0) pending[firstAlloc] = { kind: 'allocate', count: allocRemaining };
        const decision = decideAssigns(eni, subnets, limits, owner, pending, holders);

        const moving = [...decision.ipv4, ...decision.ipv6];
        // Claim first: a crash after this leaves a claim on an IP the ENI does not hold (ignored), never
        // an untagged egress IP that would look like another tool's.
        await writeClaims(r.api, eni, [...heldClaims(eni), ...moving], signal);
        if (decision.ipv4.length > 0) {
          await r.api.assignPrivateIpAddresses(
            { NetworkInterfaceId: eni.id, PrivateIpAddresses: [...decision.ipv4], AllowReassignment: true },
            signal,
          );
        }
        if (decision.ipv6.length > 0) {
          for (const [holderId, ips] of decision.movesFrom) {
            const v6 = ips.filter((ip) => familyOf(ip) === 6);
            if (v6.length > 0)
              await r.api.unassignIpv6Addresses({ NetworkInterfaceId: holderId, Ipv6Addresses: v6 }, signal);
          }
          await r.api.assignIpv6Addresses(
            { NetworkInterfaceId: eni.id, Ipv6Addresses: [...decision.ipv6] },
            signal,
          );
        }
        let allocated = alreadyAllocated;
        if (decision.allocate > 0) {
          await r.api.assignPrivateIpAddresses(
            { NetworkInterfaceId: eni.id, SecondaryPrivateIpAddressCount: decision.allocate },
            signal,
          );
        }
        if (firstAlloc >= 0 && !decision.failures.has(firstAlloc)) {
          const after = await readEni(r, signal);
          allocated = after.ipv4.filter((ip) => !allocBaseline!.has(ip) && !requestedIps.has(ip));
          await writeClaims(r.api, after, [...heldClaims(after), ...allocated], signal);
        }
        const eipFailures = await associateEips(
          r,
          eni.id,
          items.flatMap((it, i) =>
            it.change.kind === 'assign' && it.change.publicAddress && !decision.failures.has(i)
              ? [{ ip: it.change.ip, allocationId: it.change.publicAddress }]
              : [],
          ),
          signal,
        );
        for (const holderId of decision.movesFrom.keys()) movedFrom.set(holderId, r.api);

        // Allocations are reported on the first allocate change; later ones share the same call.
        items.forEach((it, i) => {
          const error =
            decision.failures.get(i) ??
            (it.change.kind === 'assign' ? eipFailures.get(it.change.ip) : undefined);
          if (error) outcomes.set(it.index, { change: it.change, ok: false, error });
          else if (it.change.kind === 'allocate') {
            const before = items.slice(0, i).filter((x) => x.change.kind === 'allocate');
            const skip = before.reduce((n, x) => n + (x.change.kind === 'allocate' ? x.change.count : 0), 0);
            outcomes.set(it.index, {
              change: it.change,
              ok: true,
              allocated: allocated.slice(skip, skip + it.change.count),
            });
          } else outcomes.set(it.index, { change: it.change, ok: true });
        });
      },
      retry,
      signal,
    );
    return outcomes;
  }

  /** Runs one ENI's step; every change of the step fails with the step's error if it cannot finish. */
  async function runGroup(
    r: ResolvedNode,
    items: readonly Indexed[],
    step: (
      r: ResolvedNode,
      items: readonly Indexed[],
      signal?: AbortSignal,
    ) => Promise<Map<number, ChangeOutcome>>,
    outcomes: Map<number, ChangeOutcome>,
    signal?: AbortSignal,
  ) {
    try {
      const done = await locks.run(r.eniId, () => step(r, items, signal));
      for (const [i, o] of done) outcomes.set(i, o);
    } catch (err) {
      const error = toProviderError(err, `node ${r.node.name} (${r.eniId})`);
      for (const it of items) outcomes.set(it.index, { change: it.change, ok: false, error });
    }
  }

  return {
    name: 'aws',

    async describeNode(node, signal) {
      const r = await resolve(node, signal);
      return withRetry(
        async () => {
          const eni = await readEni(r, signal);
          const [subnets, limits] = await Promise.all([
            subnetsOf(r, eni.subnetId, signal),
            limitsOf(r, signal),
          ]);
          const network: NodeNetwork = {
            node: node.name,
            interfaceId: eni.id,
            zone: eni.zone,
            subnets,
            reservedIPs: reservedIPs(eni, owner),
            ownedIPs: ownedIPs(eni, owner),
            freeSlots: Math.max(0, limits.ipv4 - eni.ipv4.length),
          };
          return network;
        },
        retry,
        signal,
      );
    },

    async listAssignments(nodes, signal) {
      const lists = await Promise.all(
        nodes.map(async (node): Promise<CloudAssignment[]> => {
          let r: ResolvedNode;
          try {
            r = await resolve(node, signal);
          } catch (err) {
            if (err instanceof ProviderError && err.kind === 'notFound') return [];
            throw err;
          }
          return withRetry(
            async () => {
              const eni = await readEni(r, signal);
              const mine = ownedIPs(eni, owner);
              if (mine.length === 0) return [];
              const eips = await r.api.describeAddresses(
                { Filters: [{ Name: 'network-interface-id', Values: [eni.id] }] },
                signal,
              );
              return mine.map((ip) => {
                const eip = eips.Addresses?.find((a) => a.PrivateIpAddress === ip);
                return {
                  ip,
                  node: node.name,
                  interfaceId: eni.id,
                  ...(eip?.AllocationId ? { publicAddress: eip.AllocationId } : {}),
                };
              });
            },
            retry,
            signal,
          );
        }),
      );
      return lists.flat();
    },

    async apply(plan: Plan, signal?: AbortSignal): Promise<ApplyResult> {
      const outcomes = new Map<number, ChangeOutcome>();
      const resolved = new Map<string, Promise<ResolvedNode>>();
      const resolveOnce = (node: NodeRef) => {
        let p = resolved.get(node.providerID);
        if (!p) {
          p = resolve(node, signal);
          resolved.set(node.providerID, p);
        }
        return p;
      };
      const releases = new Map<string, { r: ResolvedNode; items: Indexed[] }>();
      const assigns = new Map<string, { r: ResolvedNode; items: Indexed[] }>();
      await Promise.all(
        plan.changes.map(async (change, index) => {
          try {
            if (change.kind !== 'allocate') familyOf(change.ip);
            const r = await resolveOnce(change.node);
            const groups = change.kind === 'release' ? releases : assigns;
            const group = groups.get(r.eniId) ?? { r, items: [] };
            group.items.push({ change, index });
            groups.set(r.eniId, group);
          } catch (err) {
            outcomes.set(index, {
              change,
              ok: false,
              error: toProviderError(err, `node ${change.node.name}`),
            });
          }
        }),
      );
      const byIndex = (g: { items: Indexed[] }) => g.items.sort((x, y) => x.index - y.index);
      await Promise.all(
        [...releases.values()].map((g) => runGroup(g.r, byIndex(g), releaseStep, outcomes, signal)),
      );
      const movedFrom = new Map<string, Ec2Api>();
      await Promise.all(
        [...assigns.values()].map((g) =>
          runGroup(
            g.r,
            byIndex(g),
            (r, items, sig) => assignStep(r, items, sig, movedFrom),
            outcomes,
            signal,
          ),
        ),
      );
      // One tag rewrite per ENI the IPs left, after every move (several targets may have taken from it).
      await Promise.all([...movedFrom].map(([eniId, api]) => releaseClaims(api, eniId, signal)));
      return { outcomes: plan.changes.map((change, i) => outcomes.get(i) ?? { change, ok: true }) };
    },
  };
}
