/**
 * @module
 * The `none` provider's registry entry: on-prem clusters, where the node agent announces the IP itself.
 */
import { IPV4_AND_IPV6 } from '../../src/provider/capabilities.ts';
import type { ProviderDescriptor } from '../../src/provider/descriptor.ts';

/** `none`: never detected from a providerID; chosen with `--provider none` or the gateway annotation. */
export const noneProvider: ProviderDescriptor = {
  name: 'none',
  capabilities: {
    atomicMove: true,
    publicAddresses: false,
    cloudAllocatedIPs: false,
    ownershipRecord: false,
    // The agent announces an IPv4 IP with gratuitous ARP, an IPv6 one with an unsolicited neighbour advertisement.
    families: IPV4_AND_IPV6,
    // On a plain LAN only the network and the broadcast address are no host's.
    subnetReserved: { first: 1, last: 1 },
  },
};
