/**
 * @module
 * Compute Engine's JSON error format (https://cloud.google.com/compute/docs/api/how-tos/api-requests-responses
 * and https://cloud.google.com/apis/design/errors):
 *
 * ```json
 * {"error": {"code": 412, "message": "Invalid fingerprint.",
 *            "errors": [{"message": "Invalid fingerprint.", "domain": "global", "reason": "conditionNotMet"}]}}
 * ```
 */

/** An error the emulator answers with. */
export class GcpApiError extends Error {
  override readonly name = 'GcpApiError';
  readonly status: number;
  readonly reason: string;
  readonly location: string | undefined;

  constructor(status: number, reason: string, message: string, location?: string) {
    super(message);
    this.status = status;
    this.reason = reason;
    this.location = location;
  }

  /** The response body. */
  toJSON(): unknown {
    return {
      error: {
        code: this.status,
        message: this.message,
        errors: [
          {
            message: this.message,
            domain: 'global',
            reason: this.reason,
            ...(this.location ? { location: this.location, locationType: 'parameter' } : {}),
          },
        ],
      },
    };
  }
}

/** 404 `notFound` for a resource path such as `projects/p/zones/z/instances/i`. */
export function notFound(resource: string): GcpApiError {
  return new GcpApiError(404, 'notFound', `The resource '${resource}' was not found`);
}

/** 400 `invalid` for a field value. */
export function invalidField(field: string, value: string, why: string): GcpApiError {
  return new GcpApiError(400, 'invalid', `Invalid value for field '${field}': '${value}'. ${why}`);
}

/** 412 `conditionNotMet`: the fingerprint sent is not the resource's current one. */
export function staleFingerprint(): GcpApiError {
  return new GcpApiError(412, 'conditionNotMet', 'Invalid fingerprint.', 'If-Match');
}
