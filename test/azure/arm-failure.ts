/**
 * @module
 * The error an ARM call through the SDK failed with, for tests that expect a refusal.
 */

/** What the SDK's `RestError` carries of ARM's answer. */
export interface ArmFailure {
  readonly statusCode: number;
  readonly code: string;
  readonly message: string;
  readonly details?: unknown;
  readonly response?: { readonly bodyAsText?: string };
}

/** The error `call` rejects with; throws when it succeeds. */
export async function armFailure(call: Promise<unknown>): Promise<ArmFailure> {
  try {
    await call;
  } catch (err) {
    return err as ArmFailure;
  }
  throw new Error('expected the call to fail');
}
