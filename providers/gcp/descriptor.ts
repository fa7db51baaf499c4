/**
 * @module
 * The GCP provider's registry entry: egress IPs as alias IP ranges of GCE network interfaces.
 */
import { IPV4_ONLY } from '../../src/provider/capabilities.ts';
import type { ProviderDescriptor } from '../../src/provider/descriptor.ts';

/**
 * `gcp`: nodes `gce://<project>/<zone>/<instance>`. IPv4 only: alias IP ranges carry IPv4 only, and Compute Engine
 * has no other address a VM can be given and have taken away while it runs (docs/gcp.md, "IPv6").
 */
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
    families: IPV4_ONLY,
    familiesHint:
      "GCP alias IP ranges carry IPv4 only, and a VM's own IPv6 range cannot be moved to another VM (docs/gcp.md)",
  },
};
