import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/provider/contract.ts';
import type { Edit } from '../../src/provider/interface-driver.ts';
import { blameAlias, classifyGcpError, gcpErrorKind, operationError } from './errors.ts';

const body = (code: number, reason: string, message: string) => ({
  error: { code, message, errors: [{ message, domain: 'global', reason }] },
});

/** An error shaped as google-gax's REST transport builds it: `httpStatusCode` plus the raw JSON body. */
function googleError(code: number, reason: string, message: string): Error {
  const err = Object.assign(new Error(message), { httpStatusCode: code, code: 9 });
  Object.defineProperty(err, Symbol.for('google-gax.rawHttpResponsePayload'), {
    value: JSON.stringify(body(code, reason, message)),
  });
  return err;
}

describe('classifyGcpError', () => {
  it.each([
    [412, 'conditionNotMet', 'Invalid fingerprint.', 'conflict'],
    // GoogleCloudPlatform/gke-migration-to-containers#63, opstrace/opstrace#1218: an HTTP 400, not a 409.
    [
      400,
      'resourceNotReady',
      "The resource 'projects/p/regions/r/subnetworks/default' is not ready",
      'conflict',
    ],
    [400, 'resourceNotReady', "The resource 'projects/p/zones/z/instances/vm-1' is not ready", 'conflict'],
    [429, 'rateLimitExceeded', 'Rate Limit Exceeded', 'throttled'],
    [403, 'rateLimitExceeded', 'Rate Limit Exceeded', 'throttled'],
    [403, 'forbidden', "Required 'compute.instances.updateNetworkInterface' permission", 'terminal'],
    [503, 'backendError', 'Backend Error', 'transient'],
    [404, 'notFound', "The resource 'projects/p/zones/z/instances/i' was not found", 'notFound'],
    [
      400,
      'invalid',
      'Exceeded the maximum number of alias IP ranges (100) on network interface nic0.',
      'capacity',
    ],
    [
      400,
      'invalid',
      "Invalid value for field 'resource.aliasIpRanges[0].ipCidrRange': '10.9.0.5/32'.",
      'terminal',
    ],
  ] as const)('HTTP %i %s -> %s', (status, reason, message, kind) => {
    const error = classifyGcpError(googleError(status, reason, message), 'updating nic0');
    expect(error.kind).toBe(kind);
    expect(error.message).toBe(`updating nic0: ${message}`);
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('reads gaxios errors (status and response.data) from the raw request', () => {
    const err = Object.assign(new Error('Request failed with status code 412'), {
      status: 412,
      response: { status: 412, data: body(412, 'conditionNotMet', 'Invalid fingerprint.') },
    });
    expect(classifyGcpError(err, 'x')).toMatchObject({ kind: 'conflict', code: 'conditionNotMet' });
  });

  it('treats a failure without any response (connection refused, reset) as transient', () => {
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(classifyGcpError(err, 'x').kind).toBe('transient');
  });

  it('maps operation error codes', () => {
    expect(operationError([{ code: 'CONDITION_NOT_MET', message: 'm' }], 'x').kind).toBe('conflict');
    expect(operationError([{ code: 'QUOTA_EXCEEDED', message: 'm' }], 'x').kind).toBe('capacity');
    expect(operationError([{ code: 'IP_IN_USE_BY_ANOTHER_RESOURCE', message: 'm' }], 'x').kind).toBe(
      'terminal',
    );
    expect(gcpErrorKind({ status: 409, reason: 'resourceNotReady', message: '' })).toBe('conflict');
  });

  it('says that another resource holds an IP refused with IP_IN_USE_BY_ANOTHER_RESOURCE (GCP does not name it)', () => {
    const inUse = operationError(
      [
        {
          code: 'IP_IN_USE_BY_ANOTHER_RESOURCE',
          message: "IP '10.0.0.2' is already being used by another resource.",
        },
      ],
      'x',
    );
    expect(inUse.heldBy).toBe('another resource');
    expect(operationError([{ code: 'QUOTA_EXCEEDED', message: 'm' }], 'x').heldBy).toBeUndefined();
  });
});

describe('blameAlias', () => {
  const edits: Edit[] = [
    { kind: 'remove', ip: '10.9.0.4' },
    { kind: 'add', ip: '10.9.0.5' },
    { kind: 'add', ip: '10.9.0.50' },
    { kind: 'allocate', count: 1 },
  ];
  const refusal = (kind: 'terminal' | 'capacity', message: string) => new ProviderError(kind, message);

  it("names the add whose '<ip>/32' a terminal refusal quotes", () => {
    const quoted = "Invalid value for field 'resource.aliasIpRanges[1].ipCidrRange': '10.9.0.50/32'. In use.";
    expect(blameAlias(refusal('terminal', quoted), edits)).toBe(edits[2]);
    const spaced = 'IP address range 10.9.0.5/32 is already in use by vm-2 nic0.';
    expect(blameAlias(refusal('terminal', spaced), edits)).toBe(edits[1]);
  });

  it("names the add whose bare '<ip>' an operation error quotes, and not one that only shares a prefix", () => {
    // hashicorp/terraform#18998: GCP quotes a single address without a prefix length.
    const opError = operationError(
      [
        {
          code: 'IP_IN_USE_BY_ANOTHER_RESOURCE',
          message: "IP '10.9.0.5' is already being used by another resource.",
        },
      ],
      'updating nic0',
    );
    expect(blameAlias(opError, edits)).toBe(edits[1]);
    const longer = refusal('terminal', "IP '10.9.0.50' is already being used by another resource.");
    expect(blameAlias(longer, edits)).toBe(edits[2]);
  });

  it('names nothing for a remove, an IP it does not quote, or another kind', () => {
    expect(blameAlias(refusal('terminal', 'IP 10.9.0.5 is already being used'), edits)).toBeUndefined();
    expect(blameAlias(refusal('terminal', "'10.9.0.4/32' is bad"), edits)).toBeUndefined();
    expect(blameAlias(refusal('capacity', "'10.9.0.5/32' is past the limit"), edits)).toBeUndefined();
  });
});
