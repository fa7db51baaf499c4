import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/provider/contract.ts';
import { classifyAzureError, mentionsName, parseRetryAfter } from './errors.ts';

/** The shape of the SDKs' RestError: status, ARM code, response headers. */
const restError = (
  message: string,
  fields: { statusCode?: number; code?: string; headers?: Record<string, string> },
) =>
  Object.assign(new Error(message), {
    name: 'RestError',
    statusCode: fields.statusCode,
    code: fields.code,
    response: { headers: { get: (name: string) => fields.headers?.[name.toLowerCase()] } },
  });
const rest = (statusCode: number, code: string, headers: Record<string, string> = {}) =>
  restError(`${code} happened`, { statusCode, code, headers });

describe('classifyAzureError', () => {
  it.each([
    [412, 'PreconditionFailed', 'conflict'],
    [409, 'AnotherOperationInProgress', 'conflict'],
    [429, 'SubscriptionRequestsThrottled', 'throttled'],
    [500, 'InternalServerError', 'transient'],
    [503, 'ServiceUnavailable', 'transient'],
    [404, 'ResourceNotFound', 'notFound'],
    [400, 'QuotaExceeded', 'capacity'],
    [400, 'SecondaryIPConfigurationsPerNetworkInterfaceLimitReached', 'capacity'],
    [400, 'PrivateIPAddressNotInSubnet', 'terminal'],
    [400, 'PrivateIPAddressIsAllocated', 'terminal'],
    [400, 'PrivateIPAddressInUse', 'terminal'],
    [403, 'AuthorizationFailed', 'terminal'],
  ])('%i %s is %s', (status, code, kind) => {
    const error = classifyAzureError(rest(status, code), 'NIC n');
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.kind).toBe(kind);
    expect(error.code).toBe(code);
    expect(error.message).toBe(`NIC n: ${code} happened`);
  });

  it('reads the code of a failed long-running operation: AnotherOperationInProgress is a conflict', () => {
    const busy = classifyAzureError(
      new Error(
        'The long-running operation has failed. AnotherOperationInProgress. Another operation on this or dependent resource is in progress.',
      ),
      'c',
    );
    expect(busy).toMatchObject({ kind: 'conflict', code: 'AnotherOperationInProgress' });
    const other = classifyAzureError(
      new Error('The long-running operation has failed. InternalServerError. x'),
      'c',
    );
    expect(other).toMatchObject({ kind: 'transient', code: 'InternalServerError' });
  });

  it('reads Retry-After into retryAfterMs', () => {
    expect(classifyAzureError(rest(429, 'X', { 'retry-after': '7' }), 'c').retryAfterMs).toBe(7_000);
  });

  it('treats a failed long-running operation and a dropped connection as transient', () => {
    expect(classifyAzureError(new Error('The long-running operation has failed. X. y'), 'c').kind).toBe(
      'transient',
    );
    expect(classifyAzureError(restError('socket hang up', { code: 'REQUEST_SEND_ERROR' }), 'c').kind).toBe(
      'transient',
    );
  });

  it('keeps a ProviderError as it is and calls anything else terminal', () => {
    const own = new ProviderError('capacity', 'full');
    expect(classifyAzureError(own, 'c')).toBe(own);
    expect(classifyAzureError(new TypeError('x is undefined'), 'c').kind).toBe('terminal');
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('3')).toBe(3_000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

describe('mentionsName', () => {
  it('finds a whole ipConfiguration name in an ARM message, not a longer one', () => {
    const message =
      "IP version for publicIPAddress 'p', version 'IPv4' and network interface ipConfiguration '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/n/ipConfigurations/cloudegress-o-fd00--10', version 'IPv6' must match.";
    expect(mentionsName(message, 'cloudegress-o-fd00--10')).toBe(true);
    expect(mentionsName(message, 'cloudegress-o-fd00--1')).toBe(false);
    expect(mentionsName(message, 'o-fd00--10')).toBe(false);
  });
});
