/**
 * @module
 * The AWS provider's registry entry: egress IPs as secondary private IPs of EC2 ENIs.
 */
import type { ProviderDescriptor } from '../../src/provider/descriptor.ts';

/** `aws`: nodes `aws:///<zone>/<instance-id>`. */
export const awsProvider: ProviderDescriptor = {
  name: 'aws',
  providerIDScheme: 'aws',
  capabilities: { atomicMove: true, publicAddresses: true, cloudAllocatedIPs: true, ownershipRecord: true },
};
