/**
 * @module
 * CIDR lists -> disjoint, merged IPv4 intervals, written `start-end`. nftables interval sets reject
 * overlapping elements, and the agent compares set contents by these keys, so both the desired side and the
 * side read back from the kernel are normalised here.
 */
import { bigIntToIp, cidrRange, type IpRange, ipToBigInt, isIp } from '../net/ip.ts';

/** The interval key of a range: `a.b.c.d-e.f.g.h`. */
export function intervalKey(range: IpRange): string {
  return `${bigIntToIp(range.start, range.family)}-${bigIntToIp(range.end, range.family)}`;
}

/** Parses `start-end`, a CIDR or a single IP into a range. */
export function parseInterval(text: string): IpRange {
  if (text.includes('-')) {
    const [a, b] = text.split('-') as [string, string];
    return { family: 4, start: ipToBigInt(a), end: ipToBigInt(b) };
  }
  if (isIp(text)) return { family: 4, start: ipToBigInt(text), end: ipToBigInt(text) };
  return cidrRange(text);
}

/** Merges ranges (IPv4 only; others are dropped) into sorted, disjoint, non-adjacent ranges. */
export function mergeRanges(ranges: Iterable<IpRange>): IpRange[] {
  const v4 = [...ranges].filter((r) => r.family === 4).sort((a, b) => (a.start < b.start ? -1 : 1));
  const out: IpRange[] = [];
  for (const r of v4) {
    const last = out.at(-1);
    if (last && r.start <= last.end + 1n) {
      if (r.end > last.end) out[out.length - 1] = { ...last, end: r.end };
    } else {
      out.push(r);
    }
  }
  return out;
}

/** CIDRs, IPs or `start-end` texts (IPv4) -> merged interval keys. */
export function intervalKeys(items: Iterable<string>): string[] {
  return mergeRanges([...items].map(parseInterval)).map(intervalKey);
}
