/**
 * @module
 * Pairs Elastic IPs with egress IPs on an ENI, as the last step of an assign attempt:
 *
 * ```
 * pairs (IP, allocation id) ─► ONE DescribeAddresses (the allocation ids)
 *   already associated with that IP on that ENI ─► nothing
 *   otherwise ─► AssociateAddress(AllowReassociation): a retryable failure fails the attempt (the engine tries
 *                it again), any other fails that IP only
 * ```
 */
import type { ProviderError } from '../../src/provider/contract.ts';
import type { ResolvedNode } from './ec2-reader.ts';
import { toProviderError } from './errors.ts';

/** An egress IP and the allocation id of the Elastic IP to pair with it. */
export interface EipPair {
  readonly ip: string;
  readonly allocationId: string;
}

/**
 * Associates each pair's Elastic IP with its IP on `eniId` where it is not yet; returns the IPs whose
 * association was refused, with why. @throws ProviderError when a call failed in a way a retry may fix.
 */
export async function associateEips(
  r: ResolvedNode,
  eniId: string,
  pairs: readonly EipPair[],
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
