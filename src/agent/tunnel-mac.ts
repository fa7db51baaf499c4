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

/**
 * The source MAC a planned move's copy carries for a frame that came from the node with tunnel MAC `mac`
 * (nft-model.ts, the copies' table): `02:cf:` and the same four bytes. The gateway that receives the copy reads
 * the pod's node from it (return path `tunnel`), and copies nothing that carries one (no copy of a copy).
 */
export function copyMac(mac: string): string {
  return `02:cf:${mac.slice(6)}`;
}
