/**
 * @module
 * Classifies EC2 API failures into {@link ProviderError} kinds, which decide whether a retry can help.
 *
 * | EC2 error code / failure                                         | kind       |
 * |------------------------------------------------------------------|------------|
 * | RequestLimitExceeded, Throttling, HTTP 429                        | throttled  |
 * | HTTP 5xx, InternalError, Unavailable, reset/refused/timeout       | transient  |
 * | IncorrectState, ConcurrentTagAccess                               | conflict   |
 * | PrivateIpAddressLimitExceeded, InsufficientFreeAddressesInSubnet  | capacity   |
 * | InvalidInstanceID.NotFound, InvalidNetworkInterfaceID.NotFound    | notFound   |
 * | InvalidParameterValue, InvalidIPAddress.InUse, UnauthorizedOperation, anything else | terminal |
 *
 * `InvalidParameterValue` is terminal, not notFound: EC2 returns it for an address outside the subnet or
 * malformed input, which a retry or treating the node as gone would not fix.
 */
import { ProviderError, type ProviderErrorKind } from '../../src/provider/contract.ts';

const BY_CODE: Readonly<Record<string, ProviderErrorKind>> = {
  RequestLimitExceeded: 'throttled',
  Throttling: 'throttled',
  ThrottlingException: 'throttled',
  TooManyRequestsException: 'throttled',
  InternalError: 'transient',
  InternalFailure: 'transient',
  ServiceUnavailable: 'transient',
  Unavailable: 'transient',
  RequestTimeout: 'transient',
  RequestTimeoutException: 'transient',
  TimeoutError: 'transient',
  IncorrectState: 'conflict',
  ConcurrentTagAccess: 'conflict',
  PrivateIpAddressLimitExceeded: 'capacity',
  InsufficientFreeAddressesInSubnet: 'capacity',
  AddressLimitExceeded: 'capacity',
  'InvalidInstanceID.NotFound': 'notFound',
  'InvalidNetworkInterfaceID.NotFound': 'notFound',
  'InvalidSubnetID.NotFound': 'notFound',
  'InvalidAllocationID.NotFound': 'terminal',
  InvalidParameterValue: 'terminal',
  'InvalidIPAddress.InUse': 'terminal',
  UnauthorizedOperation: 'terminal',
  AuthFailure: 'terminal',
};

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
}

/** The EC2 error code of an SDK error (`name` for service errors, `code` for Node network errors). */
export function awsErrorCode(err: unknown): string | undefined {
  const e = err as SdkErrorShape | undefined;
  if (!e || typeof e !== 'object') return undefined;
  if (e.$metadata && e.name) return e.name;
  return e.code ?? e.name;
}

/** The kind of an EC2 SDK failure. */
export function classifyAwsErrorKind(err: unknown): ProviderErrorKind {
  if (err instanceof ProviderError) return err.kind;
  const e = (err ?? {}) as SdkErrorShape;
  const code = awsErrorCode(err);
  if (code && BY_CODE[code]) return BY_CODE[code];
  if (code && NETWORK_CODES.has(code)) return 'transient';
  const status = e.$metadata?.httpStatusCode;
  if (status === 429) return 'throttled';
  if (status !== undefined && status >= 500) return 'transient';
  if (e.$fault === 'server') return 'transient';
  // A connection dropped mid-response surfaces as a plain error without a status.
  if (
    !e.$metadata?.httpStatusCode &&
    /socket hang up|ECONNRESET|other side closed|fetch failed/i.test(e.message ?? '')
  ) {
    return 'transient';
  }
  return 'terminal';
}

/** Wraps an EC2 failure into a {@link ProviderError} naming what was being done. */
export function toProviderError(err: unknown, doing: string): ProviderError {
  if (err instanceof ProviderError) return err;
  const code = awsErrorCode(err);
  const message = (err as { message?: string } | undefined)?.message ?? String(err);
  return new ProviderError(classifyAwsErrorKind(err), `${doing}: ${code ? `${code}: ` : ''}${message}`, {
    cause: err,
    ...(code ? { code } : {}),
  });
}
