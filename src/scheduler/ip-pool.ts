/**
 * @module
 * A gateway's IP pool: its `spec.ips` entries (IPs, CIDRs, ranges) and cloud-allocated IPs, with lazy
 * iteration of free addresses. A /16 or a /64 costs only the addresses taken from it.
 */
import {
  bigIntToIp,
  familyOfValidIp,
  InvalidAddressError,
  type IpRange,
  ipToBigInt,
  poolEntryRange,
} from '../net/ip.ts';

/** One range of a pool with a cursor to the next address not yet handed out. */
interface Cursor {
  readonly range: IpRange;
  next: bigint;
}

/** A gateway's pool. */
export class IpPool {
  readonly #cursors: Cursor[];
  readonly #ranges: IpRange[];
  /** Entries that did not parse, with the reason (the controller reports them as InvalidSpec). */
  readonly invalid: readonly { entry: string; message: string }[];

  constructor(entries: readonly string[], extraIPs: readonly string[] = []) {
    const invalid: { entry: string; message: string }[] = [];
    const ranges: IpRange[] = [];
    for (const entry of [...entries, ...extraIPs]) {
      try {
        ranges.push(poolEntryRange(entry));
      } catch (err) {
        if (!(err instanceof InvalidAddressError)) throw err;
        invalid.push({ entry, message: err.message });
      }
    }
    this.#ranges = ranges;
    this.#cursors = ranges.map((range) => ({ range, next: range.start }));
    this.invalid = invalid;
  }

  /** The ranges of the pool, in spec order. */
  get ranges(): readonly IpRange[] {
    return this.#ranges;
  }

  /** True when `ip` is in the pool. */
  contains(ip: string, value: bigint = ipToBigInt(ip)): boolean {
    const family = familyOfValidIp(ip);
    return this.#ranges.some((r) => r.family === family && value >= r.start && value <= r.end);
  }

  /**
   * The next address of range `index` for which `taken` is false, or undefined when the range is used up.
   * Addresses skipped as taken stay skipped: callers only ever add to `taken` during one plan.
   */
  nextFree(
    index: number,
    taken: (ip: string, value: bigint) => boolean,
  ): { ip: string; value: bigint } | undefined {
    const cursor = this.#cursors[index];
    if (!cursor) return undefined;
    while (cursor.next <= cursor.range.end) {
      const value = cursor.next;
      const ip = bigIntToIp(value, cursor.range.family);
      cursor.next++;
      if (!taken(ip, value)) return { ip, value };
    }
    return undefined;
  }

  /** Number of addresses in the pool (bigint: an IPv6 pool can be huge). */
  size(): bigint {
    return this.#ranges.reduce((n, r) => n + (r.end - r.start + 1n), 0n);
  }
}
