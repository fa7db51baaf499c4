/**
 * @module
 * The GCP provider's registry entry: egress IPs as alias IP ranges of GCE network interfaces.
 */
import type { ProviderDescriptor } from '../../src/provider/descriptor.ts';

/** `gcp`: nodes `gce://<project>/<zone>/<instance>`. */
export const gcpProvider: ProviderDescriptor = {
  name: 'gcp',
  providerIDScheme: 'gce',
  capabilities: {
    atomicMove: false,
    publicAddresses: false,
    publicAddressHint:
      "public addresses are not paired with alias IPs on GCP (an access config maps only the NIC's primary IP); use Cloud NAT on the egress range (docs/gcp.md)",
    cloudAllocatedIPs: true,
    ownershipRecord: true,
  },
};
