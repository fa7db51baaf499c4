/**
 * @module
 * Network namespaces for the tests (the agent's lab, the end-to-end box, the chart's agent test, the
 * benchmarks and the demo): whether this machine can make them ({@link netnsUnavailable}, the one check
 * every such suite skips on), and the building blocks of the topologies: a namespace with loopback up and
 * IPv6 off, a veth pair between two namespaces, and the set of namespaces a topology creates and removes.
 */
import { randomBytes } from 'node:crypto';
import { commandRunner, type RunCommand } from '../../src/agent/linux/run-command.ts';
import { AGENT_COMMANDS, ensurePackages, type RequiredCommand } from './ensure-packages.ts';

const host = commandRunner();

/**
 * Why network-namespace tests cannot run here, or undefined when they can: not root, a command of
 * `required` missing (installed first when root, see {@link ensurePackages}), or `ip netns add` refused.
 * A suite skips with this text as its reason; the demo refuses with it.
 */
export async function netnsUnavailable(
  required: readonly RequiredCommand[] = AGENT_COMMANDS,
): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, nftables)';
  const missing = await ensurePackages(required).catch((err: Error) => [`apt-get failed: ${err.message}`]);
  if (missing.length > 0) return `missing tools: ${missing.join(', ')}`;
  const probe = `cenp${randomBytes(3).toString('hex')}`;
  try {
    await host('ip', ['netns', 'add', probe]);
    await host('ip', ['netns', 'del', probe]);
    return undefined;
  } catch (err) {
    return `ip netns unavailable: ${(err as Error).message}`;
  }
}

/** Creates network namespace `ns` with loopback up and IPv6 disabled (the topologies are IPv4). */
export async function createNamespace(ns: string): Promise<void> {
  await host('ip', ['netns', 'add', ns]);
  const run = commandRunner(ns);
  await run('ip', ['link', 'set', 'lo', 'up']);
  await run('sysctl', [
    '-q',
    '-w',
    'net.ipv6.conf.all.disable_ipv6=1',
    'net.ipv6.conf.default.disable_ipv6=1',
  ]);
}

/** A veth pair `aName` in namespace `a` <-> `bName` in namespace `b`, both up. */
export async function createVethPair(a: string, aName: string, b: string, bName: string): Promise<void> {
  await host('ip', ['link', 'add', aName, 'netns', a, 'type', 'veth', 'peer', 'name', bName, 'netns', b]);
  await commandRunner(a)('ip', ['link', 'set', aName, 'up']);
  await commandRunner(b)('ip', ['link', 'set', bName, 'up']);
}

/** Kills every process in namespace `ns` (SIGKILL); a namespace already gone is no error. */
export async function killProcessesIn(ns: string): Promise<void> {
  const { stdout } = await host('ip', ['netns', 'pids', ns]).catch(() => ({ stdout: '' }));
  for (const pid of stdout.split('\n').filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * The namespaces of one topology, each named `<prefix>-<name>` so that runs never collide, removed
 * together: {@link NamespaceSet.destroy} kills what runs inside and deletes them, also after a failed build.
 */
export class NamespaceSet {
  readonly prefix: string;
  readonly #names: string[] = [];

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  /** Every namespace created so far, in creation order. */
  get names(): readonly string[] {
    return this.#names;
  }

  /** Creates namespace `<prefix>-<name>` (see {@link createNamespace}) and returns its full name. */
  async create(name: string): Promise<string> {
    const ns = `${this.prefix}-${name}`;
    this.#names.push(ns);
    await createNamespace(ns);
    return ns;
  }

  /** Kills every process inside and deletes every namespace, the last created first (never throws). */
  async destroy(): Promise<void> {
    for (const ns of [...this.#names].reverse()) {
      await killProcessesIn(ns);
      await host('ip', ['netns', 'del', ns]).catch(() => {});
    }
    this.#names.length = 0;
  }
}

/** The packets a named nftables counter has counted (`run` runs `nft` in the counter's namespace); throws if it is missing. */
export async function nftCounterPackets(
  run: RunCommand,
  family: string,
  table: string,
  counter: string,
): Promise<number> {
  const { stdout } = await run('nft', ['-j', 'list', 'counter', family, table, counter]);
  const items = (JSON.parse(stdout) as { nftables: { counter?: { packets: number } }[] }).nftables;
  const packets = items.find((i) => i.counter)?.counter?.packets;
  if (packets === undefined) throw new Error(`nft shows no counter ${family} ${table} ${counter}: ${stdout}`);
  return packets;
}
