/**
 * @module
 * Egress IP -> mark id, the same on every node without coordination. The id travels in the packet mark on
 * the source node and in the VXLAN-GBP header to the gateway, which SNATs by it; so two IPs must never
 * share an id, and an IP's id should not change when other IPs come and go.
 *
 * ```
 * preferred id = 1 + (ip as a number) mod maxId     contiguous pools never collide
 * collisions   : IPs sorted by (preferred id, ip); each takes the first free id from its preferred one on
 * reserved ids : never given out (the return path's id), treated as taken
 * ```
 * The gateways' node ids (return path `tunnel`) are assigned the same way from the node IPs.
 */
import { ipToBigInt } from '../net/ip.ts';

/** Thrown when there are more egress IPs than ids. */
export class MarkIdsExhaustedError extends Error {
  override readonly name = 'MarkIdsExhaustedError';
}

/** The id each IP gets, for ids `1..maxId` except `reserved`. */
export function assignMarkIds(
  ips: Iterable<string>,
  maxId: number,
  reserved: ReadonlySet<number> = new Set(),
): Map<string, number> {
  const unique = [...new Set(ips)];
  const free = maxId - [...reserved].filter((id) => id >= 1 && id <= maxId).length;
  if (unique.length > free) {
    throw new MarkIdsExhaustedError(`${unique.length} IPs do not fit into ${free} mark ids`);
  }
  const preferred = new Map(unique.map((ip) => [ip, 1 + Number(ipToBigInt(ip) % BigInt(maxId))]));
  const order = unique.sort((a, b) => preferred.get(a)! - preferred.get(b)! || (a < b ? -1 : a > b ? 1 : 0));
  const taken = new Set<number>(reserved);
  const out = new Map<string, number>();
  for (const ip of order) {
    let id = preferred.get(ip)!;
    while (taken.has(id)) id = (id % maxId) + 1;
    taken.add(id);
    out.set(ip, id);
  }
  return out;
}
