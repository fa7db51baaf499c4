/**
 * @module
 * Starts and stops LocalStack (EC2 only) on 127.0.0.1 for tests and benchmarks, through
 * `localstack/localstack.sh` (which installs it into the cache on first use, one installer at a time).
 *
 * ```ts
 * const ls = await startLocalStack();           // EC2 fidelity patches on
 * const client = new EC2Client({ endpoint: ls.endpoint, region: 'us-east-1', credentials: ls.credentials });
 * await ls.stop();                              // nothing is left running
 * ```
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** The start script (bash). */
export const LOCALSTACK_SCRIPT = join(here, 'localstack.sh');
/** The pinned LocalStack version. */
export const LOCALSTACK_VERSION = '4.14.0';

/** Options of {@link startLocalStack}. */
export interface LocalStackOptions {
  /** Load the EC2 fidelity patches (default true). Tests that prove a patch is needed turn them off. */
  readonly patches?: boolean;
  /**
   * The services LocalStack starts (its `SERVICES`; default `['ec2']`). EC2 is always among them: readiness
   * waits for it.
   */
  readonly services?: readonly string[];
  /** How long to wait for install plus start-up (default 15 minutes: the first run installs). */
  readonly timeoutMs?: number;
}

/** A running LocalStack. */
export interface LocalStack {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** The region the tests use. */
  readonly region: string;
  /** Static test credentials (LocalStack accepts any). */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Whether the EC2 fidelity patches are loaded. */
  readonly patched: boolean;
  /** Stops LocalStack and waits until its process group is gone. */
  stop(): Promise<void>;
}

/** Thrown when LocalStack cannot be installed or started; the message carries its output. */
export class LocalStackError extends Error {
  override readonly name = 'LocalStackError';
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function ec2Ready(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/_localstack/health`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return false;
    const body = (await res.json()) as { services?: Record<string, string> };
    const state = body.services?.['ec2'];
    return state === 'available' || state === 'running';
  } catch {
    return false;
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function stopGroup(child: ChildProcess): Promise<void> {
  if (exited(child) || child.pid === undefined) return;
  const done = once(child, 'exit');
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // the group is already gone
    }
  };
  signalGroup('SIGTERM');
  const timer = setTimeout(() => signalGroup('SIGKILL'), 10_000);
  await done;
  clearTimeout(timer);
  // Anything the runtime forked into the group goes too.
  signalGroup('SIGKILL');
}

/** Installs LocalStack into the cache if needed (idempotent, locked). */
export async function installLocalStack(): Promise<void> {
  const child = spawn('bash', [LOCALSTACK_SCRIPT, 'install'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0)
    throw new LocalStackError(`localstack install failed (exit ${code}):\n${output.slice(-4000)}`);
}

/** util-linux's setpriv, for a parent-death signal (absent on some systems; then none is set). */
const SETPRIV = '/usr/bin/setpriv';

/**
 * Starts LocalStack with EC2 (and any further `services`) on a free port of 127.0.0.1 and waits until EC2 is
 * available.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const patched = options.patches ?? true;
  const services = [...new Set(['ec2', ...(options.services ?? [])])].join(',');
  await installLocalStack();
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const args = [
    LOCALSTACK_SCRIPT,
    'run',
    '--port',
    String(port),
    '--services',
    services,
    ...(patched ? [] : ['--no-patches']),
  ];
  // With setpriv, the script gets SIGTERM when this process dies (even by SIGKILL) and stops LocalStack.
  const [command, commandArgs] = existsSync(SETPRIV)
    ? [SETPRIV, ['--pdeathsig', 'TERM', '--', 'bash', ...args]]
    : ['bash', args];
  const child = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  const deadline = Date.now() + (options.timeoutMs ?? 15 * 60_000);
  while (!(await ec2Ready(endpoint))) {
    if (exited(child)) {
      throw new LocalStackError(`LocalStack exited before EC2 was ready:\n${output.slice(-4000)}`);
    }
    if (Date.now() > deadline) {
      await stopGroup(child);
      throw new LocalStackError(`LocalStack did not become ready at ${endpoint}:\n${output.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    patched,
    stop: () => stopGroup(child),
  };
}
