/**
 * @module
 * The in-memory provider's registry entry (for tests, benchmarks and development: a cloud in this process).
 */
import { IPV4_AND_IPV6 } from '../../src/provider/capabilities.ts';
import type { ProviderDescriptor } from '../../src/provider/descriptor.ts';

/** `inmemory`: nodes `inmemory:///<zone>/<name>`. */
export const inmemoryProvider: ProviderDescriptor = {
  name: 'inmemory',
  providerIDScheme: 'inmemory',
  capabilities: {
    atomicMove: true,
    publicAddresses: true,
    cloudAllocatedIPs: true,
    ownershipRecord: true,
    families: IPV4_AND_IPV6,
    subnetReserved: { first: 4, last: 1 },
  },
  testOnly: true,
};
