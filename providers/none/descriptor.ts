/**
 * @module
 * The `none` provider's registry entry: on-prem clusters, where the node agent announces the IP itself.
 */
import type { ProviderDescriptor } from '../../src/provider/descriptor.ts';

/** `none`: never detected from a providerID; chosen with `--provider none` or the gateway annotation. */
export const noneProvider: ProviderDescriptor = {
  name: 'none',
  capabilities: {
    atomicMove: true,
    publicAddresses: false,
    cloudAllocatedIPs: false,
    ownershipRecord: false,
    // On a plain LAN only the network and the broadcast address are no host's.
    subnetReserved: { first: 1, last: 1 },
  },
};
