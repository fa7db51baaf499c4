/**
 * @module
 * The lies every test cloud can tell (providers/inmemory/lies.ts), one suite run against each: the in-memory
 * cloud, the AWS fault proxy in front of LocalStack, and the GCP and Azure emulators. Driven through the
 * cloud's provider; each case reads the cloud's own state ({@link ConformanceWorld.cloudIPs}).
 *
 * ```ts
 * runLyingCloudCases({ name: 'gcp', setup: async () => withLies(await startGcpWorld(), emulator.lies) });
 * ```
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ConformanceWorld } from './cloud-provider.case.ts';

/** The knobs of a lying cloud (what providers/inmemory/lies.ts `Lies` offers). */
export interface CloudLies {
  /** The next `times` interface writes answer success and change nothing. */
  loseWrites(times: number): void;
  /** The next `times` interface writes land `delayMs` after their answer. */
  delayWrites(times: number, delayMs: number): void;
  /** The next `times` reads answer what the same read was answered at least `ageMs` ago. */
  staleReads(times: number, ageMs: number): void;
  /** Keeps read answers from now on (for stale reads later). */
  record(): void;
  /** Stops the lies not yet told. */
  clear(): void;
  /** Resolves once every late write told so far has landed. */
  settled(): Promise<void>;
}

/** A conformance world whose cloud can lie. */
export interface LyingWorld extends ConformanceWorld {
  readonly lies: CloudLies;
}

/** Options of {@link runLyingCloudCases}. */
export interface LyingCloudOptions {
  readonly name: string;
  readonly setup: () => Promise<LyingWorld>;
}

/** Registers the lie cases under a `describe` block. */
export function runLyingCloudCases(options: LyingCloudOptions): void {
  describe(`a lying cloud: ${options.name}`, () => {
    let world: LyingWorld;
    beforeAll(async () => {
      world = await options.setup();
    });
    afterAll(async () => {
      await world?.close();
    });
    beforeEach(async () => {
      world.lies.clear();
      await world.lies.settled();
      await world.reset();
    });
    const assign = (ip: string, node: keyof LyingWorld['nodes']) =>
      world.provider.apply({ changes: [{ kind: 'assign', ip, node: world.nodes[node].ref }] });
    const oneFree = async () => (await world.freeIPs(world.nodes.a.subnet, 1))[0]!;

    it('a lost write answers success and the interface does not change', async () => {
      const ip = await oneFree();
      world.lies.loseWrites(1);
      expect((await assign(ip, 'a')).outcomes.map((o) => o.ok)).toEqual([true]);
      expect(await world.cloudIPs(world.nodes.a)).toEqual([]);
      // The next write is honest.
      expect((await assign(ip, 'a')).outcomes.map((o) => o.ok)).toEqual([true]);
      expect(await world.cloudIPs(world.nodes.a)).toEqual([ip]);
    });

    it('a late write answers success at once and lands later', async () => {
      const ip = await oneFree();
      world.lies.delayWrites(1, 300);
      expect((await assign(ip, 'a')).outcomes.map((o) => o.ok)).toEqual([true]);
      expect(await world.cloudIPs(world.nodes.a)).toEqual([]);
      await world.lies.settled();
      expect(await world.cloudIPs(world.nodes.a)).toEqual([ip]);
    });

    it('a late write lands on the state of its time: the IP ends on one interface', async () => {
      const ip = await oneFree();
      world.lies.delayWrites(1, 300);
      await assign(ip, 'a');
      expect((await assign(ip, 'b')).outcomes.map((o) => o.ok)).toEqual([true]);
      await world.lies.settled();
      const holders = [...(await world.cloudIPs(world.nodes.a)), ...(await world.cloudIPs(world.nodes.b))];
      expect(holders).toEqual([ip]);
    });

    it('a lost release leaves the IP listed as held, and the next release frees it', async () => {
      const ip = await oneFree();
      const a = world.nodes.a.ref;
      await assign(ip, 'a');
      world.lies.loseWrites(1);
      const release = () => world.provider.apply({ changes: [{ kind: 'release', ip, node: a }] });
      expect((await release()).outcomes.map((o) => o.ok)).toEqual([true]);
      expect(await world.cloudIPs(world.nodes.a)).toEqual([ip]);
      // Still the installation's: listed, so the controller's next pass (or its verification) releases it again.
      expect((await world.provider.listAssignments([a])).map((x) => x.ip)).toEqual([ip]);
      expect((await release()).outcomes.map((o) => o.ok)).toEqual([true]);
      expect(await world.cloudIPs(world.nodes.a)).toEqual([]);
      expect(await world.provider.listAssignments([a])).toEqual([]);
    });

    it('a stale read answers an earlier read; the next read the truth', async () => {
      const ip = await oneFree();
      world.lies.record();
      const a = world.nodes.a.ref;
      expect(await world.provider.listAssignments([a])).toEqual([]);
      const assignedAt = performance.now();
      await assign(ip, 'a');
      // Old enough to reach back before the assign.
      world.lies.staleReads(1, performance.now() - assignedAt + 1);
      expect(await world.provider.listAssignments([a])).toEqual([]);
      expect((await world.provider.listAssignments([a])).map((x) => x.ip)).toEqual([ip]);
      expect(await world.cloudIPs(world.nodes.a)).toEqual([ip]);
    });

    it('a write made while reads are stale loses no earlier write: every IP assigned is listed once reads are honest', async () => {
      const [first, second] = await world.freeIPs(world.nodes.a.subnet, 2);
      world.lies.record();
      const nodes = [world.nodes.a.ref, world.nodes.b.ref];
      expect(await world.provider.listAssignments(nodes)).toEqual([]);
      const assignedAt = performance.now();
      expect((await assign(first!, 'a')).outcomes.map((o) => o.ok)).toEqual([true]);
      // The next reads answer as before the first write: on AWS, every read of the next write's first attempt
      // (ENI, subnet, the IP's holder, the subnet's claims before they are written).
      world.lies.staleReads(4, performance.now() - assignedAt + 1);
      expect((await assign(second!, 'b')).outcomes.map((o) => o.ok)).toEqual([true]);
      world.lies.clear();
      const listed = (await world.provider.listAssignments(nodes)).map((x) => `${x.ip} ${x.node}`).sort();
      expect(listed).toEqual([`${first} ${nodes[0]!.name}`, `${second} ${nodes[1]!.name}`].sort());
    });
  });
}

/**
 * One world for every suite of a test file (e.g. the conformance suite and these cases on one LocalStack): set
 * up by the first suite that asks, closed once after the file's last test.
 */
export function shareWorld<W extends { close(): Promise<void> }>(setup: () => Promise<W>): () => Promise<W> {
  let world: Promise<W> | undefined;
  afterAll(async () => {
    await (await world)?.close();
  });
  return async () => {
    world ??= setup();
    return { ...(await world), close: async () => {} };
  };
}
