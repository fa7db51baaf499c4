/**
 * @module
 * Pure decisions for one network interface: from its current alias IP ranges and the changes aimed at
 * it, the new `aliasIpRanges` list to PATCH and the outcome of every change. No I/O.
 *
 * Ownership ({@link isOwnedAlias}): an alias range is cloud-egress's when it is a single address (`/32`)
 * taken from the secondary range named {@link egressRangeName} (`subnetworkRangeName`). Everything else on
 * the NIC (GKE pod ranges, other tools' aliases, the primary IP) is reserved and never touched.
 *
 * Releases (phase 1 of `apply`, including the release half of moves), whatever the instance's status (a stopped
 * or suspended VM keeps its aliases, so a move must still remove them there):
 *
 * | IP on the NIC as                | outcome                       | write     |
 * |---------------------------------|-------------------------------|-----------|
 * | nothing                         | ok (already gone)             | -         |
 * | an owned /32                    | ok                            | remove it |
 * | primary IP, or any other range  | terminal: not owned           | -         |
 *
 * Assignments and allocations (phase 2):
 *
 * | IP                                                    | outcome                | write   |
 * |-------------------------------------------------------|------------------------|---------|
 * | the instance is not RUNNING (stopping, stopped,       | capacity for every add | -       |
 * | suspended, ...): an alias there carries no traffic    | (`instanceNotRunning`) |         |
 * | not IPv4, or subnetwork has no egress range           | terminal               | -       |
 * | outside the egress range                              | terminal, names IP+range| -      |
 * | already an owned /32 on the NIC                       | ok                     | -       |
 * | primary IP or inside another range on the NIC         | terminal: not owned    | -       |
 * | otherwise                                             | ok after the write     | add /32 |
 * | more ranges than {@link MAX_ALIAS_RANGES} in all      | capacity for every add | nothing |
 *
 * {@link planEdits} decides one batch of the engine's edits with both tables (releases first), and
 * {@link allocatedIPs} reads which addresses GCP picked for the allocations once the write is DONE.
 */
import { canonicalIp, cidrContains, familyOf, isIp } from '../../src/net/ip.ts';
import { ProviderError } from '../../src/provider/contract.ts';
import type { Edit } from '../../src/provider/interface-driver.ts';
import type { GceAliasRange, GceNic, GceSubnetwork } from './client.ts';

/** Most alias IP ranges per network interface (https://cloud.google.com/vpc/docs/quota#per_instance). */
export const MAX_ALIAS_RANGES = 100;

/**
 * The secondary range egress IPs of installation `owner` come from: `cloud-egress-<owner>`, lowercased,
 * with characters a range name may not hold replaced by `-`, at most 63 characters (RFC 1035).
 */
export function egressRangeName(owner: string): string {
  const name = `cloud-egress-${owner}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, 63);
  return name.replace(/-+$/, '');
}

/** The address of a single-address alias range (`10.0.0.5/32` or `10.0.0.5`), else undefined. */
export function singleAddress(range: GceAliasRange): string | undefined {
  const text = range.ipCidrRange;
  if (isIp(text)) return canonicalIp(text);
  const [ip, prefix] = text.split('/');
  return ip && isIp(ip) && prefix === '32' ? canonicalIp(ip) : undefined;
}

/** True when `range` is an egress IP owned by the installation whose range name is `rangeName`. */
export function isOwnedAlias(range: GceAliasRange, rangeName: string): boolean {
  return range.subnetworkRangeName === rangeName && singleAddress(range) !== undefined;
}

/** Owned egress IPs on a NIC, sorted. */
export function ownedIPs(nic: GceNic, rangeName: string): string[] {
  return nic.aliasIpRanges
    .filter((r) => isOwnedAlias(r, rangeName))
    .map((r) => singleAddress(r)!)
    .sort();
}

/** Everything on a NIC that is not cloud-egress's: the primary IP and other ranges (single IPs bare). */
export function reservedIPs(nic: GceNic, rangeName: string): string[] {
  return [
    nic.networkIP,
    ...nic.aliasIpRanges
      .filter((r) => !isOwnedAlias(r, rangeName))
      .map((r) => singleAddress(r) ?? r.ipCidrRange),
  ];
}

/** The CIDR of the egress range on a subnetwork, if it has one. */
export function egressRangeCidr(subnet: GceSubnetwork, rangeName: string): string | undefined {
  return subnet.secondaryIpRanges.find((r) => r.rangeName === rangeName)?.ipCidrRange;
}

/** What is done with a NIC: the new list (when a write is needed) and each request's outcome. */
export interface NicDecision<K> {
  /** The full new `aliasIpRanges`, or undefined when nothing needs writing. */
  readonly aliasIpRanges: GceAliasRange[] | undefined;
  /** Failures by request key; keys not listed succeed once the write (if any) is DONE. */
  readonly failed: Map<K, ProviderError>;
}

/** A NIC, where it is (for messages) and the status of its instance. */
export interface NicContext {
  readonly nic: GceNic;
  readonly node: string;
  readonly rangeName: string;
  /** The instance's `status`: only a `RUNNING` one takes new egress IPs. */
  readonly status: string;
}

/**
 * Why the node can take no egress IP now: its instance is not `RUNNING` (an alias on a stopping, stopped or
 * suspended VM carries no traffic), or undefined. The scheduler then places the node's IPs elsewhere.
 */
export function notRunning(node: string, status: string): ProviderError | undefined {
  if (status === 'RUNNING') return undefined;
  return new ProviderError(
    'capacity',
    `node ${node}: its instance is ${status || 'in an unknown state'}, not RUNNING, so it can take no egress IP now`,
    { code: 'instanceNotRunning' },
  );
}

const holds = (range: GceAliasRange, ip: string) => {
  const single = singleAddress(range);
  if (single) return single === ip;
  return range.ipCidrRange.includes('/') && familyOf(ip) === 4 && cidrContains(range.ipCidrRange, ip);
};

/** Decides the releases of `ips` (by key) from a NIC. */
export function planReleases<K>(ctx: NicContext, ips: ReadonlyMap<K, string>): NicDecision<K> {
  const failed = new Map<K, ProviderError>();
  const remove = new Set<GceAliasRange>();
  for (const [key, raw] of ips) {
    const ip = isIp(raw) ? canonicalIp(raw) : raw;
    const held = ctx.nic.aliasIpRanges.find((r) => holds(r, ip));
    if (ip === ctx.nic.networkIP || (held && !isOwnedAlias(held, ctx.rangeName))) {
      failed.set(
        key,
        new ProviderError(
          'terminal',
          `${ip} on ${ctx.nic.name} of node ${ctx.node} is not owned by cloud-egress (${held ? `alias range ${held.ipCidrRange}${held.subnetworkRangeName ? ` from ${held.subnetworkRangeName}` : ''}` : 'primary IP'}); not released`,
        ),
      );
    } else if (held) remove.add(held);
  }
  return {
    aliasIpRanges: remove.size ? ctx.nic.aliasIpRanges.filter((r) => !remove.has(r)) : undefined,
    failed,
  };
}

/** Decides assignments of `ips` and allocations of `counts` (by key) on a NIC in `subnet`. */
export function planAssignments<K>(
  ctx: NicContext,
  subnet: GceSubnetwork,
  ips: ReadonlyMap<K, string>,
  counts: ReadonlyMap<K, number> = new Map(),
): NicDecision<K> {
  const failed = new Map<K, ProviderError>();
  const stopped = notRunning(ctx.node, ctx.status);
  if (stopped) {
    for (const key of [...ips.keys(), ...counts.keys()]) failed.set(key, stopped);
    return { aliasIpRanges: undefined, failed };
  }
  const egress = egressRangeCidr(subnet, ctx.rangeName);
  const adds: GceAliasRange[] = [];
  const accepted: K[] = [];
  for (const [key, raw] of ips) {
    const valid = isIp(raw);
    const ip = valid ? canonicalIp(raw) : raw;
    const fail = (message: string) => failed.set(key, new ProviderError('terminal', message));
    if (!valid || familyOf(ip) !== 4) {
      fail(`${ip} cannot be an egress IP on GCP: only IPv4 alias IP ranges are supported`);
      continue;
    }
    if (!egress) {
      fail(
        `${ip} cannot be assigned on node ${ctx.node}: subnetwork ${subnet.name} has no secondary range "${ctx.rangeName}" for egress IPs (gcloud compute networks subnets update ${subnet.name} --add-secondary-ranges=${ctx.rangeName}=CIDR)`,
      );
      continue;
    }
    if (!cidrContains(egress, ip)) {
      const other = cidrContains(subnet.ipCidrRange, ip)
        ? ` (it is in the primary range ${subnet.ipCidrRange})`
        : '';
      fail(
        `${ip} is outside the egress range ${ctx.rangeName} (${egress}) of subnetwork ${subnet.name} on node ${ctx.node}${other}`,
      );
      continue;
    }
    const held = ctx.nic.aliasIpRanges.find((r) => holds(r, ip));
    if (held && isOwnedAlias(held, ctx.rangeName)) continue;
    if (held || ip === ctx.nic.networkIP) {
      failed.set(
        key,
        new ProviderError(
          'terminal',
          `${ip} is in use on ${ctx.nic.name} of node ${ctx.node} and not owned by cloud-egress; not assigned`,
          { heldBy: `${ctx.nic.name} of node ${ctx.node}` },
        ),
      );
      continue;
    }
    if (adds.some((a) => singleAddress(a) === ip)) continue;
    adds.push({ ipCidrRange: `${ip}/32`, subnetworkRangeName: ctx.rangeName });
    accepted.push(key);
  }
  for (const [key, count] of counts) {
    if (!egress) {
      failed.set(
        key,
        new ProviderError(
          'terminal',
          `cannot allocate on node ${ctx.node}: subnetwork ${subnet.name} has no secondary range "${ctx.rangeName}"`,
        ),
      );
      continue;
    }
    for (let i = 0; i < count; i++) adds.push({ ipCidrRange: '/32', subnetworkRangeName: ctx.rangeName });
    accepted.push(key);
  }
  const total = ctx.nic.aliasIpRanges.length + adds.length;
  if (adds.length > 0 && total > MAX_ALIAS_RANGES) {
    const error = new ProviderError(
      'capacity',
      `${ctx.nic.name} of node ${ctx.node} can hold ${MAX_ALIAS_RANGES} alias IP ranges; it has ${ctx.nic.aliasIpRanges.length} and ${adds.length} more were asked`,
      { code: 'aliasIpRangesLimit' },
    );
    for (const key of accepted) failed.set(key, error);
    return { aliasIpRanges: undefined, failed };
  }
  return { aliasIpRanges: adds.length ? [...ctx.nic.aliasIpRanges, ...adds] : undefined, failed };
}

/**
 * Decides a batch of edits on a NIC: its removes as {@link planReleases}, then its adds and allocations as
 * {@link planAssignments} on what the removes leave (the subnetwork is needed only for those).
 * @throws Error when `edits` add or allocate and no subnetwork is given (a caller's bug).
 */
export function planEdits(
  ctx: NicContext,
  edits: readonly Edit[],
  subnet: GceSubnetwork | undefined,
): NicDecision<Edit> {
  const removes = new Map<Edit, string>();
  const adds = new Map<Edit, string>();
  const counts = new Map<Edit, number>();
  for (const edit of edits) {
    if (edit.kind === 'remove') removes.set(edit, edit.ip);
    else if (edit.kind === 'add') adds.set(edit, edit.ip);
    else counts.set(edit, edit.count);
  }
  const released = planReleases(ctx, removes);
  if (adds.size + counts.size === 0) return released;
  if (!subnet) throw new Error('planEdits: additions need the subnetwork');
  const left = released.aliasIpRanges ?? ctx.nic.aliasIpRanges;
  const assigned = planAssignments(
    { ...ctx, nic: { ...ctx.nic, aliasIpRanges: left } },
    subnet,
    adds,
    counts,
  );
  return {
    aliasIpRanges: assigned.aliasIpRanges ?? released.aliasIpRanges,
    failed: new Map([...released.failed, ...assigned.failed]),
  };
}

/**
 * The addresses GCP picked for each allocation of `edits` that did not fail, in order: the owned IPs on the
 * NIC after the write that were neither there before nor asked for by an `add` of the batch.
 */
export function allocatedIPs(
  before: GceNic,
  after: GceNic,
  rangeName: string,
  edits: readonly Edit[],
  failed: ReadonlyMap<Edit, unknown>,
): Map<Edit, string[]> {
  const old = new Set(ownedIPs(before, rangeName));
  const asked = new Set(edits.flatMap((e) => (e.kind === 'add' ? [e.ip] : [])));
  const fresh = ownedIPs(after, rangeName).filter((ip) => !old.has(ip) && !asked.has(ip));
  const out = new Map<Edit, string[]>();
  for (const edit of edits) {
    if (edit.kind === 'allocate' && !failed.has(edit)) out.set(edit, fresh.splice(0, edit.count));
  }
  return out;
}
