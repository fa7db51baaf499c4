/**
 * @module
 * The tunnel device's MAC address, derived from the node IP: a locally administered unicast address
 * `02:ce:` followed by the four bytes of the IPv4 address. Every node computes every peer's MAC without
 * asking, so the static FDB and neighbour entries need no learning and no control-plane round trip.
 */
import { Address4 } from 'ip-address';

/** `02:ce:c0:a8:64:02` for `192.168.100.2`. */
export function tunnelMac(nodeIp: string): string {
  const bytes = new Address4(nodeIp).toArray();
  return ['02', 'ce', ...bytes.map((b) => b.toString(16).padStart(2, '0'))].join(':');
}
