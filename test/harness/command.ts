/**
 * @module
 * Runs a command to completion (no shell) and collects its output: the one way the harness and the tool
 * builds call `go`, `kubectl` and `helm`.
 */
import { spawn } from 'node:child_process';

/** What a finished command printed and how it ended. */
export interface CommandResult {
  /** Exit code, or null when a signal ended it. */
  readonly code: number | null;
  /** The signal that ended it, if any. */
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link runCommand}. */
export interface CommandOptions {
  readonly cwd?: string;
  /** The full environment (defaults to this process's). */
  readonly env?: NodeJS.ProcessEnv;
  /** Written to the command's standard input, which is then closed. */
  readonly input?: string;
  /** When false, a non-zero exit resolves instead of throwing. Default true. */
  readonly check?: boolean;
  /** Killed (SIGKILL) after this long. Default: no limit. */
  readonly timeoutMs?: number;
  /** Called with every chunk of output as it arrives (progress of long builds). */
  readonly onOutput?: (chunk: string) => void;
}

/** A command failed: it exited non-zero, was killed, or could not start. */
export class CommandError extends Error {
  /** The command line, for the message. */
  readonly command: string;
  /** What it printed, when it ran at all. */
  readonly result: CommandResult | undefined;

  constructor(command: string, result: CommandResult | undefined, options?: { cause?: unknown }) {
    const how = result
      ? result.signal
        ? `was killed by ${result.signal}`
        : `exited ${result.code}`
      : 'failed';
    const tail = result ? `\n${tailOf(result.stderr || result.stdout, 4000)}` : '';
    super(`${command} ${how}${tail}`, options);
    this.name = 'CommandError';
    this.command = command;
    this.result = result;
  }
}

/** The last `max` characters of `text`. */
export function tailOf(text: string, max: number): string {
  return text.length <= max ? text : `…${text.slice(text.length - max)}`;
}

/**
 * Runs `file` with `args` and resolves when it exits.
 *
 * @throws {CommandError} when it cannot start, or (unless `check: false`) exits non-zero or is killed.
 */
export function runCommand(
  file: string,
  args: readonly string[],
  options: CommandOptions = {},
): Promise<CommandResult> {
  const commandLine = [file, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: string[] = [];
    const err: string[] = [];
    const collect = (into: string[]) => (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      into.push(text);
      options.onOutput?.(text);
    };
    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', (cause) => {
      clearTimeout(timer);
      reject(new CommandError(commandLine, undefined, { cause }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result: CommandResult = { code, signal, stdout: out.join(''), stderr: err.join('') };
      if ((code !== 0 || signal) && options.check !== false) reject(new CommandError(commandLine, result));
      else resolve(result);
    });
    child.stdin.on('error', () => {}); // the command may exit without reading its input
    child.stdin.end(options.input ?? '');
  });
}
