/**
 * @module
 * Inputs and outputs of the pure scheduler: `(gateways, nodes, policies, current placement) -> plan`.
 * Plain data only; the controller builds the inputs from the API server and the cloud.
 */
import type { Reason } from '../api/conditions.ts';
import type { IpFamily } from '../net/ip.ts';
import type { SubnetReservation } from '../provider/contract.ts';

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
  /**
   * The node is leaving on purpose (cordoned, drained, chosen by an autoscaler, being deleted): it gets no new
   * IPs, and its IPs move to the gateway's other healthy nodes where they have room; the rest stay (`stranded`).
   */
  readonly leaving?: boolean;
  /** The node may leave (an autoscaler's candidate): no new IPs while another eligible node has room. */
  readonly avoid?: boolean;
}

/** A policy (either kind) as the scheduler sees it. */
export interface PolicyInput {
  /** Stable key: `EgressPolicy/<namespace>/<name>` or `ClusterEgressPolicy/<name>`. */
  readonly key: string;
  /** `spec.gatewayName`. */
  readonly gateway: string;
  /** `spec.egressIPs`, when explicit. */
  readonly egressIPs?: readonly string[];
  /** `spec.count` (default 1) when not explicit: this many IPs of each of {@link families}. */
  readonly count?: number;
  /** `spec.ipFamilies` of a count policy (default IPv4 only): the families it takes `count` IPs of. */
  readonly families?: readonly IpFamily[];
  /** `metadata.creationTimestamp`: of two policies asking for one IP that neither holds, the older gets it. */
  readonly createdAt: string;
  /**
   * IPs the policy holds now, in status order: its status lists them, not as a refused request
   * (`REFUSALS`). It keeps them while it still asks for them (sticky), and the holder keeps a contested IP.
   */
  readonly allocated: readonly string[];
  /** Since when it holds each of `allocated` (its status entry's `since`): of two holders, the earlier keeps it. */
  readonly heldSince?: ReadonlyMap<string, string>;
}

/** Why an IP may not be handed out by a plan. */
export interface Unavailable {
  readonly reason: Reason;
  /** For the user: who or what has the IP, and what to do. */
  readonly message: string;
}

export type { SubnetReservation } from '../provider/contract.ts';

/** Everything the scheduler decides from. */
export interface SchedulerInput {
  readonly gateways: readonly GatewayInput[];
  readonly nodes: readonly NodeInput[];
  readonly policies: readonly PolicyInput[];
  /** Where each egress IP is now (the cloud's truth): IP -> node name. */
  readonly current: ReadonlyMap<string, string>;
  /**
   * IPs that must not be handed out, and why: owned by policies of other gateways (see `gatewaySlice`), or
   * the addresses of nodes and of other tools on the nodes' interfaces.
   */
  readonly unavailableIPs?: ReadonlyMap<string, Unavailable>;
  /** Addresses the cloud keeps at the start and end of each subnet of the gateway's nodes (default none). */
  readonly subnetReserved?: SubnetReservation;
  /**
   * Address families the gateway's egress IPs may have (those its provider places and the agents program): IPs
   * of other families are never handed out (default both).
   */
  readonly families?: ReadonlySet<IpFamily>;
  /**
   * For a family not in {@link families}: why, for the user ("provider gcp places IPv4 egress IPs only (...)").
   * Absent: the node agent does not program it.
   */
  readonly refusedFamilies?: ReadonlyMap<IpFamily, string>;
  /**
   * Pools (`spec.ips` and cloud-allocated IPs) of the gateways that hand out the IPs they share with this
   * input's gateway (see `gatewaySlice`): no fresh IP is taken from them. Explicit requests and holds are
   * not affected (ownership settles them).
   */
  readonly foreignPools?: readonly (readonly string[])[];
  /**
   * IPs the cloud said something outside this installation holds (a policy's status lists them Failed
   * IPHeldInCloud): no fresh IP is taken from them. An explicit request still tries, since the holder may let go.
   */
  readonly heldInCloud?: ReadonlySet<string>;
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

/** An IP that stays on a leaving node because no other healthy node of its gateway can take it. */
export interface Stranded {
  readonly ip: string;
  readonly policy: string;
  readonly gateway: string;
  /** The leaving node that keeps it. */
  readonly node: string;
  /** For the user: why it cannot move, and what to do. */
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
  /** IPs placed on the leaving node that holds them, since no other node can (also in `placements`). */
  readonly stranded: readonly Stranded[];
}
