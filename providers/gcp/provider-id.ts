/**
 * @module
 * Parsing GCE identifiers: a node's `spec.providerID` (`gce://<project>/<zone>/<instance>`) and a
 * subnetwork URL (`https://www.googleapis.com/compute/v1/projects/<p>/regions/<r>/subnetworks/<s>`; the
 * project may differ from the instance's in a Shared VPC).
 */
import { type NodeRef, ProviderError } from '../../src/provider/contract.ts';
import type { InstanceKey } from './client.ts';

/** The instance a node's providerID names. @throws ProviderError `terminal` when it is not a GCE providerID. */
export function instanceOf(node: NodeRef): InstanceKey {
  const match = /^gce:\/\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(node.providerID);
  if (!match) {
    throw new ProviderError(
      'terminal',
      `node ${node.name}: providerID "${node.providerID}" is not gce://<project>/<zone>/<instance>`,
    );
  }
  return { project: match[1]!, zone: match[2]!, instance: match[3]! };
}

/** Project, region and name of a subnetwork URL (or `projects/...` path). */
export function parseSubnetworkUrl(url: string): { project: string; region: string; name: string } {
  const match = /projects\/([^/]+)\/regions\/([^/]+)\/subnetworks\/([^/?]+)$/.exec(url);
  if (!match) throw new ProviderError('terminal', `"${url}" is not a subnetwork URL`);
  return { project: match[1]!, region: match[2]!, name: match[3]! };
}
