/**
 * @module
 * One attempt at the adds and allocations of one ENI's batch (the engine's phase 2; it retries the attempt and
 * holds the ENI's lock). AWS moves atomically, so an add of an IP another ENI holds is the whole move: the
 * engine sends no release half, and this attempt takes the IP from wherever it is, if this installation owns it.
 *
 * ```
 * read ENI || subnet claims || instance type limits (cached)          one round trip for a move of claimed IPs
 *   ─► holders of the asked IPs we do not claim (IPv6: of every asked IP; none for a move of claimed IPv4)
 *   ─► decideAssigns (pure, decide.ts): no-ops, refusals (another tool's IP, outside the subnet), capacity
 *   ─► claim the IPs new to us on the subnet (CreateTags, under the subnet lock; none for a move)
 *   ─► ONE AssignPrivateIpAddresses(AllowReassignment) with every IPv4 coming here
 *   ─► IPv6 (no reassignment on EC2): UnassignIpv6Addresses on each old holder, then ONE AssignIpv6Addresses
 *   ─► allocate: AssignPrivateIpAddresses(SecondaryPrivateIpAddressCount) ─► read the ENI ─► claim what EC2 picked
 *   ─► Elastic IPs: AssociateAddress where not yet associated                                 (elastic-ips.ts)
 * ```
 *
 * A claim is written before its IP is assigned, so a crash between the two never leaves an unclaimed egress IP
 * that would look like another tool's. The attempts of one batch share the ENI's IPv4 addresses as the first
 * attempt found them: IPs that appeared since, unasked, are what an allocation whose answer was lost picked, so
 * a retry asks EC2 only for the rest (an allocation is never doubled).
 */
import { familyOf } from '../../src/net/ip.ts';
import type { ProviderError } from '../../src/provider/contract.ts';
import type { BatchResult, Edit } from '../../src/provider/interface-driver.ts';
import { type AssignRequest, decideAssigns } from './decide.ts';
import type { Ec2Reader, ResolvedNode } from './ec2-reader.ts';
import { associateEips } from './elastic-ips.ts';
import type { SubnetClaims } from './subnet-claims.ts';

/** An edit that puts IPs on the ENI: an add (a move when another ENI holds the IP) or an allocation. */
export type AddEdit = Exclude<Edit, { kind: 'remove' }>;

/** The attempt function of `edits` on the node's ENI; see the module diagram. */
export function assignAttempt(
  reader: Ec2Reader,
  claims: SubnetClaims,
  r: ResolvedNode,
  edits: readonly AddEdit[],
  signal?: AbortSignal,
): () => Promise<BatchResult> {
  const requests: AssignRequest[] = edits.map((e) =>
    e.kind === 'allocate' ? { kind: 'allocate', count: e.count } : { kind: 'assign', ip: e.ip },
  );
  const requestedIps = new Set(requests.flatMap((q) => (q.kind === 'assign' ? [q.ip] : [])));
  const allocTotal = requests.reduce((n, q) => n + (q.kind === 'allocate' ? q.count : 0), 0);
  const firstAlloc = requests.findIndex((q) => q.kind === 'allocate');
  // The ENI's IPv4 addresses before the first attempt: anything new and unasked since, EC2 allocated for us.
  let allocBaseline: Set<string> | undefined;
  const allocatedSince = (ipv4: readonly string[]) =>
    ipv4.filter((ip) => !allocBaseline!.has(ip) && !requestedIps.has(ip));

  return async () => {
    const [{ eni, subnet }, limits] = await Promise.all([
      reader.readEniAndSubnet(r, signal),
      reader.limitsOf(r, signal),
    ]);
    const claimed = claims.of(subnet);
    // Claimed IPv4 addresses are ours wherever they are: AllowReassignment takes them without a lookup.
    // IPv6 holders are needed to release the address on the old ENI first.
    const wanted = requests.flatMap((q) =>
      q.kind === 'assign' &&
      !eni.ipv4.includes(q.ip) &&
      !eni.ipv6.includes(q.ip) &&
      !(claimed.has(q.ip) && familyOf(q.ip) === 4)
        ? [q.ip]
        : [],
    );
    const holders = await reader.holdersOf(r, eni, wanted, signal);
    allocBaseline ??= new Set(eni.ipv4);
    const alreadyAllocated = allocatedSince(eni.ipv4);
    // One allocation of what is still missing, on the first allocate request; the others ask for none.
    const pending = requests.map((q) =>
      q.kind === 'allocate' ? { kind: 'allocate' as const, count: 0 } : q,
    );
    if (firstAlloc >= 0) {
      pending[firstAlloc] = { kind: 'allocate', count: Math.max(0, allocTotal - alreadyAllocated.length) };
    }
    const decision = decideAssigns(eni, subnet.cidrs, limits, claimed, pending, holders);

    const moving = [...decision.ipv4, ...decision.ipv6];
    await claims.update(r, eni.subnetId, { add: moving.filter((ip) => !claimed.has(ip)) }, signal);
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
    if (decision.allocate > 0) {
      await r.api.assignPrivateIpAddresses(
        { NetworkInterfaceId: eni.id, SecondaryPrivateIpAddressCount: decision.allocate },
        signal,
      );
    }
    let allocated = alreadyAllocated;
    if (firstAlloc >= 0 && !decision.failures.has(firstAlloc)) {
      allocated = allocatedSince((await reader.readEni(r, signal)).ipv4);
      await claims.update(r, eni.subnetId, { add: allocated }, signal);
    }
    const eipFailures = await associateEips(
      r,
      eni.id,
      edits.flatMap((e, i) =>
        e.kind === 'add' && e.publicAddress && !decision.failures.has(i)
          ? [{ ip: e.ip, allocationId: e.publicAddress }]
          : [],
      ),
      signal,
    );

    const failed = new Map<Edit, ProviderError>();
    const picked = new Map<Edit, readonly string[]>();
    // The IPs of the one allocation are handed out to the allocate edits in order, each its count.
    let handedOut = 0;
    edits.forEach((edit, i) => {
      const error = decision.failures.get(i) ?? (edit.kind === 'add' ? eipFailures.get(edit.ip) : undefined);
      if (edit.kind === 'allocate') {
        if (!error) picked.set(edit, allocated.slice(handedOut, handedOut + edit.count));
        handedOut += edit.count;
      }
      if (error) failed.set(edit, error);
    });
    return { failed, allocated: picked };
  };
}
