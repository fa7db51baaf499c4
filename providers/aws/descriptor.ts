/**
 * @module
 * The AWS provider's registry entry: egress IPs as secondary private IPs of EC2 ENIs.
 */
import { IPV4_AND_IPV6 } from '../../src/provider/capabilities.ts';
import type { ProviderDescriptor } from '../../src/provider/descriptor.ts';

/**
 * `aws`: nodes `aws:///<zone>/<instance-id>`. EC2 keeps the first four and the last address of every subnet
 * (https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html). IPv6 egress IPs are ENI IPv6 addresses
 * (`AssignIpv6Addresses`; a move first unassigns it from the old ENI, EC2 having no reassignment for IPv6).
 */
export const awsProvider: ProviderDescriptor = {
  name: 'aws',
  providerIDScheme: 'aws',
  capabilities: {
    atomicMove: true,
    publicAddresses: true,
    cloudAllocatedIPs: true,
    ownershipRecord: true,
    families: IPV4_AND_IPV6,
    subnetReserved: { first: 4, last: 1 },
  },
};
