/**
 * @module
 * Installs the Debian packages a test suite needs, idempotently: a command that is already on PATH is left
 * alone; for the rest, `apt-get update` runs once per process and `apt-get install -y --no-install-recommends`
 * installs only the missing packages. Only root can install; other users get a clear "missing" answer so the
 * suite can skip with a reason.
 *
 * ```ts
 * const missing = await ensurePackages([{ command: 'nft', pkg: 'nftables' }]);
 * if (missing.length > 0) skip(`missing: ${missing.join(', ')}`);
 * ```
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A command the tests call and the Debian package that provides it. */
export interface RequiredCommand {
  /** The executable looked up on PATH, e.g. `nft`. */
  readonly command: string;
  /** The Debian package that ships it, e.g. `nftables`. */
  readonly pkg: string;
}

/** The commands the node agent and its network-namespace tests use. */
export const AGENT_COMMANDS: readonly RequiredCommand[] = [
  { command: 'ip', pkg: 'iproute2' },
  { command: 'bridge', pkg: 'iproute2' },
  { command: 'nft', pkg: 'nftables' },
  { command: 'arping', pkg: 'iputils-arping' },
  { command: 'sysctl', pkg: 'procps' },
  { command: 'conntrack', pkg: 'conntrack' },
  { command: 'iperf3', pkg: 'iperf3' },
];

let updated = false;

/** True when `command` is found on PATH. */
export async function hasCommand(command: string): Promise<boolean> {
  try {
    await run('which', [command]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes sure every command in `required` is on PATH, installing the missing packages with apt-get when the
 * process is root. Returns the commands that are still missing (empty when all are there).
 */
export async function ensurePackages(
  required: readonly RequiredCommand[] = AGENT_COMMANDS,
): Promise<string[]> {
  const missing: RequiredCommand[] = [];
  for (const r of required) if (!(await hasCommand(r.command))) missing.push(r);
  if (missing.length === 0) return [];
  if (process.getuid?.() !== 0) return missing.map((m) => m.command);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const opts = { env, maxBuffer: 64 * 1024 * 1024, timeout: 600_000 };
  if (!updated) {
    await run('apt-get', ['update'], opts);
    updated = true;
  }
  const pkgs = [...new Set(missing.map((m) => m.pkg))];
  await run('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], opts);
  const still: string[] = [];
  for (const r of missing) if (!(await hasCommand(r.command))) still.push(r.command);
  return still;
}
