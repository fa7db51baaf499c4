/**
 * @module
 * Parses an AWS node's `spec.providerID` (`aws:///<zone>/<instance-id>`) and derives the region from a zone.
 */
import { ProviderError } from '../../src/provider/contract.ts';

/** Where an AWS node's instance lives. */
export interface AwsInstanceRef {
  readonly zone: string;
  readonly instanceId: string;
}

const PROVIDER_ID = /^aws:\/\/\/([a-z0-9-]+)\/(i-[0-9a-zA-Z]+)$/;

/**
 * Parses `aws:///us-east-1a/i-0abc` (the form the AWS cloud provider writes).
 * @throws ProviderError `terminal` for any other text.
 */
export function parseAwsProviderID(nodeName: string, providerID: string): AwsInstanceRef {
  const match = PROVIDER_ID.exec(providerID);
  if (!match) {
    throw new ProviderError(
      'terminal',
      `node ${nodeName}: providerID "${providerID}" is not aws:///<zone>/<instance-id>`,
    );
  }
  return { zone: match[1]!, instanceId: match[2]! };
}

/**
 * The region of an availability zone: `us-east-1a` -> `us-east-1`; Local Zones and Wavelength zones
 * (`us-east-1-bos-1a`, `us-east-1-wl1-bos-wlz-1`) keep their parent region's first three parts.
 */
export function regionOfZone(zone: string): string {
  const parts = zone.split('-');
  if (parts.length > 3) return parts.slice(0, 3).join('-');
  return zone.replace(/[a-z]$/, '');
}
