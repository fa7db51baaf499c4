/**
 * @module
 * Azure failures classified into the contract's {@link ProviderErrorKind}s: data (status and code lists)
 * plus one predicate, as smithy classifies AWS errors.
 *
 * | Azure answer                                                           | kind       |
 * |------------------------------------------------------------------------|------------|
 * | 412 PreconditionFailedEtagMismatch (stale etag; also a PUT If-Match to | conflict   |
 * | a NIC gone meanwhile: the retry's GET says 404), 409 AnotherOperation- |            |
 * | InProgress, an operation that ended Failed AnotherOperationInProgress   |            |
 * | 429 (Retry-After honoured)                                             | throttled  |
 * | 5xx, 408, no response (connection reset, timeout), operation Failed    | transient  |
 * | with another code                                                      |            |
 * | 404 ResourceNotFound                                                   | notFound   |
 * | 400 QuotaExceeded / ...LimitReached / ...LimitExceeded (256 per NIC)   | capacity   |
 * | 400 PrivateIPAddressNotInSubnet, ...IsAllocated, ...InUse, 401, 403... | terminal   |
 */
import { ProviderError } from '../../src/provider/contract.ts';

/** 400 codes that mean a limit was reached. */
export const CAPACITY_CODES: ReadonlySet<string> = new Set([
  'QuotaExceeded',
  'SecondaryIPConfigurationsPerNetworkInterfaceLimitReached',
  'PrivateIPAddressLimitReached',
  'SubnetIsFull',
]);

/**
 * Codes of an operation that ended Failed because another write got there first: Azure often reports a
 * concurrent write so (the PUT is accepted, its operation fails) instead of a 409.
 */
export const CONFLICT_OPERATION_CODES: ReadonlySet<string> = new Set(['AnotherOperationInProgress']);

/** Shape of the errors the Azure SDKs throw (`RestError`), read defensively. */
interface AzureErrorLike {
  readonly name?: string;
  readonly message?: string;
  readonly statusCode?: number;
  readonly code?: string;
  readonly response?: { readonly headers?: { get(name: string): string | undefined } };
}

/** Milliseconds from a `Retry-After` header (seconds or an HTTP date). */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Classifies any error an Azure call threw. `context` says what was being done (e.g. "NIC gw-1-nic: PUT"),
 * and leads the message; the cloud's own message follows, so an IP and subnet it names stay visible.
 */
export function classifyAzureError(err: unknown, context: string): ProviderError {
  if (err instanceof ProviderError) return err;
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as AzureErrorLike;
  const status = e.statusCode;
  const code = e.code;
  const message = `${context}: ${e.message ?? String(err)}`;
  const retryAfterMs = parseRetryAfter(e.response?.headers?.get('retry-after'));
  const opts = {
    cause: err,
    ...(code ? { code } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  };

  if (status === 412 || status === 409) return new ProviderError('conflict', message, opts);
  if (status === 429) return new ProviderError('throttled', message, opts);
  if (status === 404) return new ProviderError('notFound', message, opts);
  if (status !== undefined && (status >= 500 || status === 408))
    return new ProviderError('transient', message, opts);
  if (
    status === 400 &&
    code !== undefined &&
    (CAPACITY_CODES.has(code) || /Limit(Reached|Exceeded)$/.test(code))
  ) {
    return new ProviderError('capacity', message, opts);
  }
  if (status !== undefined) return new ProviderError('terminal', message, opts);
  if (e.name === 'AbortError') return new ProviderError('transient', message, opts);
  // @azure/core-lro reports a Failed operation as a plain Error: "The long-running operation has failed. <code>. <message>".
  const failed = /long-running operation has failed(?:\. (\w+)\.)?/i.exec(e.message ?? '');
  if (failed) {
    const opCode = failed[1] ?? code ?? 'OperationFailed';
    const kind = CONFLICT_OPERATION_CODES.has(opCode) ? 'conflict' : 'transient';
    return new ProviderError(kind, message, { ...opts, code: opCode });
  }
  // No HTTP status: the request never got an answer (connection refused or reset, DNS, TLS).
  if (code === 'REQUEST_SEND_ERROR' || /ECONN|ETIMEDOUT|EAI_AGAIN|socket/i.test(`${code} ${e.message}`)) {
    return new ProviderError('transient', message, opts);
  }
  return new ProviderError('terminal', message, opts);
}

/** An IP, as a whole address, in a message (`10.0.0.5` is not found in `10.0.0.50`). */
export function mentions(message: string, ip: string): boolean {
  const escaped = ip.replace(/[.]/g, '\\.');
  return new RegExp(`(^|[^0-9A-Za-z.:])${escaped}($|[^0-9A-Za-z:]|\\.(\\s|$))`).test(message);
}

/**
 * A resource name (e.g. an ipConfiguration's, within its ID) as a whole name in a message: `cloudegress-o-fd00--1`
 * is not found in `cloudegress-o-fd00--10`. ARM names an ipConfiguration, not its address, in some refusals
 * (`IPVersionForPublicIpAndNicIpConfigurationMustMatch`).
 */
export function mentionsName(message: string, name: string): boolean {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^0-9A-Za-z_.-])${escaped}($|[^0-9A-Za-z_-]|\\.(\\s|$))`, 'i').test(message);
}
