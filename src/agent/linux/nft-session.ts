/**
 * @module
 * A long-lived `nft -i` for small transactions, so that adding one pod does not pay for starting a process
 * (a fork of the agent is most of that cost). Each transaction is written as one line (one line is one
 * atomic batch), followed by a marker command that always fails: `list table inet <marker>-<n>`. Errors
 * go to stderr in order, so everything on stderr before the marker's own error belongs to the transaction.
 *
 * ```
 * write "<commands joined by ;>\n" + "list table inet cloud_egress_marker_<n>\n"
 * read stderr until "cloud_egress_marker_<n>" ──► text before the marker's "Error:" block
 *                                                 empty: committed; else: CommandError (nothing committed)
 * process gone or 10 s without the marker ──► reject; the next call starts a new process
 * ```
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { CommandError, type CommandLine, commandLine } from './run-command.ts';

const MARKER = 'cloud_egress_marker_';

/** Transactions up to this size go through the session; larger ones through `nft -f -`. */
export const SESSION_MAX_BYTES = 16 * 1024;

/** A long-lived `nft -i`. */
export class NftSession {
  readonly #line: CommandLine;
  readonly #timeoutMs: number;
  #child: ChildProcessWithoutNullStreams | undefined;
  #stderr = '';
  #seq = 0;
  #waiter: (() => void) | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: { line?: CommandLine; timeoutMs?: number } = {}) {
    this.#line = options.line ?? commandLine();
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** Runs one transaction (newline-separated nft commands) atomically. */
  run(text: string): Promise<void> {
    const next = this.#queue.then(() => this.#run(text));
    this.#queue = next.catch(() => {});
    return next;
  }

  /** Ends the process. */
  close(): void {
    this.#child?.stdin.end();
    this.#child = undefined;
  }

  #start(): ChildProcessWithoutNullStreams {
    const { bin, argv } = this.#line('nft', ['-i']);
    const child = spawn(bin, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdout.resume();
    child.stderr.on('data', (b: Buffer) => {
      this.#stderr += b.toString('utf8');
      this.#waiter?.();
    });
    child.stdin.on('error', () => {});
    child.on('error', () => {});
    child.on('exit', () => {
      if (this.#child === child) this.#child = undefined;
      this.#waiter?.();
    });
    this.#stderr = '';
    this.#child = child;
    return child;
  }

  async #run(text: string): Promise<void> {
    const child = this.#child ?? this.#start();
    const marker = `${MARKER}${++this.#seq}`;
    const commands = text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .join('; ');
    child.stdin.write(`${commands}\nlist table inet ${marker}\n`);
    const deadline = Date.now() + this.#timeoutMs;
    for (;;) {
      const at = this.#stderr.indexOf(`list table inet ${marker}`);
      const end = at < 0 ? -1 : this.#stderr.indexOf('^\n', at);
      if (end >= 0) {
        const blockStart = this.#stderr.lastIndexOf('Error:', at);
        const before = this.#stderr.slice(0, Math.max(0, blockStart)).trim();
        this.#stderr = this.#stderr.slice(end + 2);
        if (before !== '') throw new CommandError('nft -i', before, 1);
        return;
      }
      if (this.#child !== child || Date.now() > deadline) {
        this.close();
        child.kill();
        throw new CommandError('nft -i', this.#stderr || 'nft -i exited or did not answer', null);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.#waiter = () => {
          clearTimeout(timer);
          this.#waiter = undefined;
          resolve();
        };
      });
    }
  }
}
