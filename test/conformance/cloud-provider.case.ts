/**
 * @module
 * The provider conformance suite (hono's shared contract tests): every provider runs it, the in-memory
 * fake, AWS on LocalStack, GCP and Azure on their emulators. Each case reads the cloud's own state
 * afterwards through {@link ConformanceWorld.cloudIPs} (e.g. `DescribeNetworkInterfaces`), never only the
 * provider's return value.
 *
 * ```ts
 * describe('aws on LocalStack', () => runProviderConformance({ name: 'aws', setup: startAwsWorld }));
 * ```
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cidrContains } from '../../src/net/ip.ts';
import type { ApplyResult, Change, CloudProvider, NodeRef } from '../../src/provider/contract.ts';

/**
 * One write of an interface as the cloud saw it, from the call's arrival until its change was done (for clouds
 * with long-running operations, until the operation was DONE), in `performance.now()` time.
 */
export interface InterfaceWrite {
  readonly interfaceId: string;
  readonly startedAt: number;
  readonly endedAt: number;
}

/** A node of the conformance world. */
export interface WorldNode {
  readonly ref: NodeRef;
  /** The subnet (CIDR) the node's egress interface is in. */
  readonly subnet: string;
}

/**
 * What a provider's test set-up gives the suite. The world has three nodes: `a` and `b` share a subnet,
 * `c` is in another subnet (on AWS another zone).
 */
export interface ConformanceWorld {
  readonly provider: CloudProvider;
  readonly nodes: { readonly a: WorldNode; readonly b: WorldNode; readonly c: WorldNode };
  /** A node whose instance does not exist in the cloud. */
  readonly missing: NodeRef;
  /** `count` addresses in `subnet` that no interface holds and the cloud lets a node use. */
  freeIPs(subnet: string, count: number): Promise<string[]>;
  /** An address inside no subnet of the world. */
  readonly outsideIP: string;
  /** The cloud's own view: every secondary (non-primary) IP on the node's egress interface, sorted. */
  cloudIPs(node: WorldNode): Promise<string[]>;
  /** The primary IP of the node's egress interface, from the cloud. */
  primaryIP(node: WorldNode): Promise<string>;
  /** Puts `ip` on the node's interface as another tool would (not owned by cloud-egress). */
  addForeignIP(node: WorldNode, ip: string): Promise<void>;
  /**
   * A free address another tool could put on the node's interface; default one from `node.subnet`. On GCP
   * ownership is the egress secondary range itself, so another tool's alias IP comes from another range.
   */
  foreignIP?(node: WorldNode): Promise<string>;
  /**
   * The interface writes the cloud saw since the last {@link reset}: calls that change an interface's IPs (AWS
   * Assign/UnassignPrivateIpAddresses, GCP updateNetworkInterface, Azure NIC PUT). Calls the cloud refused for
   * concurrency (a stale fingerprint or etag, another operation in progress) are in the log too, ending with
   * their answer, so that a write sent while another is in flight shows even where the cloud refuses it.
   */
  writes(): Promise<readonly InterfaceWrite[]>;
  /** Removes every secondary IP from every node and clears the write log (between cases). */
  reset(): Promise<void>;
  /** Frees everything the world started. */
  close(): Promise<void>;
}

/** Options of {@link runProviderConformance}. */
export interface ConformanceOptions {
  readonly name: string;
  readonly setup: () => Promise<ConformanceWorld>;
  /** Cases to skip, each with its reason. */
  readonly skip?: readonly { readonly test: string; readonly reason: string }[];
}

const failures = (result: ApplyResult) => result.outcomes.filter((o) => !o.ok);
const assign = (ip: string, node: WorldNode, from?: WorldNode): Change =>
  from ? { kind: 'assign', ip, node: node.ref, from: from.ref } : { kind: 'assign', ip, node: node.ref };
const release = (ip: string, node: WorldNode): Change => ({ kind: 'release', ip, node: node.ref });

/** Registers the contract's cases under a `describe` block. */
export function runProviderConformance(options: ConformanceOptions): void {
  describe(`provider contract: ${options.name}`, () => {
    let world: ConformanceWorld;
    let a: WorldNode;
    let b: WorldNode;
    let c: WorldNode;
    const skipped = new Map(options.skip?.map((s) => [s.test, s.reason]));
    const test = (title: string, fn: () => Promise<void>) => {
      const reason = skipped.get(title);
      if (reason) it.skip(`${title} (skipped: ${reason})`, fn);
      else
        it(title, async () => {
          await world.reset();
          await fn();
        });
    };

    beforeAll(async () => {
      world = await options.setup();
      ({ a, b, c } = world.nodes);
    });
    afterAll(async () => {
      await world?.close();
    });

    test('describeNode reports the interface, subnet, zone and free slots', async () => {
      const net = await world.provider.describeNode(a.ref);
      expect(net.node).toBe(a.ref.name);
      expect(net.interfaceId).not.toBe('');
      expect(net.zone).not.toBe('');
      expect(net.subnets).toContain(a.subnet);
      expect(net.freeSlots).toBeGreaterThan(0);
      expect(net.reservedIPs).toContain(await world.primaryIP(a));
      expect(net.ownedIPs).toEqual([]);
    });

    test('describeNode of a missing instance fails notFound', async () => {
      await expect(world.provider.describeNode(world.missing)).rejects.toMatchObject({ kind: 'notFound' });
    });

    test('assign puts the IP on the interface and listAssignments reports it', async () => {
      const [ip] = await world.freeIPs(a.subnet, 1);
      const result = await world.provider.apply({ changes: [assign(ip!, a)] });
      expect(failures(result)).toEqual([]);
      expect(await world.cloudIPs(a)).toEqual([ip]);
      const listed = await world.provider.listAssignments([a.ref, b.ref, c.ref]);
      expect(listed.map((l) => [l.ip, l.node])).toEqual([[ip, a.ref.name]]);
      expect((await world.provider.describeNode(a.ref)).ownedIPs).toEqual([ip]);
    });

    test('assign is idempotent', async () => {
      const [ip] = await world.freeIPs(a.subnet, 1);
      await world.provider.apply({ changes: [assign(ip!, a)] });
      const again = await world.provider.apply({ changes: [assign(ip!, a)] });
      expect(failures(again)).toEqual([]);
      expect(await world.cloudIPs(a)).toEqual([ip]);
    });

    test('a move leaves the IP on exactly one interface', async () => {
      const [ip] = await world.freeIPs(a.subnet, 1);
      await world.provider.apply({ changes: [assign(ip!, a)] });
      const moved = await world.provider.apply({ changes: [assign(ip!, b, a)] });
      expect(failures(moved)).toEqual([]);
      expect(await world.cloudIPs(a)).toEqual([]);
      expect(await world.cloudIPs(b)).toEqual([ip]);
      const listed = await world.provider.listAssignments([a.ref, b.ref]);
      expect(listed.map((l) => [l.ip, l.node])).toEqual([[ip, b.ref.name]]);
    });

    test('release removes the IP and is idempotent', async () => {
      const [ip] = await world.freeIPs(a.subnet, 1);
      await world.provider.apply({ changes: [assign(ip!, a)] });
      expect(failures(await world.provider.apply({ changes: [release(ip!, a)] }))).toEqual([]);
      expect(await world.cloudIPs(a)).toEqual([]);
      expect(failures(await world.provider.apply({ changes: [release(ip!, a)] }))).toEqual([]);
      expect(await world.cloudIPs(a)).toEqual([]);
    });

    test('a batch assigns many IPs to several interfaces', async () => {
      const ips = await world.freeIPs(a.subnet, 10);
      const changes = ips.map((ip, i) => assign(ip, i % 2 === 0 ? a : b));
      const result = await world.provider.apply({ changes });
      expect(failures(result)).toEqual([]);
      expect(result.outcomes).toHaveLength(10);
      expect(await world.cloudIPs(a)).toEqual(ips.filter((_, i) => i % 2 === 0).sort());
      expect(await world.cloudIPs(b)).toEqual(ips.filter((_, i) => i % 2 === 1).sort());
    });

    test('moving a batch off a node empties it', async () => {
      const ips = await world.freeIPs(a.subnet, 6);
      await world.provider.apply({ changes: ips.map((ip) => assign(ip, a)) });
      const result = await world.provider.apply({ changes: ips.map((ip) => assign(ip, b, a)) });
      expect(failures(result)).toEqual([]);
      expect(await world.cloudIPs(a)).toEqual([]);
      expect(await world.cloudIPs(b)).toEqual([...ips].sort());
    });

    test("an IP outside the interface's subnet fails terminal and changes nothing", async () => {
      const [other] = await world.freeIPs(c.subnet, 1);
      expect(cidrContains(a.subnet, other!)).toBe(false);
      for (const ip of [other!, world.outsideIP]) {
        const result = await world.provider.apply({ changes: [assign(ip, a)] });
        const [outcome] = result.outcomes;
        expect(outcome?.ok).toBe(false);
        expect(outcome?.ok === false && outcome.error.kind).toBe('terminal');
        expect(outcome?.ok === false && outcome.error.message).toContain(ip);
      }
      expect(await world.cloudIPs(a)).toEqual([]);
    });

    test('one failing change does not fail the others', async () => {
      const [good] = await world.freeIPs(c.subnet, 1);
      const result = await world.provider.apply({ changes: [assign(world.outsideIP, a), assign(good!, c)] });
      expect(result.outcomes.map((o) => o.ok)).toEqual([false, true]);
      expect(await world.cloudIPs(c)).toEqual([good]);
    });

    test('past the interface limit fails capacity and leaves nothing partial', async () => {
      const { freeSlots } = await world.provider.describeNode(c.ref);
      const ips = await world.freeIPs(c.subnet, freeSlots + 1);
      const result = await world.provider.apply({ changes: ips.map((ip) => assign(ip, c)) });
      expect(result.outcomes.some((o) => !o.ok && o.error.kind === 'capacity')).toBe(true);
      const held = await world.cloudIPs(c);
      expect(held.length === 0 || held.length === freeSlots).toBe(true);
    });

    test('IPs it does not own are never listed, moved or released', async () => {
      const [first, mine] = await world.freeIPs(a.subnet, 2);
      const foreign = world.foreignIP ? await world.foreignIP(a) : first!;
      await world.addForeignIP(a, foreign);
      await world.provider.apply({ changes: [assign(mine!, a)] });
      expect((await world.provider.listAssignments([a.ref])).map((l) => l.ip)).toEqual([mine]);
      const net = await world.provider.describeNode(a.ref);
      expect(net.reservedIPs).toContain(foreign);
      expect(net.ownedIPs).toEqual([mine]);

      const rel = await world.provider.apply({ changes: [release(foreign!, a)] });
      expect(rel.outcomes[0]?.ok).toBe(false);
      const steal = await world.provider.apply({ changes: [assign(foreign!, b, a)] });
      expect(steal.outcomes[0]?.ok).toBe(false);
      const primary = await world.primaryIP(a);
      const relPrimary = await world.provider.apply({ changes: [release(primary, a)] });
      expect(relPrimary.outcomes[0]?.ok).toBe(false);

      expect(await world.cloudIPs(a)).toEqual([foreign!, mine!].sort());
      expect(await world.cloudIPs(b)).toEqual([]);
      expect(await world.primaryIP(a)).toBe(primary);
    });

    test('a change for a missing instance fails notFound without failing the rest', async () => {
      const [ip, other] = await world.freeIPs(a.subnet, 2);
      const result = await world.provider.apply({
        changes: [{ kind: 'assign', ip: ip!, node: world.missing }, assign(other!, a)],
      });
      expect(result.outcomes[0]).toMatchObject({ ok: false, error: { kind: 'notFound' } });
      expect(result.outcomes[1]?.ok).toBe(true);
      expect(await world.cloudIPs(a)).toEqual([other]);
    });

    test('batched: one write per interface per phase, whatever the number of IPs', async () => {
      const perInterface = async () => {
        const counts = new Map<string, number>();
        for (const w of await world.writes()) counts.set(w.interfaceId, (counts.get(w.interfaceId) ?? 0) + 1);
        return [...counts.values()];
      };
      const ips = await world.freeIPs(a.subnet, 10);
      expect(
        failures(await world.provider.apply({ changes: ips.map((ip, i) => assign(ip, i % 2 ? b : a)) })),
      ).toEqual([]);
      expect(await perInterface()).toEqual([1, 1]);
      await world.reset();
      expect(failures(await world.provider.apply({ changes: ips.map((ip) => assign(ip, a)) }))).toEqual([]);
      const before = (await world.writes()).length;
      const moved = await world.provider.apply({ changes: ips.slice(0, 6).map((ip) => assign(ip, b, a)) });
      expect(failures(moved)).toEqual([]);
      const moves = (await world.writes()).slice(before);
      // An atomic move writes the target only; a two-step move writes the source once and the target once.
      expect(moves.length).toBeGreaterThanOrEqual(1);
      expect(new Set(moves.map((w) => w.interfaceId)).size).toBe(moves.length);
      const released = (await world.writes()).length;
      expect(
        failures(await world.provider.apply({ changes: ips.slice(6).map((ip) => release(ip, a)) })),
      ).toEqual([]);
      expect((await world.writes()).slice(released)).toHaveLength(1);
      expect(await world.cloudIPs(a)).toEqual([]);
      expect(await world.cloudIPs(b)).toEqual(ips.slice(0, 6).sort());
    });

    test('serialised: writes of one interface never overlap, also across concurrent applies', async () => {
      const ips = await world.freeIPs(a.subnet, 4);
      const results = await Promise.all(ips.map((ip) => world.provider.apply({ changes: [assign(ip, a)] })));
      expect(results.flatMap(failures)).toEqual([]);
      expect(await world.cloudIPs(a)).toEqual([...ips].sort());
      const writes = [...(await world.writes())].sort((x, y) => x.startedAt - y.startedAt);
      expect(writes.length).toBeGreaterThanOrEqual(1);
      const overlaps = writes.filter((w, i) => i > 0 && w.startedAt < writes[i - 1]!.endedAt);
      expect(overlaps).toEqual([]);
    });

    test('listAssignments skips nodes that no longer exist', async () => {
      const [ip] = await world.freeIPs(a.subnet, 1);
      await world.provider.apply({ changes: [assign(ip!, a)] });
      const listed = await world.provider.listAssignments([world.missing, a.ref]);
      expect(listed.map((l) => l.ip)).toEqual([ip]);
    });
  });
}
