/**
 * @module
 * An in-memory cloud: instances with one interface each, subnets, per-interface IP limits and owner tags.
 * It enforces what real clouds enforce (an IP on one interface at a time, subnet membership, limits) so
 * that tests of the provider contract and of the controller can fail for the same reasons as on a cloud.
 */
import { addressesIn, cidrRange } from '../../src/net/ip.ts';

/** One secondary IP on an interface; `owner` is the ownership tag value, undefined for other tools' IPs. */
export interface InMemoryIp {
  readonly ip: string;
  readonly owner: string | undefined;
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

/** The in-memory cloud's state and its mutating-call counter. */
export class InMemoryCloud {
  readonly instances = new Map<string, InMemoryInstance>();
  /** Mutating calls made, one per interface write. */
  mutatingCalls = 0;

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

  /** The first `count` host addresses of `subnet` that no interface holds (the first four are reserved, as on AWS). */
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
