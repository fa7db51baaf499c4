/**
 * @module
 * The tunnel device's MAC address, derived from the node IP: a locally administered unicast address
 * `02:ce:` followed by the four bytes of the IPv4 address. Every node computes every peer's MAC without
 * asking, so the static FDB and neighbour entries need no learning and no control-plane round trip. IPv6
 * routes into the tunnel need an IPv6 next hop (the kernel takes no IPv4 gateway for them): each node's
 * {@link tunnelLinkLocal}, a permanent neighbour entry for its MAC, never an address on any device.
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

/** `fe80::c0a8:6402` for `192.168.100.2`: the IPv6 next hop of the routes into the tunnel to that node. */
export function tunnelLinkLocal(nodeIp: string): string {
  const [a, b, c, d] = new Address4(nodeIp).toArray() as [number, number, number, number];
  return `fe80::${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}
