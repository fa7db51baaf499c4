/**
 * @module
 * The API server's own `Status` out of a client-node error, so tests can assert on what the server said
 * (code, reason, message, causes with field paths) rather than on the client's wording.
 */
import { ApiException, type V1Status } from '@kubernetes/client-node';

/** The `Status` object the API server answered with, or undefined if `error` carries none. */
export function apiStatus(error: unknown): V1Status | undefined {
  if (!(error instanceof ApiException)) return undefined;
  const body: unknown = error.body;
  if (typeof body === 'string') {
    try {
      return JSON.parse(body) as V1Status;
    } catch {
      return { code: error.code, message: body };
    }
  }
  if (body && typeof body === 'object') return body as V1Status;
  return { code: error.code };
}

/**
 * Runs `call`, expects the API server to refuse it, and returns the server's `Status`.
 *
 * @throws {Error} when the call succeeds, or fails without an API server answer.
 */
export async function expectApiError(call: () => Promise<unknown>): Promise<V1Status> {
  try {
    await call();
  } catch (error) {
    const status = apiStatus(error);
    if (status) return status;
    throw error;
  }
  throw new Error('the API server accepted a request that should have been refused');
}
