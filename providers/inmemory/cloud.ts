/**
 * @module
 * An in-memory cloud: instances with one interface each, subnets, per-interface IP limits and owner tags.
 * It enforces what real clouds enforce (an IP on one interface at a time, subnet membership, limits) so
 * that tests of the provider contract and of the controller can fail for the same reasons as on a cloud.
 *
 * It can lie, as clouds do ({@link InMemoryCloud.lies}, lies.ts): a lost write answers and changes nothing, a
 * late write lands after its answer, a stale read ({@link InMemoryCloud.read}) answers an earlier state of an
 * interface. A write is decided on the cloud's real state, as a cloud's own API call is; only the reads a
 * provider makes (describe, list) can be stale.
 */
import { addressesIn, cidrRange, ipToBigInt } from '../../src/net/ip.ts';
import { AnswerHistory, Lies } from './lies.ts';

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
  /** The lies the cloud tells its callers (none unless set). */
  readonly lies = new Lies();
  readonly #answers = new AnswerHistory<ReadonlyMap<string, InMemoryIp>>({ equal: sameIps });

  /**
   * One mutating call on `interfaceId`: waits the write latency, then applies `change` (at once; never, for a
   * lost write; later, for a late one: `change` then acts on the state of that time), and logs the call.
   */
  async write(interfaceId: string, change: () => void): Promise<void> {
    const startedAt = performance.now();
    if (this.writeLatencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.writeLatencyMs));
    const lie = this.lies.nextWrite();
    if (lie.kind === 'honest') change();
    else if (lie.kind === 'late') this.lies.land(lie.delayMs, change);
    this.mutatingCalls++;
    this.writes.push({ interfaceId, startedAt, endedAt: performance.now() });
  }

  /**
   * The secondary IPs of `instance` as a read answers them: the state now, or, while a stale read is told, the
   * answer a read of it got at least that long ago.
   */
  read(instance: InMemoryInstance): ReadonlyMap<string, InMemoryIp> {
    const age = this.lies.nextReadAge();
    const fresh = new Map(instance.secondary);
    if (this.lies.recording) this.#answers.record(instance.name, fresh);
    return (age > 0 ? this.#answers.stale(instance.name, age) : undefined) ?? fresh;
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

  /**
   * The first `count` host addresses of `subnet` that no interface holds, the cloud does not keep, and that are
   * not in `taken`.
   */
  freeIPs(subnet: string, count: number, taken: ReadonlySet<string> = new Set()): string[] {
    const range = cidrRange(subnet);
    return [
      ...addressesIn(
        { ...range, start: range.start + 4n, end: range.end - 1n },
        (ip) => taken.has(ip) || this.holderOf(ip) !== undefined,
        count,
      ),
    ];
  }

  /** Secondary IPs of an instance's interface, sorted. */
  secondaryIPs(name: string): string[] {
    return [...(this.instances.get(name)?.secondary.keys() ?? [])].sort();
  }
}

/** Whether two answers about an interface's IPs say the same. */
function sameIps(a: ReadonlyMap<string, InMemoryIp>, b: ReadonlyMap<string, InMemoryIp>): boolean {
  if (a.size !== b.size) return false;
  for (const [ip, held] of a) {
    const other = b.get(ip);
    if (!other || other.owner !== held.owner || other.publicAddress !== held.publicAddress) return false;
  }
  return true;
}
