/**
 * @module
 * Running `ip`, `bridge`, `nft`, `sysctl` and `arping` without a shell: `execFile` with an argument list,
 * optional stdin (for `nft -f -`), and a typed error carrying the command and its stderr. A runner may be
 * bound to a network namespace (`ip netns exec <ns> ...`), which is how the tests drive one agent per
 * simulated node from a single process.
 */
import { spawn } from 'node:child_process';

/** Output of a finished command. */
export interface CommandOutput {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs one command; rejects with {@link CommandError} on a non-zero exit. */
export type RunCommand = (file: string, args: readonly string[], stdin?: string) => Promise<CommandOutput>;

/** A command that failed. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  readonly command: string;
  readonly stderr: string;
  readonly exitCode: number | null;

  constructor(command: string, stderr: string, exitCode: number | null, options?: ErrorOptions) {
    super(`${command} failed (exit ${exitCode}): ${stderr.trim().slice(0, 2000)}`, options);
    this.command = command;
    this.stderr = stderr;
    this.exitCode = exitCode;
  }
}

/** The executable and arguments that run `file args` in the current or the named network namespace. */
export type CommandLine = (file: string, args: readonly string[]) => { bin: string; argv: string[] };

/** See {@link CommandLine}; the named namespace is entered with `nsenter --net` (lighter than `ip netns exec`). */
export function commandLine(netns?: string): CommandLine {
  return (file, args) =>
    netns
      ? { bin: 'nsenter', argv: [`--net=/run/netns/${netns}`, file, ...args] }
      : { bin: file, argv: [...args] };
}

/**
 * Runs commands in the current network namespace, or in the named one (`ip netns add <netns>`) when given,
 * or as `line` starts them.
 */
export function commandRunner(target?: string | CommandLine): RunCommand {
  const line = typeof target === 'function' ? target : commandLine(target);
  return (file, args, stdin) => {
    const { bin, argv } = line(file, args);
    const text = [file, ...args].join(' ');
    return new Promise((resolve, reject) => {
      const child = spawn(bin, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', (e) => reject(new CommandError(text, String(e), null, { cause: e })));
      child.on('close', (code) => {
        const stdout = Buffer.concat(out).toString('utf8');
        const stderr = Buffer.concat(err).toString('utf8');
        if (code === 0) resolve({ stdout, stderr });
        else reject(new CommandError(text, stderr || stdout, code));
      });
      child.stdin.on('error', () => {});
      child.stdin.end(stdin ?? '');
    });
  };
}
