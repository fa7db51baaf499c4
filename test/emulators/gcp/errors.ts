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

/**
 * 400 `resourceNotReady`: another operation on the resource (an instance, a subnetwork) is in flight. Shape and
 * text as captured from Compute Engine: `Error 400: The resource 'projects/…/regions/us-central1/subnetworks/default'
 * is not ready, resourceNotReady` (GoogleCloudPlatform/gke-migration-to-containers#63), the full JSON body with
 * `"reason": "resourceNotReady"` and status 400 (opstrace/opstrace#1218); Google's Terraform provider retries it
 * (hashicorp/terraform-provider-google `isSubnetworkUnreadyError`: "GCE Subnetworks are considered unready for a
 * brief period when certain operations are performed on them").
 */
export function resourceNotReady(resource: string): GcpApiError {
  return new GcpApiError(400, 'resourceNotReady', `The resource '${resource}' is not ready`);
}
