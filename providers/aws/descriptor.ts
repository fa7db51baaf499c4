/**
 * @module
 * The AWS provider's registry entry: egress IPs as secondary private IPs of EC2 ENIs.
 */
import type { ProviderDescriptor } from '../../src/provider/descriptor.ts';

/**
 * `aws`: nodes `aws:///<zone>/<instance-id>`. EC2 keeps the first four and the last address of every subnet
 * (https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html).
 */
export const awsProvider: ProviderDescriptor = {
  name: 'aws',
  providerIDScheme: 'aws',
  capabilities: {
    atomicMove: true,
    publicAddresses: true,
    cloudAllocatedIPs: true,
    ownershipRecord: true,
    subnetReserved: { first: 4, last: 1 },
  },
};
