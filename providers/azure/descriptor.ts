/**
 * @module
 * The Azure provider's registry entry: egress IPs as secondary ipConfigurations of NICs.
 */
import { IPV4_AND_IPV6 } from '../../src/provider/capabilities.ts';
import type { ProviderDescriptor } from '../../src/provider/descriptor.ts';

/** `azure`: nodes `azure:///subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Compute/virtualMachines/<vm>`. */
export const azureProvider: ProviderDescriptor = {
  name: 'azure',
  providerIDScheme: 'azure',
  capabilities: {
    // An ipConfiguration has its privateIPAddressVersion, IPv4 or IPv6.
    families: IPV4_AND_IPV6,
    atomicMove: false,
    publicAddresses: true,
    cloudAllocatedIPs: true,
    ownershipRecord: true,
  },
};
