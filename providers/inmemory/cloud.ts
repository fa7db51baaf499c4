/**
 * @module
 * An in-memory cloud: instances with one interface each, subnets, per-interface IP limits and owner tags.
 * It enforces what real clouds enforce (an IP on one interface at a time, subnet membership, limits) so
 * that tests of the provider contract and of the controller can fail for the same reasons as on a cloud.
 */
import { addressesIn, cidrRange, ipToBigInt } from '../../src/net/ip.ts';

/** One secondary IP on an interface; `owner` is the ownership tag value, undefined for other tools' IPs. */
export interface InMemoryIp {
  readonly ip: string;
  readonly owner: string | undefined;
  /** The public address paired with it, if any. */
  readonly publicAddress?: string;
}

/** An instance with its single network interface. */
export interface InMemoryInstance {
  readonly name: string;
  readonly zone: string;
  readonly interfaceId: string;
  readonly subnet: string;
  readonly primaryIP: string;
  /** Most IPs the interface can hold, the primary included. */
  limit: number;
  readonly secondary: Map<string, InMemoryIp>;
}

/** One write of an interface, as the cloud logs it (what the conformance suite checks "batched" and "serialised" by). */
export interface InMemoryWrite {
  readonly interfaceId: string;
  /** `performance.now()` when the call came in, and when it was done. */
  readonly startedAt: number;
  readonly endedAt: number;
}

/** The in-memory cloud's state, its mutating-call counter and its log of interface writes. */
export class InMemoryCloud {
  readonly instances = new Map<string, InMemoryInstance>();
  /** Mutating calls made, one per interface write. */
  mutatingCalls = 0;
  /** Every interface write, in the order they ended. */
  readonly writes: InMemoryWrite[] = [];
  /**
   * How long a write takes, in ms (default 0: at once). With a latency, the change lands at the end of the call,
   * as on a cloud, so two writes of one interface that overlap would act on a stale read.
   */
  writeLatencyMs = 0;

  /** One mutating call on `interfaceId`: waits the write latency, then applies `change`, and logs the call. */
  async write(interfaceId: string, change: () => void): Promise<void> {
    const startedAt = performance.now();
    if (this.writeLatencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.writeLatencyMs));
    change();
    this.mutatingCalls++;
    this.writes.push({ interfaceId, startedAt, endedAt: performance.now() });
  }

  /** Adds an instance; `limit` counts the primary IP too. */
  addInstance(spec: {
    name: string;
    zone: string;
    subnet: string;
    primaryIP: string;
    limit?: number;
  }): InMemoryInstance {
    const instance: InMemoryInstance = {
      ...spec,
      interfaceId: `nic-${spec.name}`,
      limit: spec.limit ?? 30,
      secondary: new Map(),
    };
    this.instances.set(spec.name, instance);
    return instance;
  }

  /** The instance holding `ip` (primary or secondary), if any. */
  holderOf(ip: string): InMemoryInstance | undefined {
    for (const inst of this.instances.values()) {
      if (inst.primaryIP === ip || inst.secondary.has(ip)) return inst;
    }
    return undefined;
  }

  /**
   * True when `ip` is one of the addresses the cloud keeps in `subnet`: the first four and the last, as on AWS
   * (https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html); the descriptor declares the same.
   */
  reserved(subnet: string, ip: string): boolean {
    const range = cidrRange(subnet);
    const value = ipToBigInt(ip);
    return value - range.start < 4n || range.end - value < 1n;
  }

  /** The first `count` host addresses of `subnet` that no interface holds and the cloud does not keep. */
  freeIPs(subnet: string, count: number): string[] {
    const range = cidrRange(subnet);
    return [
      ...addressesIn(
        { ...range, start: range.start + 4n, end: range.end - 1n },
        (ip) => this.holderOf(ip) !== undefined,
        count,
      ),
    ];
  }

  /** Secondary IPs of an instance's interface, sorted. */
  secondaryIPs(name: string): string[] {
    return [...(this.instances.get(name)?.secondary.keys() ?? [])].sort();
  }
}
