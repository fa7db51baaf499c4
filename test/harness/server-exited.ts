/**
 * @module
 * A server that exits while the harness waits for it: the error that carries its log, and the check that
 * {@link eventually} asks before each try so that a wait on a dead server ends at once.
 */
import type { EventuallyOptions } from '../support/eventually.ts';
import type { ServerProcess } from './server-process.ts';

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

/** The `giveUp` of a wait on `server`: a {@link ServerExitedError} with its log once it has exited. */
export function whenExited(server: ServerProcess): NonNullable<EventuallyOptions<unknown>['giveUp']> {
  return async () => {
    const status = server.exitStatus;
    if (!status) return undefined;
    const how = status.signal ? `signal ${status.signal}` : `code ${status.code}`;
    return new ServerExitedError(server.name, how, await server.logTail());
  };
}
