/**
 * @module
 * The errors the Azure emulator answers with, in ARM's shape `{"error":{"code","message"}}`, with the codes
 * and message wording Azure uses (see each factory). Where Azure documents no code, the comment says so.
 */

/** An ARM error response. */
export class ArmError extends Error {
  override readonly name = 'ArmError';
  readonly status: number;
  readonly code: string;
  /** Extra response headers (e.g. `Retry-After`). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }

  /** The response body. */
  body(): { error: { code: string; message: string; details: [] } } {
    return { error: { code: this.code, message: this.message, details: [] } };
  }
}

/** 404 for a resource that does not exist. */
export const resourceNotFound = (type: string, name: string, resourceGroup: string) =>
  new ArmError(
    404,
    'ResourceNotFound',
    `The Resource '${type}/${name}' under resource group '${resourceGroup}' was not found.`,
  );

/** 412 when `If-Match` names another etag (wording as cloud-provider-azure parses it). */
export const etagMismatch = (given: string, current: string, id: string) =>
  new ArmError(
    412,
    'PreconditionFailed',
    `Etag provided in if-match header ${given} does not match etag ${current} of resource ${id} in NRP data store.`,
  );

/** 409 while another operation on the resource runs. */
export const anotherOperationInProgress = (operationUrl: string) =>
  new ArmError(
    409,
    'AnotherOperationInProgress',
    `Another operation on this or dependent resource is in progress. To retrieve status of the operation use uri: ${operationUrl}.`,
  );

/** 429 from ARM's throttling. */
export const throttled = (retryAfterSeconds: number) =>
  new ArmError(
    429,
    'SubscriptionRequestsThrottled',
    `Number of 'write' requests for subscription exceeded the limit. Please try again after '${retryAfterSeconds}' seconds.`,
    { 'Retry-After': String(retryAfterSeconds) },
  );

/** A 5xx. */
export const serverError = (status: number) =>
  new ArmError(status, 'InternalServerError', 'An error occurred while processing the request.');

/** 400: the static IP is outside the ipConfiguration's subnet. */
export const notInSubnet = (ipConfigId: string, ip: string, subnetId: string, prefix: string) =>
  new ArmError(
    400,
    'PrivateIPAddressNotInSubnet',
    `IP configuration ${ipConfigId} is referencing a private IP address ${ip} which is not in the address prefix ${prefix} of subnet ${subnetId}.`,
  );

/** 400: the static IP is one of the five addresses Azure keeps in every subnet. */
export const inReservedRange = (ipConfigId: string, ip: string, subnetId: string) =>
  new ArmError(
    400,
    'PrivateIPAddressInReservedRange',
    `IP configuration ${ipConfigId} is referencing a private IP address ${ip} which is in the range reserved by Azure in subnet ${subnetId}.`,
  );

/** 400: the IP is held by another ipConfiguration (wording from Microsoft Learn's private endpoint guide). */
export const ipAllocated = (ipConfigId: string, ip: string, holderId: string) =>
  new ArmError(
    400,
    'PrivateIPAddressIsAllocated',
    `IP configuration ${ipConfigId} is using the private IP address ${ip} which is already allocated to resource ${holderId}.`,
  );

/**
 * 400: more ipConfigurations than a NIC may hold (256 private IPs per NIC, azure-virtual-network-limits;
 * usage name `SecondaryIPConfigurationsPerNetworkInterface`). Azure documents no code for this one; the
 * emulator uses ARM's generic `QuotaExceeded`.
 */
export const tooManyIpConfigurations = (nicId: string, count: number, limit: number) =>
  new ArmError(
    400,
    'QuotaExceeded',
    `Network interface ${nicId} has ${count} IP configurations; the limit SecondaryIPConfigurationsPerNetworkInterface is ${limit}.`,
  );

/** 400: a reference to a resource (subnet, public IP) that does not exist. */
export const invalidReference = (referenced: string, by: string) =>
  new ArmError(
    400,
    'InvalidResourceReference',
    `Resource ${referenced} referenced by resource ${by} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.`,
  );

/** 400: a public IP already associated elsewhere. */
export const publicIpInUse = (publicIpId: string, holderId: string) =>
  new ArmError(
    400,
    'PublicIPAddressInUse',
    `Public IP address ${publicIpId} is already in use by ${holderId}.`,
  );

/** 400: every ipConfiguration of a NIC must carry the same application security groups (CNCC 60704f7a). */
export const differentAsgs = (nicId: string) =>
  new ArmError(
    400,
    'AllIpConfigurationsOnANicMustBelongToTheSameApplicationSecurityGroups',
    `All IP configurations on network interface ${nicId} must belong to the same application security groups.`,
  );

/** 400: a NIC needs exactly one primary ipConfiguration, and its primary cannot be removed. */
export const primaryRequired = (nicId: string) =>
  new ArmError(
    400,
    'NetworkInterfaceMustHaveOnePrimaryIpConfiguration',
    `Network interface ${nicId} must have exactly one primary IP configuration.`,
  );

/** 400: a malformed body. */
export const badRequest = (message: string) => new ArmError(400, 'InvalidRequestFormat', message);
