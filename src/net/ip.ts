/**
 * @module
 * IP, CIDR and range helpers over the ip-address library (no hand-written bit math).
 * Addresses are compared and counted as bigints; IPv4 and IPv6 never mix.
 */
import { Address4, Address6 } from 'ip-address';

/** An address family. */
export type IpFamily = 4 | 6;

/** An inclusive range of addresses of one family. */
export interface IpRange {
  readonly family: IpFamily;
  readonly start: bigint;
  readonly end: bigint;
}

/** Thrown for text that is not an IP, CIDR or range. */
export class InvalidAddressError extends Error {
  override readonly name = 'InvalidAddressError';
}

function parseAddress(text: string): Address4 | Address6 {
  if (Address4.isValid(text)) return new Address4(text);
  if (Address6.isValid(text)) return new Address6(text);
  throw new InvalidAddressError(`"${text}" is not an IP address or CIDR`);
}

/** True when `text` is an IPv4 or IPv6 address without a prefix. */
export function isIp(text: string): boolean {
  return !text.includes('/') && (Address4.isValid(text) || Address6.isValid(text));
}

/** True when `text` is a CIDR with an explicit prefix length. */
export function isCidr(text: string): boolean {
  return text.includes('/') && (Address4.isValid(text) || Address6.isValid(text));
}

/** The family of an address or CIDR. */
export function familyOf(text: string): IpFamily {
  return parseAddress(text) instanceof Address4 ? 4 : 6;
}

/** The canonical text of an address: `10.0.0.1`, or compressed lowercase IPv6. */
export function canonicalIp(text: string): string {
  const addr = parseAddress(text);
  return addr instanceof Address4 ? addr.correctForm() : addr.correctForm();
}

/**
 * Bounded memo of conversions between address text and numbers. The controller plans the same few
 * thousand IPs over and over; parsing each through ip-address every time dominated a plan's cost.
 */
class ConversionMemo<K, V> {
  readonly #map = new Map<K, V>();
  readonly #limit: number;
  constructor(limit: number) {
    this.#limit = limit;
  }
  get(key: K, compute: (key: K) => V): V {
    let value = this.#map.get(key);
    if (value === undefined) {
      if (this.#map.size >= this.#limit) this.#map.clear();
      value = compute(key);
      this.#map.set(key, value);
    }
    return value;
  }
}
const MEMO_LIMIT = 1 << 18;
const toNumber = new ConversionMemo<string, bigint>(MEMO_LIMIT);
const toText4 = new ConversionMemo<bigint, string>(MEMO_LIMIT);
const toText6 = new ConversionMemo<bigint, string>(MEMO_LIMIT);

/** The number an address stands for. */
export function ipToBigInt(text: string): bigint {
  return toNumber.get(text, (t) => parseAddress(t).bigInt());
}

/** The address a number stands for in `family`. */
export function bigIntToIp(value: bigint, family: IpFamily): string {
  return family === 4
    ? toText4.get(value, (v) => Address4.fromBigInt(v).correctForm())
    : toText6.get(value, (v) => Address6.fromBigInt(v).correctForm());
}

/** The family of an address already known to be valid (cheap: no parsing). */
export function familyOfValidIp(ip: string): IpFamily {
  return ip.includes(':') ? 6 : 4;
}

/** The inclusive range a CIDR covers. */
export function cidrRange(cidr: string): IpRange {
  const net = parseAddress(cidr);
  return {
    family: net instanceof Address4 ? 4 : 6,
    start: net.startAddress().bigInt(),
    end: net.endAddress().bigInt(),
  };
}

/**
 * The range of one pool entry: an IP, a CIDR, or `start-end`. For an IPv4 CIDR shorter than /31 the
 * network and broadcast addresses are left out (no host may use them).
 * @throws InvalidAddressError with a message naming the entry.
 */
export function poolEntryRange(entry: string): IpRange {
  if (entry.includes('-')) {
    const [a, b, ...rest] = entry.split('-');
    if (rest.length > 0 || !a || !b || !isIp(a) || !isIp(b)) {
      throw new InvalidAddressError(`"${entry}" is not a range start-end of two IP addresses`);
    }
    const family = familyOf(a);
    if (familyOf(b) !== family) throw new InvalidAddressError(`"${entry}" mixes IPv4 and IPv6`);
    const start = ipToBigInt(a);
    const end = ipToBigInt(b);
    if (start > end) throw new InvalidAddressError(`"${entry}": the range start ${a} is after its end ${b}`);
    return { family, start, end };
  }
  if (isCidr(entry)) {
    const range = cidrRange(entry);
    const prefix = Number(entry.split('/')[1]);
    if (range.family === 4 && prefix < 31) return { ...range, start: range.start + 1n, end: range.end - 1n };
    return range;
  }
  if (isIp(entry)) {
    const value = ipToBigInt(entry);
    return { family: familyOf(entry), start: value, end: value };
  }
  throw new InvalidAddressError(`"${entry}" is not an IP, a CIDR or a range start-end`);
}

/** True when `ip` (an address, or a whole CIDR) lies inside `cidr` (false across families). */
export function cidrContains(cidr: string, ip: string): boolean {
  const net = parseAddress(cidr);
  const addr = parseAddress(ip);
  if (net instanceof Address4) return addr instanceof Address4 && addr.isInSubnet(net);
  return addr instanceof Address6 && addr.isInSubnet(net);
}

/** True when `ip` lies inside `range`. */
export function rangeContains(range: IpRange, ip: string): boolean {
  if (familyOf(ip) !== range.family) return false;
  const value = ipToBigInt(ip);
  return value >= range.start && value <= range.end;
}

/** True when two ranges share an address. */
export function rangesOverlap(a: IpRange, b: IpRange): boolean {
  return a.family === b.family && a.start <= b.end && b.start <= a.end;
}

/** Number of addresses in a range. */
export function rangeSize(range: IpRange): bigint {
  return range.end - range.start + 1n;
}

/**
 * Yields the addresses of `range` in order, skipping those for which `skip` returns true, until `limit`
 * have been yielded. Lazy: a /64 costs only what is taken from it.
 */
export function* addressesIn(
  range: IpRange,
  skip: (ip: string) => boolean = () => false,
  limit = Infinity,
): Generator<string> {
  let yielded = 0;
  for (let value = range.start; value <= range.end && yielded < limit; value++) {
    const ip = bigIntToIp(value, range.family);
    if (skip(ip)) continue;
    yielded++;
    yield ip;
  }
}
