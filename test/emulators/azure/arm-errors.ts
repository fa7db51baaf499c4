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
  /** `error.details`: the causes ARM lists under a general code. */
  readonly details: readonly { readonly code: string; readonly message: string }[];

  constructor(
    status: number,
    code: string,
    message: string,
    headers: Record<string, string> = {},
    details: readonly { code: string; message: string }[] = [],
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
    this.details = details;
  }

  /** The response body. */
  body(): { error: { code: string; message: string; details: { code: string; message: string }[] } } {
    return { error: { code: this.code, message: this.message, details: [...this.details] } };
  }
}

/** 404 for a resource that does not exist. */
export const resourceNotFound = (type: string, name: string, resourceGroup: string) =>
  new ArmError(
    404,
    'ResourceNotFound',
    `The Resource '${type}/${name}' under resource group '${resourceGroup}' was not found.`,
  );

/**
 * 412 when `If-Match` names another etag. The code is `PreconditionFailedEtagMismatch` (the code NRP answers,
 * kubernetes-sigs/cloud-provider-azure#9729); the wording is the one cloud-provider-azure parses.
 */
export const etagMismatch = (given: string, current: string, id: string) =>
  new ArmError(
    412,
    'PreconditionFailedEtagMismatch',
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

/**
 * 412 for a conditional PUT (`If-Match`) to a NIC that does not exist: with no current representation the
 * precondition fails (RFC 9110 §13.1.1; Microsoft REST API guidelines, conditional requests table), so such a
 * PUT is never answered 404 and never creates the NIC again.
 */
export const preconditionOnMissing = (id: string) =>
  new ArmError(
    412,
    'PreconditionFailedEtagMismatch',
    `Precondition failed: resource ${id} does not exist, so the etag in the if-match header does not match.`,
  );

/**
 * 400: two ipConfigurations of one NIC with the same name. NRP refuses the body as a whole with
 * `InvalidRequestFormat` "Cannot parse the request." and a `DuplicateResourceName` detail (Azure/migAz#181
 * shows the answer for a load balancer's child resources; NICs' ipConfigurations are child resources alike).
 */
export const duplicateChildName = (parentId: string, name: string) =>
  new ArmError(400, 'InvalidRequestFormat', 'Cannot parse the request.', {}, [
    {
      code: 'DuplicateResourceName',
      message: `Resource ${parentId} has two child resources with the same name (${name}).`,
    },
  ]);

/**
 * 400: a Static ipConfiguration without an address (hashicorp/terraform-provider-azurerm#15265 quotes the
 * answer).
 */
export const staticWithoutAddress = (ipConfigId: string) =>
  new ArmError(
    400,
    'PrivateIPAddressMissing',
    `Private IP address is required when privateIPAllocationMethod is Static in IP configuration ${ipConfigId}.`,
  );

/**
 * 400: a call behind a subscription feature that is not registered, e.g. `moveIpConfigurations` without
 * `Microsoft.Network/AllowMoveIpConfigurations` (wording as quoted in hashicorp/terraform-provider-azurerm#429
 * and MicrosoftDocs/azure-docs#85617 for other Microsoft.Network features).
 */
export const featureNotRegistered = (subscriptionId: string, feature: string) =>
  new ArmError(
    400,
    'SubscriptionNotRegisteredForFeature',
    `Subscription ${subscriptionId} is not registered for feature Microsoft.Network/${feature} required to carry out the requested operation.`,
  );

/** 400: a malformed body. */
export const badRequest = (message: string) => new ArmError(400, 'InvalidRequestFormat', message);

/**
 * 400: a public IP of one version on an ipConfiguration of the other. Microsoft Learn ("Configure IP addresses for
 * an Azure network interface"): "The IP version defines the version of both the private and public IPs in the IP
 * configuration"; code and wording as NRP answered them (quoted in ansible-collections/azure#582).
 */
export const ipVersionMismatch = (
  publicIpId: string,
  publicVersion: string,
  ipConfigId: string,
  configVersion: string,
) =>
  new ArmError(
    400,
    'IPVersionForPublicIpAndNicIpConfigurationMustMatch',
    `IP version for publicIPAddress '${publicIpId}', version '${publicVersion}' and network interface ipConfiguration '${ipConfigId}', version '${configVersion}' must match.`,
  );

/**
 * 400: an IPv6 primary ipConfiguration, or a NIC without an IPv4 one. Microsoft Learn documents the rule ("You
 * can't assign a private IPv6 address to a primary IP configuration", "Configure IP addresses for an Azure network
 * interface"; "each NIC must include at least one IPv4 IP configuration", "What is IPv6 for Azure Virtual
 * Network?") but not the code Azure answers: the code here is the emulator's own.
 */
export const primaryNotIPv4 = (ipConfigId: string) =>
  new ArmError(
    400,
    'IPv6IpConfigurationCannotBePrimary',
    `IP configuration ${ipConfigId} is primary and IPv6; the primary IP configuration of a network interface must be IPv4.`,
  );
