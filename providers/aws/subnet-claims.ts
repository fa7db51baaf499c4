/**
 * @module
 * The ownership claims of one installation in a subnet's tags (eni.ts has the tag format): which IPs it claims,
 * and updates of that set.
 *
 * ```
 * of(subnet read)   the read predates our last write (see below)? ─► `transient` (the attempt is retried)
 *                   else the IPs of our claim tags
 * update(subnet, add, remove)
 *   nothing to change ─► no call
 *   lock(subnet) ─► DescribeSubnets ─► claims' = of(read) + add - remove
 *               ─► DeleteTags for emptied values, then CreateTags for changed values + a new version (when needed)
 * ```
 *
 * The subnet lock is the driver's own, not the engine's interface lock: ENIs of one subnet are written in
 * parallel, and each may change the subnet's claims.
 *
 * An update is a read, then a write of whole tag values (EC2 has no conditional or additive tag write), and
 * EC2's reads are eventually consistent ("Eventual consistency in the Amazon EC2 API", EC2 API reference): a
 * `DescribeSubnets` may answer what was true a few seconds ago. An update computed from a read older than this
 * installation's last claim write would drop the claims made since, and their IPs would stay on their ENIs,
 * claimed by nobody, never adopted; an assignment decided from it would take a released IP for its own. So every
 * write also sets the version tag to a new value, and a read that shows a version this installation has since
 * overwritten (or no version, when its first write found none) fails as `transient` wherever its claims are
 * used (the assignment and release attempts, the update, the node's description): the engine retries the
 * attempt with new reads. What the update
 * writes always comes from a read, never from memory, so claims edited behind the provider's back (by a person,
 * or a test's reset) are taken as read, and nothing this installation remembers can make a foreign IP its own.
 * A read that still shows an overwritten version {@link CLAIMS_SETTLE_MS} after the last write is taken as it
 * is (someone else put the tags back; no Describe is that stale).
 *
 * Memory is per provider instance: a new leader's first read is taken as it is (its predecessor's last write
 * is a lease hand-over older, longer than EC2 takes to show it).
 */
import { randomUUID } from 'node:crypto';
import { ProviderError } from '../../src/provider/contract.ts';
import { KeyedLock } from '../../src/provider/keyed-lock.ts';
import type { Ec2Reader, ResolvedNode, SubnetView } from './ec2-reader.ts';
import { claimedIPs, claimsVersionKey, ownershipTagUpdate } from './eni.ts';

/** What {@link subnetClaims} offers. */
export interface SubnetClaims {
  /**
   * The IPs this installation claims in a subnet, as read; a `transient` {@link ProviderError} when the read
   * predates this installation's last write of them (no decision is made from such a read).
   */
  of(subnet: SubnetView): Set<string>;
  /** Adds and removes claims in a subnet's tags (see the module diagram). */
  update(
    r: ResolvedNode,
    subnetId: string,
    change: { readonly add?: readonly string[]; readonly remove?: readonly string[] },
    signal?: AbortSignal,
  ): Promise<void>;
}

/**
 * How long after this installation's last claim write a read showing an older version is taken for stale:
 * longer than EC2's eventual consistency takes, shorter than a leader hand-over.
 */
export const CLAIMS_SETTLE_MS = 5_000;

/** How many overwritten versions are remembered per subnet. */
const REMEMBERED_VERSIONS = 64;

/** The version of a subnet's tags that carry none. */
const NO_VERSION = '';

/** Options of {@link subnetClaims} (tests). */
export interface SubnetClaimsOptions {
  /** The clock of {@link CLAIMS_SETTLE_MS}, ms. */
  readonly now?: () => number;
  /** A new version tag value. */
  readonly newVersion?: () => string;
}

/** Per subnet: the version this installation wrote last, when, and the versions it overwrote before. */
interface Written {
  readonly version: string;
  readonly at: number;
  readonly overwritten: readonly string[];
}

/** The claims of `owner`, read through `reader`, written under one lock per subnet. */
export function subnetClaims(
  owner: string,
  reader: Ec2Reader,
  options: SubnetClaimsOptions = {},
): SubnetClaims {
  const now = options.now ?? Date.now;
  const newVersion = options.newVersion ?? randomUUID;
  const locks = new KeyedLock();
  const versionKey = claimsVersionKey(owner);
  const written = new Map<string, Written>();
  const versionOf = (subnet: SubnetView) => subnet.tags.get(versionKey) ?? NO_VERSION;
  /** Whether the read predates this installation's last write of the subnet's claims (see the module comment). */
  const stale = (subnet: SubnetView) => {
    const mine = written.get(subnet.id);
    const version = versionOf(subnet);
    return (
      !!mine &&
      version !== mine.version &&
      mine.overwritten.includes(version) &&
      now() - mine.at < CLAIMS_SETTLE_MS
    );
  };
  const of = (subnet: SubnetView) => {
    if (stale(subnet)) {
      throw new ProviderError(
        'transient',
        `the claims read of subnet ${subnet.id} predate this installation's last write of them (a stale read)`,
      );
    }
    return claimedIPs(subnet.tags, owner);
  };
  return {
    of,
    async update(r, subnetId, change, signal) {
      const add = change.add ?? [];
      const drop = new Set(change.remove ?? []);
      if (add.length === 0 && drop.size === 0) return;
      await locks.run(`subnet:${subnetId}`, async () => {
        const subnet = await reader.readSubnet(r, subnetId, signal);
        const next = new Set([...of(subnet), ...add].filter((ip) => !drop.has(ip)));
        const { write, remove } = ownershipTagUpdate(subnet.tags, owner, next);
        if (write.length === 0 && remove.length === 0) return;
        if (remove.length > 0) {
          await r.api.deleteTags({ Resources: [subnetId], Tags: remove.map((Key) => ({ Key })) }, signal);
        }
        // The version last: a read that shows it shows the claims it versions.
        const version = newVersion();
        await r.api.createTags(
          { Resources: [subnetId], Tags: [...write, { Key: versionKey, Value: version }] },
          signal,
        );
        const before = written.get(subnetId);
        const overwritten = [
          ...(before?.overwritten ?? []),
          ...(before ? [before.version] : []),
          versionOf(subnet),
        ];
        written.set(subnetId, {
          version,
          at: now(),
          overwritten: [...new Set(overwritten)].slice(-REMEMBERED_VERSIONS),
        });
      });
    },
  };
}
