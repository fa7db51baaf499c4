/**
 * @module
 * The Azure emulator's wire shapes (ARM JSON, `properties` nested) and small helpers shared by its state
 * (cloud.ts) and its NIC rules (nic-rules.ts).
 */
import { familyOf } from '../../../src/net/ip.ts';

/** Most ipConfigurations (private IPs) a NIC may hold. */
export const MAX_IP_CONFIGURATIONS_PER_NIC = 256;

/** A JSON object as it travels on the wire. */
export type Json = Record<string, unknown>;

/** An ipConfiguration in ARM's wire shape. */
export interface WireIpConfiguration {
  name: string;
  id?: string;
  etag?: string;
  type?: string;
  properties: {
    privateIPAddress?: string;
    privateIPAllocationMethod?: string;
    privateIPAddressVersion?: string;
    primary?: boolean;
    subnet?: { id: string };
    publicIPAddress?: { id: string };
    applicationSecurityGroups?: { id: string }[];
    provisioningState?: string;
    [key: string]: unknown;
  };
}

/** A NIC as stored: ARM's wire body. */
export interface WireNic {
  id: string;
  name: string;
  type: string;
  location: string;
  etag: string;
  tags?: Record<string, string>;
  properties: { ipConfigurations: WireIpConfiguration[]; provisioningState: string; [key: string]: unknown };
}

/** ARM compares resource IDs case-insensitively: the key of an ID. */
export const key = (id: string) => id.toLowerCase();
/** `IPv4` or `IPv6`. */
export const ipVersion = (ip: string) => (familyOf(ip) === 4 ? 'IPv4' : 'IPv6');
/** A deep copy. */
export const clone = <T>(value: T): T => structuredClone(value);

/** Non-primary IPs of a wire NIC, sorted. */
export function secondaryIPsOf(nic: WireNic): string[] {
  return nic.properties.ipConfigurations
    .filter((c) => !c.properties.primary && c.properties.privateIPAddress)
    .map((c) => c.properties.privateIPAddress!)
    .sort();
}
