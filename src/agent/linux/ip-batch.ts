/**
 * @module
 * Runs many iproute2 commands in one process each for `ip` and `bridge` (`-force -batch -`), instead of one
 * process per route, rule, address or neighbour: a failover reprograms a source node with 4 to 6 such
 * commands, and on a busy node every process start costs milliseconds.
 *
 * ```
 * commands ─► bridge adds    ─► bridge -force -batch -   (a new next hop's FDB entry before its route)
 *          ├► ip lines       ─► ip -4 -force -batch -
 *          ├► ip6 lines      ─► ip -6 -force -batch -    (a batch line cannot name its family)
 *          └► bridge deletes ─► bridge -force -batch -   (an old next hop's FDB entry after its route left)
 * a failed line ─► "Command failed -:N" in stderr ─► absent and `absentOk` (an idempotent delete)? fine
 *                                                  └► else BatchError naming every failed command
 * ```
 *
 * `-force` runs every line even when one fails; commands that end `ip` itself on failure (`ip neigh del`)
 * must not be batched, which is why a neighbour is removed with `neigh flush ... nud all`.
 */
import { CommandError, type RunCommand } from './run-command.ts';

/** One iproute2 command for a batch. */
export interface IpCommand {
  readonly tool: 'ip' | 'ip6' | 'bridge';
  /** Arguments after `ip -4` (`ip`), `ip -6` (`ip6`) or `bridge`. */
  readonly args: readonly string[];
  /** The command may fail because what it removes is already gone (or was never there). */
  readonly absentOk?: boolean;
}

/** Some commands of a batch failed. */
export class BatchError extends Error {
  override readonly name = 'BatchError';
  /** Each failed command with its error text. */
  readonly failures: readonly { readonly command: string; readonly error: string }[];

  constructor(failures: BatchError['failures'], options?: ErrorOptions) {
    super(failures.map((f) => `${f.command}: ${f.error}`).join('; '), options);
    this.failures = failures;
  }
}

/** True for "no such device/entry" errors, which reads and idempotent deletes treat as absence. */
export function isAbsentText(text: string): boolean {
  return /does not exist|Cannot find device|No such|not found|Cannot assign/i.test(text);
}

/**
 * The failed lines of a `-force -batch` run: iproute2 prints a command's error, then `Command failed -:N`
 * (N counting from 1). Returns line number -> error text; undefined when stderr has no such marker.
 */
export function batchFailures(stderr: string): Map<number, string> | undefined {
  const out = new Map<number, string>();
  let pending: string[] = [];
  for (const line of stderr.split('\n')) {
    const m = /^Command failed -:(\d+)\s*$/.exec(line.trim());
    if (m) {
      out.set(Number(m[1]), pending.join(' ').trim());
      pending = [];
    } else if (line.trim() !== '') pending.push(line.trim());
  }
  return out.size > 0 ? out : undefined;
}

/** One process of a batch: a tool and its lines, in the order given. */
export interface BatchPhase {
  readonly tool: IpCommand['tool'];
  readonly lines: readonly IpCommand[];
}

/**
 * The processes that run `commands`, in order: the FDB entries added, then every `ip` line (IPv4, then
 * IPv6: the two families' rules, routes and neighbours never depend on each other), then the FDB entries
 * deleted. A peer's FDB entry is there before a neighbour or route leads to it and stays until none
 * does: when one batch moves a route from an old peer to a new one and removes the old peer (a source node
 * switching gateways), no packet between two processes meets a next hop that the tunnel cannot reach.
 * Empty phases are left out. Pure.
 */
export function batchPhases(commands: readonly IpCommand[]): BatchPhase[] {
  const isFdbDelete = (c: IpCommand) => c.tool === 'bridge' && c.args[1] === 'del';
  const phases: BatchPhase[] = [
    { tool: 'bridge', lines: commands.filter((c) => c.tool === 'bridge' && !isFdbDelete(c)) },
    { tool: 'ip', lines: commands.filter((c) => c.tool === 'ip') },
    { tool: 'ip6', lines: commands.filter((c) => c.tool === 'ip6') },
    { tool: 'bridge', lines: commands.filter(isFdbDelete) },
  ];
  return phases.filter((p) => p.lines.length > 0);
}

/** Runs `commands` in the processes of {@link batchPhases}; see the module comment. */
export async function runIpBatch(run: RunCommand, commands: readonly IpCommand[]): Promise<void> {
  for (const { tool, lines } of batchPhases(commands)) {
    const family = tool === 'ip' ? ['-4'] : tool === 'ip6' ? ['-6'] : [];
    try {
      await run(
        tool === 'bridge' ? 'bridge' : 'ip',
        [...family, '-force', '-batch', '-'],
        `${lines.map((c) => c.args.join(' ')).join('\n')}\n`,
      );
    } catch (err) {
      if (!(err instanceof CommandError)) throw err;
      const failed = batchFailures(err.stderr);
      if (!failed) throw err;
      const real = [...failed]
        .map(([n, error]) => ({ command: lines[n - 1], error }))
        .filter(({ command, error }) => !(command?.absentOk && isAbsentText(error)))
        .map(({ command, error }) => ({
          command: command ? `${tool} ${command.args.join(' ')}` : tool,
          error,
        }));
      if (real.length > 0) throw new BatchError(real, { cause: err });
    }
  }
}
