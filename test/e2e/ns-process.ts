/**
 * @module
 * Long-running processes inside network namespaces (`ip netns exec <ns> <node> <script> ...`), with their
 * output split into lines, kept in a log file, and a `stop()` that waits until the process is gone.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';

/** Options of {@link startInNamespace}. */
export interface NsProcessOptions {
  /** The namespace; undefined runs in the host's namespace. */
  readonly ns: string | undefined;
  readonly command: string;
  readonly args: readonly string[];
  /** Extra environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Where stdout and stderr are written (appended). */
  readonly logPath?: string;
  /** Called with each stdout line. */
  readonly onLine?: (line: string) => void;
}

/** A running process. */
export class NsProcess {
  readonly child: ChildProcess;
  readonly #log: WriteStream | undefined;
  #logClosed: Promise<void> | undefined;
  readonly exited: Promise<number | null>;

  constructor(options: NsProcessOptions) {
    const argv = options.ns
      ? ['netns', 'exec', options.ns, options.command, ...options.args]
      : [...options.args];
    this.child = spawn(options.ns ? 'ip' : options.command, argv, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
    });
    this.#log = options.logPath ? createWriteStream(options.logPath, { flags: 'a' }) : undefined;
    let buffered = '';
    this.child.stdout!.on('data', (d: Buffer) => {
      this.#log?.write(d);
      buffered += d.toString();
      let nl = buffered.indexOf('\n');
      while (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        options.onLine?.(line);
        nl = buffered.indexOf('\n');
      }
    });
    this.child.stderr!.on('data', (d: Buffer) => this.#log?.write(d));
    this.child.stdin!.on('error', () => {});
    this.exited = new Promise((resolve) => {
      this.child.on('error', () => resolve(null));
      this.child.on('exit', (code) => resolve(code));
    });
  }

  /** True while the process runs. */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the first stdout line for which `match` is true (rejects if the process exits first). */
  waitForLine(match: (line: string) => boolean, timeoutMs = 30_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no matching output within ${timeoutMs} ms`)),
        timeoutMs,
      );
      let buffered = '';
      const onData = (d: Buffer) => {
        buffered += d.toString();
        for (const line of buffered.split('\n')) {
          if (match(line)) {
            clearTimeout(timer);
            this.child.stdout!.off('data', onData);
            resolve(line);
            return;
          }
        }
      };
      this.child.stdout!.on('data', onData);
      void this.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`process exited (${code}) before the expected output`));
      });
    });
  }

  /** Sends `signal` (SIGTERM by default), SIGKILL after `graceMs`, and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
    if (this.running) {
      this.child.stdin!.end();
      this.child.kill(signal);
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    if (this.#log && !this.#logClosed) {
      this.#logClosed = once(this.#log, 'close').then(() => {});
      this.#log.end();
    }
    await this.#logClosed?.catch(() => {});
  }
}
