/**
 * @module
 * Polling until a condition holds, giving up early when the server it waits for has died.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServerProcess } from './server-process.ts';

/** Options of {@link waitUntil}. */
export interface WaitOptions {
  /** What is awaited, for the timeout message. */
  readonly what: string;
  readonly timeoutMs: number;
  /** Poll interval. Default 100 ms. */
  readonly intervalMs?: number;
  /** Stop waiting (with its log in the error) when this process exits. */
  readonly process?: ServerProcess;
}

/** A server exited while the harness waited for it. */
export class ServerExitedError extends Error {
  /** The end of the server's log. */
  readonly log: string;

  constructor(name: string, how: string, log: string) {
    super(`${name} exited (${how}) before it was ready; end of its log:\n${log}`);
    this.name = 'ServerExitedError';
    this.log = log;
  }
}

/**
 * Calls `check` until it returns true. A `check` that throws counts as "not yet"; the last such error is the
 * cause of the timeout error.
 *
 * @throws {ServerExitedError} when `options.process` exits first.
 * @throws {Error} on timeout.
 */
export async function waitUntil(check: () => Promise<boolean>, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    const status = options.process?.exitStatus;
    if (status && options.process) {
      const how = status.signal ? `signal ${status.signal}` : `code ${status.code}`;
      throw new ServerExitedError(options.process.name, how, await options.process.logTail());
    }
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}`, {
        cause: lastError,
      });
    }
    await sleep(options.intervalMs ?? 100);
  }
}
