/**
 * @module
 * The AWS provider: egress IPs are secondary private IPs of a gateway node's ENI.
 *
 * ```
 * listAssignments(nodes)
 *   resolve each node (cached; notFound -> the node has no assignments), group by EC2 API (region); per region,
 *   retried as one step:
 *     ONE DescribeNetworkInterfaces (filter network-interface-id: every ENI)
 *       || ONE DescribeSubnets (filter subnet-id: the resolved subnets; one more if an ENI sits in another)
 *     -> ONE DescribeAddresses (filter network-interface-id: the ENIs holding IPs we own; none if no ENI does)
 *     -> per node: owned IPs (on the ENI and claimed on its subnet) with their Elastic IPs     (assignments.ts)
 *   a node whose ENI (or subnet) is not in the answer: resolved afresh and read as a batch of one; [] if gone
 *   (filters take at most 200 values: more ids are read in parallel calls of 200)
 *
 * apply(plan)
 *   resolve each node: providerID -> DescribeInstances -> ENI (device index, or by tag)      (ec2-reader.ts)
 *        cached per node; a notFound on a cached node re-resolves it and runs its step once more
 *   releases, per ENI (serialised, retried): read ENI || subnet claims -> decideReleases ->
 *        UnassignPrivateIpAddresses (+ UnassignIpv6Addresses) -> drop the claims of IPs no ENI holds
 *   then assigns, per ENI (serialised, retried): read ENI || subnet claims (one round trip)
 *        -> holders of the IPs we do not claim (IPv6: of every IP; none for a move of claimed IPv4)
 *        -> decideAssigns
 *        -> claim IPs new to us on the subnet (CreateTags; none for a move)
 *        -> ONE AssignPrivateIpAddresses(AllowReassignment) with every IP moving here
 *        -> IPv6: UnassignIpv6Addresses on the old holder, AssignIpv6Addresses here
 *        -> allocate: AssignPrivateIpAddresses(SecondaryPrivateIpAddressCount) -> claim the IPs EC2 picked
 *        -> Elastic IPs: AssociateAddress(PrivateIpAddress, AllowReassociation) where not yet associated
 * ```
 *
 * Ownership claims live in the subnet's tags (eni.ts): a private IP belongs to its subnet whichever ENI holds
 * it, so a failover move writes no tag and a claim outlives the node that held the IP. A claim is written before
 * its IP is assigned, so a crash between the two never leaves an unclaimed, foreign-looking egress IP. Each
 * ENI's step re-reads the ENI when retried, so a call whose response was lost is not repeated blindly.
 *
 * A move of IPv4 addresses this installation claims looks up no holder: a claimed IP is ours wherever it is,
 * so AllowReassignment may take it from whichever ENI holds it. An unclaimed IP's holder is always looked up,
 * which is what refuses to take another tool's IP.
 */
import { canonicalIp, familyOf } from '../../src/net/ip.ts';
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
import { KeyedLock } from '../../src/provider/keyed-lock.ts';
import { DEFAULT_RETRY, type RetryOptions, withRetry } from '../../src/provider/retry.ts';
import { assignmentsOn, eniStateOf } from './assignments.ts';
import { type AssignRequest, decideAssigns, decideReleases } from './decide.ts';
import { awsProvider } from './descriptor.ts';
import type { Ec2Api } from './ec2-api.ts';
import { createEc2Reader, type ResolvedNode, type SubnetView } from './ec2-reader.ts';
import type { EniView } from './eni.ts';
import { claimedIPs, ownedIPs, ownershipTagUpdate, reservedIPs } from './eni.ts';
import { toProviderError } from './errors.ts';

const isNotFound = (err: unknown) => err instanceof ProviderError && err.kind === 'notFound';

/** Options beyond the shared {@link ProviderSettings}. */
export interface AwsProviderOptions {
  /** The EC2 API of a region (already rate-limited and classifying errors). */
  readonly ec2For: (region: string) => Ec2Api;
  /** Backoff of each ENI's step. */
  readonly retry?: Partial<RetryOptions>;
}

/** Creates the AWS provider over injected EC2 APIs. */
export function createAwsProviderWith(
  settings: ProviderSettings,
  options: AwsProviderOptions,
): CloudProvider {
  const owner = settings.owner;
  const retry: RetryOptions = { ...DEFAULT_RETRY, ...options.retry };
  const locks = new KeyedLock();
  const { resolve, refresh, readEni, readSubnet, readEnis, readSubnets, readAddresses, limitsOf, holdersOf } =
    createEc2Reader(settings, options.ec2For, retry);

  /**
   * The node's ENI and its subnet, read in parallel (the subnet id is known from the node's resolution); the
   * subnet is read again only if the ENI turns out to sit in another one.
   */
  async function readEniAndSubnet(
    r: ResolvedNode,
    signal?: AbortSignal,
  ): Promise<{ eni: EniView; subnet: SubnetView }> {
    const [eni, subnet] = await Promise.all([
      readEni(r, signal),
      r.subnetId ? readSubnet(r, r.subnetId, signal) : undefined,
    ]);
    return {
      eni,
      subnet: subnet?.id === eni.subnetId ? subnet : await readSubnet(r, eni.subnetId, signal),
    };
  }

  /**
   * Runs `fn` on a node's resolution `r` (possibly cached); when `fn` meets a `notFound` (the ENI or the
   * instance is gone, e.g. the instance replaced its ENI), resolves the node afresh and runs `fn` once more.
   */
  async function withFresh<T>(
    r: ResolvedNode,
    fn: (r: ResolvedNode) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    try {
      return await fn(r);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      return fn(await refresh(r.node, signal));
    }
  }

  /** The IPs this installation claims in a subnet. */
  const claimsOf = (subnet: SubnetView): Set<string> => claimedIPs(subnet.tags, owner);

  /**
   * Adds and removes claims in a subnet's ownership tags: a read-modify-write under the subnet's lock (ENIs of
   * one subnet change in parallel), at most one CreateTags and one DeleteTags, none when nothing changes.
   */
  async function updateClaims(
    r: ResolvedNode,
    subnetId: string,
    change: { add?: readonly string[]; remove?: readonly string[] },
    signal?: AbortSignal,
  ) {
    const add = change.add ?? [];
    const drop = new Set(change.remove ?? []);
    if (add.length === 0 && drop.size === 0) return;
    await locks.run(`subnet:${subnetId}`, async () => {
      const subnet = await readSubnet(r, subnetId, signal);
      const current = claimsOf(subnet);
      const next = new Set([...current, ...add].filter((ip) => !drop.has(ip)));
      const { write, remove } = ownershipTagUpdate(subnet.tags, owner, next);
      if (write.length > 0) await r.api.createTags({ Resources: [subnetId], Tags: write }, signal);
      if (remove.length > 0) {
        await r.api.deleteTags({ Resources: [subnetId], Tags: remove.map((Key) => ({ Key })) }, signal);
      }
    });
  }

  type Indexed = { readonly change: Change; readonly index: number };

  async function releaseStep(r: ResolvedNode, items: readonly Indexed[], signal?: AbortSignal) {
    const ips = items.map((it) => (it.change.kind === 'release' ? canonicalIp(it.change.ip) : ''));
    const outcomes = new Map<number, ChangeOutcome>();
    await withRetry(
      async () => {
        const { eni, subnet } = await readEniAndSubnet(r, signal);
        const decision = decideReleases(eni, claimsOf(subnet), ips);
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
        // Drop the claims of released IPs that no other ENI holds (a release of an IP that already moved on
        // must not orphan it on its new ENI); also right after a retry whose unassign had taken effect.
        const done = ips.filter((_, i) => !decision.failures.has(i));
        const elsewhere = await holdersOf(r, eni, done, signal);
        await updateClaims(r, eni.subnetId, { remove: done.filter((ip) => !elsewhere.has(ip)) }, signal);
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

  async function assignStep(r: ResolvedNode, items: readonly Indexed[], signal?: AbortSignal) {
    const requests: AssignRequest[] = items.map((it) =>
      it.change.kind === 'allocate'
        ? { kind: 'allocate', count: it.change.count }
        : { kind: 'assign', ip: canonicalIp((it.change as { ip: string }).ip) },
    );
    const outcomes = new Map<number, ChangeOutcome>();
    const requestedIps = new Set(requests.flatMap((q) => (q.kind === 'assign' ? [q.ip] : [])));
    // IPs EC2 picked for `allocate` in an earlier attempt whose response may have been lost.
    let allocBaseline: Set<string> | undefined;
    await withRetry(
      async () => {
        const [{ eni, subnet }, limits] = await Promise.all([
          readEniAndSubnet(r, signal),
          limitsOf(r, signal),
        ]);
        const claims = claimsOf(subnet);
        // Claimed IPv4 addresses are ours wherever they are: AllowReassignment takes them without a lookup.
        // IPv6 holders are needed to release the address on the old ENI first.
        const wanted = requests.flatMap((q) =>
          q.kind === 'assign' &&
          !eni.ipv4.includes(q.ip) &&
          !eni.ipv6.includes(q.ip) &&
          !(claims.has(q.ip) && familyOf(q.ip) === 4)
            ? [q.ip]
            : [],
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
        const decision = decideAssigns(eni, subnet.cidrs, limits, claims, pending, holders);

        const moving = [...decision.ipv4, ...decision.ipv6];
        // Claim new IPs first: a crash after this leaves a claim on an IP no ENI holds (reclaimed by the next
        // assign or dropped by a release), never an unclaimed egress IP that would look like another tool's.
        // IPs that move between ENIs are claimed already: a move writes no tag.
        await updateClaims(r, eni.subnetId, { add: moving.filter((ip) => !claims.has(ip)) }, signal);
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
          await updateClaims(r, eni.subnetId, { add: allocated }, signal);
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

  /**
   * The assignments on the ENIs of resolved nodes that share one EC2 API (region), from batched reads: the ENIs
   * (by filter, so a missing one fails nothing) in parallel with their subnets as resolved (again for a subnet
   * the resolution did not name), then the Elastic IPs of the ENIs holding IPs of ours. `undefined` for a node
   * whose ENI or subnet is not in the answer.
   */
  function listBatch(
    api: Ec2Api,
    group: readonly { node: NodeRef; r: ResolvedNode }[],
    signal?: AbortSignal,
  ): Promise<(CloudAssignment[] | undefined)[]> {
    return withRetry(
      async () => {
        const asked = new Set(group.flatMap(({ r }) => (r.subnetId ? [r.subnetId] : [])));
        const [enis, subnets] = await Promise.all([
          readEnis(
            api,
            group.map(({ r }) => r.eniId),
            signal,
          ),
          readSubnets(api, asked, signal),
        ]);
        const unread = [...enis.values()].map((eni) => eni.subnetId).filter((id) => !asked.has(id));
        for (const [id, subnet] of await readSubnets(api, unread, signal)) subnets.set(id, subnet);
        const states = group.map(({ r }) => eniStateOf(r.eniId, enis, subnets, owner));
        const holding = states.flatMap((st) =>
          st && ownedIPs(st.eni, st.claims).length > 0 ? [st.eni.id] : [],
        );
        const addresses = await readAddresses(api, holding, signal);
        return group.map(({ node }, i) => {
          const st = states[i];
          return st && assignmentsOn(node.name, st, addresses);
        });
      },
      retry,
      signal,
    );
  }

  /**
   * A node's assignments after its cached ENI was not in the batched answer: resolved afresh and read as a
   * batch of one; none if the instance or its ENI is gone.
   */
  async function listAfresh(node: NodeRef, signal?: AbortSignal): Promise<CloudAssignment[]> {
    let r: ResolvedNode;
    try {
      r = await refresh(node, signal);
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
    const [found] = await listBatch(r.api, [{ node, r }], signal);
    return found ?? [];
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
      const done = await withFresh(
        r,
        (current) => {
          r = current;
          return locks.run(current.eniId, () => step(current, items, signal));
        },
        signal,
      );
      for (const [i, o] of done) outcomes.set(i, o);
    } catch (err) {
      const error = toProviderError(err, `node ${r.node.name} (${r.eniId})`);
      for (const it of items) outcomes.set(it.index, { change: it.change, ok: false, error });
    }
  }

  return {
    name: awsProvider.name,
    capabilities: awsProvider.capabilities,

    async describeNode(node, signal) {
      return withFresh(
        await resolve(node, signal),
        (r) =>
          withRetry(
            async () => {
              const [{ eni, subnet }, limits] = await Promise.all([
                readEniAndSubnet(r, signal),
                limitsOf(r, signal),
              ]);
              const claims = claimsOf(subnet);
              const network: NodeNetwork = {
                node: node.name,
                interfaceId: eni.id,
                zone: eni.zone,
                subnets: [...subnet.cidrs],
                reservedIPs: reservedIPs(eni, claims),
                ownedIPs: ownedIPs(eni, claims),
                freeSlots: Math.max(0, limits.ipv4 - eni.ipv4.length),
              };
              return network;
            },
            retry,
            signal,
          ),
        signal,
      );
    },

    async listAssignments(nodes, signal) {
      const resolved = await Promise.all(
        nodes.map(async (node, index) => {
          try {
            return [{ node, index, r: await resolve(node, signal) }];
          } catch (err) {
            if (isNotFound(err)) return [];
            throw err;
          }
        }),
      );
      const lists = new Map<number, CloudAssignment[]>();
      const byApi = Map.groupBy(resolved.flat(), ({ r }) => r.api);
      await Promise.all(
        [...byApi].map(async ([api, group]) => {
          const found = await listBatch(api, group, signal);
          await Promise.all(
            group.map(async ({ node, index }, i) => {
              lists.set(index, found[i] ?? (await listAfresh(node, signal)));
            }),
          );
        }),
      );
      return nodes.flatMap((_, index) => lists.get(index) ?? []);
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
      await Promise.all(
        [...assigns.values()].map((g) => runGroup(g.r, byIndex(g), assignStep, outcomes, signal)),
      );
      return { outcomes: plan.changes.map((change, i) => outcomes.get(i) ?? { change, ok: true }) };
    },
  };
}
