/**
 * @module
 * Where the pools of two gateways overlap (their `spec.ips`): a misconfiguration the controller reports on
 * both gateways. The IPs in both still have one owner each (ownership.ts). Pure.
 */
import { bigIntToIp, InvalidAddressError, type IpRange, poolEntryRange } from '../net/ip.ts';

/** Another gateway whose pool shares addresses with this one's. */
export interface PoolOverlap {
  readonly gateway: string;
  /** The shared addresses, as `start-end` ranges (or single IPs), in the order of this pool's entries. */
  readonly shared: readonly string[];
}

const ranges = (entries: readonly string[]): IpRange[] =>
  entries.flatMap((entry) => {
    try {
      return [poolEntryRange(entry)];
    } catch (err) {
      if (err instanceof InvalidAddressError) return []; // reported as InvalidSpec
      throw err;
    }
  });

const text = (r: IpRange) =>
  r.start === r.end
    ? bigIntToIp(r.start, r.family)
    : `${bigIntToIp(r.start, r.family)}-${bigIntToIp(r.end, r.family)}`;

/** The gateways of `others` (name and pool) whose pools overlap `pool`, sorted by name. */
export function poolOverlaps(
  pool: readonly string[],
  others: readonly { readonly name: string; readonly pool: readonly string[] }[],
): PoolOverlap[] {
  const mine = ranges(pool);
  const out: PoolOverlap[] = [];
  for (const other of [...others].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const theirs = ranges(other.pool);
    const shared: string[] = [];
    for (const a of mine) {
      for (const b of theirs) {
        if (a.family !== b.family || a.start > b.end || b.start > a.end) continue;
        const s = text({
          family: a.family,
          start: a.start > b.start ? a.start : b.start,
          end: a.end < b.end ? a.end : b.end,
        });
        if (!shared.includes(s)) shared.push(s);
      }
    }
    if (shared.length > 0) out.push({ gateway: other.name, shared });
  }
  return out;
}
