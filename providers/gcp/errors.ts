/**
 * @module
 * Compute Engine failures as {@link ProviderError} kinds. Errors arrive as google-gax `GoogleError`s
 * (`httpStatusCode`, the JSON body kept as the raw payload), as gaxios errors (`status`, `response.data`)
 * from the one raw request in `client.ts`, as network errors without a status, or as the `error.errors[]`
 * of an operation that ended DONE with an error.
 *
 * | HTTP / reason / operation code                                         | kind      |
 * |-------------------------------------------------------------------------|-----------|
 * | 412 `conditionNotMet` (stale fingerprint), 409, 400 `resourceNotReady`  | conflict  |
 * | (another operation on the instance or subnetwork in flight)             |           |
 * | 429, `rateLimitExceeded`, `userRateLimitExceeded` (also as 403)         | throttled |
 * | 5xx `backendError`, no response (reset, refused, timeout)               | transient |
 * | 404 `notFound`                                                          | notFound  |
 * | 400 on the alias-range limit, `limitExceeded`, `QUOTA_EXCEEDED`         | capacity  |
 * | any other 400 (`invalid`: range outside subnet, IP in use), 401, 403    | terminal  |
 *
 * A `terminal` refusal of a whole write that quotes one added address names the IP to blame
 * ({@link blameAlias}), so the rest of the batch can be written again. GCP quotes it as `'<ip>/32'` or as a bare
 * `'<ip>'`: an address another resource holds fails the operation with `IP_IN_USE_BY_ANOTHER_RESOURCE`, `IP
 * '10.128.3.140/31' is already being used by another resource.` (GoogleCloudPlatform/compute-image-tools#659)
 * or `IP '10.0.0.2' is already being used by another resource.` (hashicorp/terraform#18998).
 */
import { ProviderError, type ProviderErrorKind } from '../../src/provider/contract.ts';
import type { Edit } from '../../src/provider/interface-driver.ts';

const RAW_PAYLOAD = Symbol.for('google-gax.rawHttpResponsePayload');

/** What a Compute Engine error says, read from whichever shape it came in. */
export interface GcpErrorInfo {
  readonly status: number | undefined;
  readonly reason: string | undefined;
  readonly message: string;
}

const THROTTLE_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded']);
/** Reasons that mean another writer or operation got there first: re-read and retry soon. */
const CONFLICT_REASONS = new Set(['conditionNotMet', 'resourceNotReady']);
const CAPACITY_REASONS = new Set(['limitExceeded', 'quotaExceeded']);
const LIMIT_MESSAGE = /maximum number of alias ip ranges|alias ip ranges? limit/i;

function parseBody(body: unknown): { message?: string; reason?: string } {
  let value = body;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return {};
    }
  }
  const error = (value as { error?: { message?: unknown; errors?: { reason?: unknown }[] } } | null)?.error;
  if (!error || typeof error !== 'object') return {};
  const reason = error.errors?.[0]?.reason;
  return {
    ...(typeof error.message === 'string' ? { message: error.message } : {}),
    ...(typeof reason === 'string' ? { reason } : {}),
  };
}

/** Reads status, reason and message from any error the SDK or the auth client throws. */
export function gcpErrorInfo(err: unknown): GcpErrorInfo {
  if (!err || typeof err !== 'object') return { status: undefined, reason: undefined, message: String(err) };
  const e = err as {
    httpStatusCode?: unknown;
    status?: unknown;
    response?: { status?: unknown; data?: unknown };
    reason?: unknown;
    message?: unknown;
    [RAW_PAYLOAD]?: unknown;
  };
  const status = [e.httpStatusCode, e.status, e.response?.status].find((s) => typeof s === 'number') as
    | number
    | undefined;
  const body = { ...parseBody(e.response?.data), ...parseBody(e[RAW_PAYLOAD]) };
  const reason = body.reason ?? (typeof e.reason === 'string' ? e.reason : undefined);
  return {
    status,
    reason,
    message: body.message ?? (typeof e.message === 'string' ? e.message : String(err)),
  };
}

/** The kind of a Compute Engine error. */
export function gcpErrorKind(info: GcpErrorInfo): ProviderErrorKind {
  const { status, reason, message } = info;
  if (status === 412 || status === 409 || (reason && CONFLICT_REASONS.has(reason))) return 'conflict';
  if (status === 429 || (reason && THROTTLE_REASONS.has(reason))) return 'throttled';
  if (status === undefined || status >= 500) return 'transient';
  if (status === 404) return 'notFound';
  if ((reason && CAPACITY_REASONS.has(reason)) || LIMIT_MESSAGE.test(message)) return 'capacity';
  return 'terminal';
}

/** A Compute Engine error as a {@link ProviderError}, its message prefixed with what was being done. */
export function classifyGcpError(err: unknown, doing: string): ProviderError {
  if (err instanceof ProviderError) return err;
  const info = gcpErrorInfo(err);
  const code = info.reason ?? (info.status === undefined ? undefined : String(info.status));
  return new ProviderError(gcpErrorKind(info), `${doing}: ${info.message}`, {
    cause: err,
    ...(code ? { code } : {}),
  });
}

const OPERATION_KINDS: Readonly<Record<string, ProviderErrorKind>> = {
  CONDITION_NOT_MET: 'conflict',
  RESOURCE_NOT_READY: 'conflict',
  RATE_LIMIT_EXCEEDED: 'throttled',
  QUOTA_EXCEEDED: 'capacity',
  LIMIT_EXCEEDED: 'capacity',
  INTERNAL_ERROR: 'transient',
  RESOURCE_NOT_FOUND: 'notFound',
};

/**
 * The error of an operation that ended DONE with `error.errors[]`. `IP_IN_USE_BY_ANOTHER_RESOURCE` says something
 * outside this installation holds the address, without naming it: `heldBy` is "another resource".
 */
export function operationError(
  errors: readonly { readonly code: string; readonly message: string }[],
  doing: string,
): ProviderError {
  const first = errors[0];
  const kind = (first && OPERATION_KINDS[first.code]) ?? 'terminal';
  return new ProviderError(kind, `${doing}: ${errors.map((e) => `${e.code}: ${e.message}`).join('; ')}`, {
    ...(first ? { code: first.code } : {}),
    ...(first?.code === 'IP_IN_USE_BY_ANOTHER_RESOURCE' ? { heldBy: 'another resource' } : {}),
  });
}

/** The ways a refusal names an added address: `'<ip>/32'`, ` <ip>/32 `, `'<ip>'` (see the module comment). */
const quotings = (ip: string) => [`'${ip}/32'`, ` ${ip}/32 `, `'${ip}'`];

/** The `add` among `edits` whose address a `terminal` refusal quotes, if any (see the module comment). */
export function blameAlias(error: ProviderError, edits: readonly Edit[]): Edit | undefined {
  if (error.kind !== 'terminal') return undefined;
  return edits.find((e) => e.kind === 'add' && quotings(e.ip).some((q) => error.message.includes(q)));
}
