/**
 * @module
 * What `listAssignments` reports for one node, computed from reads already made (no I/O here): the IPs its ENI
 * holds that this installation claims in the ENI's subnet, each with the Elastic IP associated with it.
 *
 * ```
 * batched answer (ENIs by id, subnets by id)  --eniStateOf-->  ENI + our claims, or undefined (not in the answer)
 * ENI + claims + Elastic IPs                  --assignmentsOn-->  CloudAssignment[] (sorted by IP)
 * ```
 */
import type { Address } from '@aws-sdk/client-ec2';
import type { CloudAssignment } from '../../src/provider/contract.ts';
import type { SubnetView } from './ec2-reader.ts';
import { type Claims, claimedIPs, type EniView, ownedIPs } from './eni.ts';

/** A node's ENI as read, with the IPs this installation claims in its subnet. */
export interface EniState {
  readonly eni: EniView;
  readonly claims: Claims;
}

/**
 * The state of the ENI `eniId` from a batched answer, or `undefined` when the ENI or its subnet is not in it
 * (deleted or replaced since the node was resolved: the caller reads that node on its own).
 */
export function eniStateOf(
  eniId: string,
  enis: ReadonlyMap<string, EniView>,
  subnets: ReadonlyMap<string, SubnetView>,
  owner: string,
): EniState | undefined {
  const eni = enis.get(eniId);
  const subnet = eni && subnets.get(eni.subnetId);
  return eni && subnet ? { eni, claims: claimedIPs(subnet.tags, owner) } : undefined;
}

/**
 * The assignments on an ENI: every IP it holds that we own, sorted, with the allocation id of the Elastic IP
 * associated with that IP on that ENI (`addresses` may cover other ENIs too).
 */
export function assignmentsOn(
  node: string,
  { eni, claims }: EniState,
  addresses: readonly Address[],
): CloudAssignment[] {
  return ownedIPs(eni, claims).map((ip) => {
    const eip = addresses.find((a) => a.NetworkInterfaceId === eni.id && a.PrivateIpAddress === ip);
    return {
      ip,
      node,
      interfaceId: eni.id,
      ...(eip?.AllocationId ? { publicAddress: eip.AllocationId } : {}),
      ...(eip?.AllocationId && eip.PublicIp ? { publicIp: eip.PublicIp } : {}),
    };
  });
}
