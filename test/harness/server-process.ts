/**
 * @module
 * Long-running child processes (etcd, kube-apiserver) that never outlive the test process: output goes to a
 * log file, `stop()` ends them (SIGTERM, then SIGKILL) and waits until they are reaped, an `exit` hook kills
 * whatever is still running when the test process ends, and where `setpriv` exists the kernel kills them
 * too (parent-death signal) should the test process itself be killed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { close, existsSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { tailOf } from './command.ts';

/** How a process ended. */
export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** util-linux `setpriv`, which can ask the kernel to kill a child when its parent dies. */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path));

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** Options of {@link ServerProcess.start}. */
export interface ServerProcessOptions {
  /** File that receives the process's standard output and error (appended). */
  readonly logPath: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/** A server started as a child process. */
export class ServerProcess {
  /** Short name for messages (`etcd`, `kube-apiserver`). */
  readonly name: string;
  /** The server's own pid (setpriv execs it, keeping the pid). */
  readonly pid: number;
  /** Where its output goes. */
  readonly logPath: string;
  #child: ChildProcess;
  #exited: Promise<ExitStatus>;
  #status: ExitStatus | undefined;

  private constructor(name: string, child: ChildProcess, logPath: string) {
    this.name = name;
    this.pid = child.pid!;
    this.logPath = logPath;
    this.#child = child;
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        running.delete(child);
        this.#status = { code, signal };
        resolve(this.#status);
      });
    });
  }

  /** Starts `file` with `args`; resolves once the process runs, rejects when it cannot start. */
  static async start(
    name: string,
    file: string,
    args: readonly string[],
    options: ServerProcessOptions,
  ): Promise<ServerProcess> {
    installExitHook();
    const log = openSync(options.logPath, 'a');
    const [command, commandArgs] = SETPRIV
      ? [SETPRIV, ['--pdeathsig', 'KILL', '--', file, ...args]]
      : [file, [...args]];
    const child = spawn(command, commandArgs, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', log, log],
    });
    close(log);
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (cause) => reject(new Error(`cannot start ${name} (${file})`, { cause })));
    });
    running.add(child);
    return new ServerProcess(name, child, options.logPath);
  }

  /** How it ended, or undefined while it runs. */
  get exitStatus(): ExitStatus | undefined {
    return this.#status;
  }

  /** Resolves when the process has ended and been reaped. */
  get exited(): Promise<ExitStatus> {
    return this.#exited;
  }

  /** The end of its log, for error messages. */
  async logTail(max = 3000): Promise<string> {
    return tailOf(await readFile(this.logPath, 'utf8').catch(() => ''), max);
  }

  /** Asks it to stop (SIGTERM), kills it (SIGKILL) after `graceMs`, and waits until it is gone. */
  async stop(graceMs = 10_000): Promise<ExitStatus> {
    if (this.#status) return this.#status;
    this.#child.kill('SIGTERM');
    const stopped = await Promise.race([this.#exited, sleep(graceMs, undefined)]);
    if (stopped) return stopped;
    this.#child.kill('SIGKILL');
    return this.#exited;
  }
}
