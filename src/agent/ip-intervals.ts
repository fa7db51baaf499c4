/**
 * @module
 * CIDR lists -> disjoint, merged intervals of one family each, written `start-end`. nftables interval sets reject
 * overlapping elements, and the agent compares set contents by these keys, so both the desired side and the
 * side read back from the kernel are normalised here.
 */
import { bigIntToIp, cidrRange, familyOfValidIp, type IpRange, ipToBigInt, isIp } from '../net/ip.ts';

/** The interval key of a range: `a.b.c.d-e.f.g.h`, or `fd00::-fd00::ffff`. */
export function intervalKey(range: IpRange): string {
  return `${bigIntToIp(range.start, range.family)}-${bigIntToIp(range.end, range.family)}`;
}

/** Parses `start-end`, a CIDR or a single IP into a range. */
export function parseInterval(text: string): IpRange {
  if (text.includes('-')) {
    const [a, b] = text.split('-') as [string, string];
    return { family: familyOfValidIp(a), start: ipToBigInt(a), end: ipToBigInt(b) };
  }
  if (isIp(text)) return { family: familyOfValidIp(text), start: ipToBigInt(text), end: ipToBigInt(text) };
  return cidrRange(text);
}

/**
 * Merges the ranges of `family` (default IPv4; the others are dropped: an nftables set holds one family) into
 * sorted, disjoint, non-adjacent ranges.
 */
export function mergeRanges(ranges: Iterable<IpRange>, family: 4 | 6 = 4): IpRange[] {
  const same = [...ranges].filter((r) => r.family === family).sort((a, b) => (a.start < b.start ? -1 : 1));
  const out: IpRange[] = [];
  for (const r of same) {
    const last = out.at(-1);
    if (last && r.start <= last.end + 1n) {
      if (r.end > last.end) out[out.length - 1] = { ...last, end: r.end };
    } else {
      out.push(r);
    }
  }
  return out;
}

/** CIDRs, IPs or `start-end` texts -> the merged interval keys of `family` (default IPv4). */
export function intervalKeys(items: Iterable<string>, family: 4 | 6 = 4): string[] {
  return mergeRanges([...items].map(parseInterval), family).map(intervalKey);
}
