/**
 * @module
 * The scheduler's working state while it plans (schedule.ts): per node and per gateway, the IPs planned so far,
 * and the small orderings every step shares so that the plan is deterministic.
 */
import { ipToBigInt } from '../net/ip.ts';
import { IpPool } from './ip-pool.ts';
import { SubnetIndex } from './subnet-index.ts';
import type { GatewayInput, NodeInput, PolicyInput, SchedulerInput } from './types.ts';

/** An IP allocated to a policy, awaiting placement. */
export interface Allocated {
  readonly ip: string;
  readonly value: bigint;
  readonly policy: string;
  readonly gateway: GatewayState;
}

/** A node's working state: its input and the IPs planned on it so far (all gateways). */
export interface NodeState {
  readonly input: NodeInput;
  load: number;
}

/** A node as a member of one gateway: the IPs of that gateway planned on it so far. */
export interface Member {
  readonly node: NodeState;
  load: number;
}

/** Per-gateway working state. */
export interface GatewayState {
  readonly input: GatewayInput;
  readonly pool: IpPool;
  readonly index: SubnetIndex;
  /** Healthy nodes of the gateway that may take IPs (not leaving). */
  readonly healthy: ReadonlySet<string>;
  /** Healthy nodes of the gateway that are leaving: they keep IPs only that no other node can take. */
  readonly leaving: ReadonlySet<string>;
  /** Member nodes by name. */
  readonly members: ReadonlyMap<string, Member>;
  /** Most IPs of this gateway on one node. */
  readonly max: number;
}

/** Orders strings (IPs in text form, names) the same everywhere. */
export const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
/** Policy order: oldest first, then by key. */
export const byPolicyOrder = (a: PolicyInput, b: PolicyInput): number =>
  compare(a.createdAt, b.createdAt) || compare(a.key, b.key);
/** Adds `by` to a counter in a map. */
export const bump = <K>(map: Map<K, number>, key: K, by = 1): void => {
  map.set(key, (map.get(key) ?? 0) + by);
};

/** Orders IP addresses by value. */
export const cmpBig = (a: string, b: string): number => {
  const x = ipToBigInt(a);
  const y = ipToBigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

/** True when score `a` is lexicographically smaller than `b` (equal length). */
export const lexLess = (a: number[], b: number[]): boolean => {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
};

/** The working state of every node and gateway, before anything is allocated. */
export function initialState(input: SchedulerInput): {
  nodes: Map<string, NodeState>;
  gateways: Map<string, GatewayState>;
} {
  const nodes = new Map<string, NodeState>(input.nodes.map((n) => [n.name, { input: n, load: 0 }]));
  const gateways = new Map<string, GatewayState>();
  for (const gw of [...input.gateways].sort((a, b) => compare(a.name, b.name))) {
    const members = [...new Set(gw.nodes)].filter((n) => nodes.has(n)).sort();
    gateways.set(gw.name, {
      input: gw,
      pool: new IpPool(gw.pool, gw.cloudAllocatedIPs),
      index: new SubnetIndex(members.map((n) => nodes.get(n)!.input)),
      healthy: new Set(members.filter((n) => nodes.get(n)!.input.healthy && !nodes.get(n)!.input.leaving)),
      leaving: new Set(members.filter((n) => nodes.get(n)!.input.healthy && nodes.get(n)!.input.leaving)),
      members: new Map(members.map((n) => [n, { node: nodes.get(n)!, load: 0 }])),
      max: gw.maxIPsPerNode ?? Number.POSITIVE_INFINITY,
    });
  }
  return { nodes, gateways };
}
