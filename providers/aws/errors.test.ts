import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/provider/contract.ts';
import { awsErrorCode, classifyAwsErrorKind, toProviderError } from './errors.ts';

/** An error shaped like the SDK's ServiceException for an EC2 error response. */
const service = (name: string, status: number) =>
  Object.assign(new Error(`${name} happened`), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
  });

describe('classifyAwsErrorKind', () => {
  it.each([
    ['RequestLimitExceeded', 503, 'throttled'],
    ['Throttling', 400, 'throttled'],
    ['InternalError', 500, 'transient'],
    ['Unavailable', 503, 'transient'],
    ['SomethingNew', 502, 'transient'],
    ['PrivateIpAddressLimitExceeded', 400, 'capacity'],
    ['InsufficientFreeAddressesInSubnet', 400, 'capacity'],
    ['InvalidInstanceID.NotFound', 400, 'notFound'],
    ['InvalidNetworkInterfaceID.NotFound', 400, 'notFound'],
    ['InvalidParameterValue', 400, 'terminal'],
    ['InvalidIPAddress.InUse', 400, 'terminal'],
    ['UnauthorizedOperation', 403, 'terminal'],
    ['IncorrectState', 400, 'conflict'],
  ])('%s (HTTP %i) is %s', (name, status, kind) => {
    expect(classifyAwsErrorKind(service(name, status))).toBe(kind);
  });

  it('treats a reset connection as transient', () => {
    expect(classifyAwsErrorKind(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(
      'transient',
    );
    expect(classifyAwsErrorKind(new Error('socket hang up'))).toBe('transient');
  });

  it('keeps a ProviderError as it is and names the call and the code', () => {
    const kept = new ProviderError('capacity', 'full');
    expect(toProviderError(kept, 'x')).toBe(kept);
    const wrapped = toProviderError(service('RequestLimitExceeded', 503), 'EC2 AssignPrivateIpAddresses');
    expect(wrapped).toMatchObject({ kind: 'throttled', code: 'RequestLimitExceeded', retryable: true });
    expect(wrapped.message).toContain('EC2 AssignPrivateIpAddresses: RequestLimitExceeded');
    expect(wrapped.cause).toBeInstanceOf(Error);
    expect(awsErrorCode(undefined)).toBeUndefined();
  });
});
