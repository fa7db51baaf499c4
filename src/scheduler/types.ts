/**
 * @module
 * Inputs and outputs of the pure scheduler: `(gateways, nodes, policies, current placement) -> plan`.
 * Plain data only; the controller builds the inputs from the API server and the cloud.
 */
import type { Reason } from '../api/conditions.ts';

/** A gateway as the scheduler sees it. */
export interface GatewayInput {
  /** EgressGateway name. */
  readonly name: string;
  /** `spec.ips`: IPs, CIDRs and `start-end` ranges the gateway hands out. */
  readonly pool: readonly string[];
  /** IPs the cloud picked for `spec.cloudAllocated` (from status), also handed out. */
  readonly cloudAllocatedIPs: readonly string[];
  /** `spec.cloudAllocated`: how many IPs the cloud should pick for this gateway (0 when unset). */
  readonly cloudAllocated?: number;
  /** `spec.maxIPsPerNode`, if set. */
  readonly maxIPsPerNode?: number;
  /** `spec.failback`: rebalance onto recovered nodes. */
  readonly failback: boolean;
  /** Names of the nodes its `nodeSelector` selects (healthy or not). */
  readonly nodes: readonly string[];
}

/** A node that may hold egress IPs. */
export interface NodeInput {
  /** Kubernetes Node name. */
  readonly name: string;
  /** Node Ready, agent answering probes, and past flap damping. */
  readonly healthy: boolean;
  /** Zone (topology.kubernetes.io/zone or the cloud's). */
  readonly zone: string;
  /** CIDRs the node's egress interface may take IPs from. */
  readonly subnets: readonly string[];
  /** Egress IPs the node can hold in all (owned now + free slots), across every gateway. */
  readonly capacity: number;
}

/** A policy (either kind) as the scheduler sees it. */
export interface PolicyInput {
  /** Stable key: `EgressPolicy/<namespace>/<name>` or `ClusterEgressPolicy/<name>`. */
  readonly key: string;
  /** `spec.gatewayName`. */
  readonly gateway: string;
  /** `spec.egressIPs`, when explicit. */
  readonly egressIPs?: readonly string[];
  /** `spec.count` (default 1) when not explicit. */
  readonly count?: number;
  /** `metadata.creationTimestamp`: the older policy wins a contested IP. */
  readonly createdAt: string;
  /** IPs allocated to the policy now (from its status), kept when still valid (sticky). */
  readonly allocated: readonly string[];
}

/** Everything the scheduler decides from. */
export interface SchedulerInput {
  readonly gateways: readonly GatewayInput[];
  readonly nodes: readonly NodeInput[];
  readonly policies: readonly PolicyInput[];
  /** Where each egress IP is now (the cloud's truth): IP -> node name. */
  readonly current: ReadonlyMap<string, string>;
  /** IPs that must not be handed out (held by policies outside this input, see `gatewaySlice`). */
  readonly unavailableIPs?: ReadonlySet<string>;
}

/** An egress IP placed on a node. */
export interface Placement {
  readonly ip: string;
  readonly policy: string;
  readonly gateway: string;
  readonly node: string;
  /** The node it is on now, when that differs (a move). */
  readonly previousNode?: string;
}

/** Why a policy (or one of its IPs) could not be served; `message` is for the user. */
export interface Unplaced {
  readonly policy: string;
  readonly gateway: string;
  /** The IP concerned, when one was allocated but could not be placed. */
  readonly ip?: string;
  readonly reason: Reason;
  readonly message: string;
}

/** A request to have the cloud pick `count` new IPs on `node` for a `cloudAllocated` gateway. */
export interface Allocation {
  readonly gateway: string;
  readonly node: string;
  readonly count: number;
}

/** The scheduler's output: the desired placement, and what could not be placed. */
export interface SchedulePlan {
  /** Cloud allocations still needed for `cloudAllocated` gateways (their IPs join the pool once picked). */
  readonly allocations: readonly Allocation[];
  /** In allocation order: policies oldest first, each policy's IPs in the order they were allocated. */
  readonly placements: readonly Placement[];
  readonly unplaced: readonly Unplaced[];
}
