/**
 * @module
 * Condition types, reasons and Event reasons, as constants (never literals in the code).
 */

/** Condition types on EgressGateway, EgressPolicy and ClusterEgressPolicy status. */
export const CONDITION = {
  /** Spec is valid and every reference resolves (gateway exists, namespace admitted, provider known). */
  Accepted: 'Accepted',
  /** Every egress IP is Ready on a healthy node. */
  Ready: 'Ready',
  /** Some IPs are not placed or some nodes failed; the object works partly. */
  Degraded: 'Degraded',
  /**
   * Gateways: the checks `cloud-egress doctor` makes passed on the gateway's nodes: cluster CIDRs found, and the
   * provider's preflight checks (permissions, free slots, what a failover needs, given whether the Amazon VPC CNI
   * runs); absent for providers without checks.
   */
  Preflight: 'Preflight',
  /**
   * It asks for an IP another policy owns, or one something outside this installation holds in the cloud
   * (policy), or its pool overlaps another gateway's (gateway); the holder keeps the IP
   * (docs/adr/0006-the-holder-keeps-its-ip.md) and the message names it.
   */
  Conflicted: 'Conflicted',
  /**
   * Gateways: some of its nodes are leaving on purpose (cordoned, drained, chosen by an autoscaler, being
   * deleted). Reason Drained while their IPs have moved to nodes that stay, DrainBlocked (with the IPs and why)
   * while some cannot move, so that the drain would end in a failover.
   */
  Draining: 'Draining',
} as const;
/** A condition type. */
export type ConditionType = (typeof CONDITION)[keyof typeof CONDITION];

/**
 * Reasons, used both in conditions and in Events (CamelCase, as Kubernetes expects).
 * Each reason names a cause a user can act on; the message says what to do.
 */
export const REASON = {
  // Accepted
  Accepted: 'Accepted',
  InvalidSpec: 'InvalidSpec',
  GatewayNotFound: 'GatewayNotFound',
  NamespaceNotAdmitted: 'NamespaceNotAdmitted',
  ProviderUnknown: 'ProviderUnknown',
  ProviderMixed: 'ProviderMixed',
  NoNodes: 'NoNodes',
  // Allocation and scheduling
  PoolExhausted: 'PoolExhausted',
  IPOutsideGatewayPool: 'IPOutsideGatewayPool',
  IPInUse: 'IPInUse',
  /** Something this installation does not own holds the IP in the cloud (another interface, another tool). */
  IPHeldInCloud: 'IPHeldInCloud',
  IPReserved: 'IPReserved',
  IPv6NotSupported: 'IPv6NotSupported',
  NoEligibleNode: 'NoEligibleNode',
  NoSubnet: 'NoSubnet',
  CapacityExceeded: 'CapacityExceeded',
  // Cloud
  Pending: 'Pending',
  /** A read showed the IP missing where the cloud had acknowledged it; written again, not Ready until a read agrees. */
  Verifying: 'Verifying',
  Assigned: 'Assigned',
  CloudError: 'CloudError',
  CloudThrottled: 'CloudThrottled',
  Released: 'Released',
  Moved: 'Moved',
  // Conflicted
  PoolOverlap: 'PoolOverlap',
  NoConflict: 'NoConflict',
  // Ready
  AllIPsReady: 'AllIPsReady',
  IPsNotReady: 'IPsNotReady',
  NodeFailed: 'NodeFailed',
  NodeRecovered: 'NodeRecovered',
  // Draining (and the Event of a planned move off a leaving node)
  Drained: 'Drained',
  DrainBlocked: 'DrainBlocked',
  NoDrain: 'NoDrain',
  // Preflight
  PreflightPassed: 'PreflightPassed',
  PreflightFailed: 'PreflightFailed',
  PreflightError: 'PreflightError',
} as const;
/** A reason. */
export type Reason = (typeof REASON)[keyof typeof REASON];

/** Event types, as Kubernetes spells them. */
export const EVENT_TYPE = { Normal: 'Normal', Warning: 'Warning' } as const;
