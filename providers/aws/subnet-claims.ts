/**
 * @module
 * The ownership claims of one installation in a subnet's tags (eni.ts has the tag format): which IPs it claims,
 * and updates of that set.
 *
 * ```
 * update(subnet, add, remove)
 *   nothing to change ─► no call
 *   lock(subnet) ─► DescribeSubnets ─► claims' = claims + add - remove
 *               ─► CreateTags for changed tag values, DeleteTags for emptied ones (each only when needed)
 * ```
 *
 * The subnet lock is the driver's own, not the engine's interface lock: ENIs of one subnet are written in
 * parallel, and each may change the subnet's claims.
 */
import { KeyedLock } from '../../src/provider/keyed-lock.ts';
import type { Ec2Reader, ResolvedNode, SubnetView } from './ec2-reader.ts';
import { claimedIPs, ownershipTagUpdate } from './eni.ts';

/** What {@link subnetClaims} offers. */
export interface SubnetClaims {
  /** The IPs this installation claims in a subnet, as read. */
  of(subnet: SubnetView): Set<string>;
  /** Adds and removes claims in a subnet's tags (see the module diagram). */
  update(
    r: ResolvedNode,
    subnetId: string,
    change: { readonly add?: readonly string[]; readonly remove?: readonly string[] },
    signal?: AbortSignal,
  ): Promise<void>;
}

/** The claims of `owner`, read through `reader`, written under one lock per subnet. */
export function subnetClaims(owner: string, reader: Ec2Reader): SubnetClaims {
  const locks = new KeyedLock();
  const of = (subnet: SubnetView) => claimedIPs(subnet.tags, owner);
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
        if (write.length > 0) await r.api.createTags({ Resources: [subnetId], Tags: write }, signal);
        if (remove.length > 0) {
          await r.api.deleteTags({ Resources: [subnetId], Tags: remove.map((Key) => ({ Key })) }, signal);
        }
      });
    },
  };
}
