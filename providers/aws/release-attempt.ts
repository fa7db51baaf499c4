/**
 * @module
 * One attempt at the removes of one ENI's batch (the engine's phase 1; it retries the attempt and holds the
 * ENI's lock):
 *
 * ```
 * read ENI || subnet claims ─► decideReleases (pure, decide.ts): IPs not here are done; IPs not ours fail
 *   ─► ONE UnassignPrivateIpAddresses (every IPv4 of ours asked) ─► ONE UnassignIpv6Addresses (IPv6 ones)
 *   ─► the released IPs that no ENI holds (a read after the unassign, this ENI included) lose their claim on
 *      the subnet (subnet-claims.ts)
 * ```
 *
 * The claims are dropped after the unassign, and also when a retry finds the unassign already done, but never
 * for an IP that has moved on to another ENI meanwhile, nor for one this ENI still holds (an acknowledged
 * unassignment that did not happen, or a read that does not show it yet): either would orphan the IP there,
 * on an ENI, claimed by nobody. Such an IP stays listed, and the next release (the controller's next pass or
 * its verification) drops the claim once a read shows the IP gone.
 */
import type { ProviderError } from '../../src/provider/contract.ts';
import type { BatchResult, Edit } from '../../src/provider/interface-driver.ts';
import { decideReleases } from './decide.ts';
import type { Ec2Reader, ResolvedNode } from './ec2-reader.ts';
import type { SubnetClaims } from './subnet-claims.ts';

/** An edit that takes an IP off the ENI. */
export type RemoveEdit = Extract<Edit, { kind: 'remove' }>;

/** The attempt function of `edits` on the node's ENI; see the module diagram. */
export function releaseAttempt(
  reader: Ec2Reader,
  claims: SubnetClaims,
  r: ResolvedNode,
  edits: readonly RemoveEdit[],
  signal?: AbortSignal,
): () => Promise<BatchResult> {
  const ips = edits.map((e) => e.ip);
  return async () => {
    const { eni, subnet } = await reader.readEniAndSubnet(r, signal);
    const decision = decideReleases(eni, claims.of(subnet), ips);
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
    const done = ips.filter((_, i) => !decision.failures.has(i));
    // A claim goes only when a read after the release shows no ENI holding its IP: not another's (a move),
    // nor this one's (an unassignment EC2 acknowledged and did not make: the IP stays listed, so the next
    // pass releases it again instead of leaving it on the ENI owned by nobody).
    const holders = await reader.holdersOf(r, eni, done, signal, { includeSelf: true });
    await claims.update(r, eni.subnetId, { remove: done.filter((ip) => !holders.has(ip)) }, signal);
    const failed = new Map<Edit, ProviderError>();
    for (const [i, error] of decision.failures) failed.set(edits[i]!, error);
    return { failed };
  };
}
