/**
 * @module
 * The Azure provider's registry entry: egress IPs as secondary ipConfigurations of NICs.
 */
import type { ProviderDescriptor } from '../../src/provider/descriptor.ts';

/** `azure`: nodes `azure:///subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Compute/virtualMachines/<vm>`. */
export const azureProvider: ProviderDescriptor = {
  name: 'azure',
  providerIDScheme: 'azure',
  capabilities: { atomicMove: false, publicAddresses: true, cloudAllocatedIPs: true, ownershipRecord: true },
};
