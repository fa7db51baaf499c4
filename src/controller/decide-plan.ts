/**
 * @module
 * Pure: the scheduler's input for one gateway, from the API server's objects, the health prober and the
 * cloud's truth; then the plan and the changes (the scheduler and `planChanges` do the deciding).
 *
 * ```
 * gateway spec ─┐                        ┌─ gateways: this gateway (none while it is being deleted)
 * Nodes + health├─► SchedulerInput ─slice─┤  nodes: its selected nodes (healthy, zone, subnets, capacity)
 * policies ─────┤   (all gateways)       ├─ policies: its admitted, live policies; others' IPs unavailable
 * cloud truth ──┘                        └─ current: the cloud's placement of its IPs
 *                       │
 *                       ▼ schedule() ─► SchedulePlan ─► planChanges() ─► Change[]
 * ```
 *
 * A policy that is being deleted, or no longer admitted, is left out, so its IPs are released. The IPs the cloud
 * picked for `spec.cloudAllocated` that no policy uses are kept where the cloud holds them (up to
 * `cloudAllocated`; all released once the gateway is being deleted): released, their numbers could go to anything
 * else in the subnet while the status still lists them. The nodes' own
 * addresses, the addresses the cloud keeps in each subnet, and IPs of families the gateway does not serve (its
 * provider cannot place them or the agents do not program them: served-families.ts) are never handed out.
 */
import type { V1Node } from '@kubernetes/client-node';
import { REASON } from '../api/conditions.ts';
import type { EgressGateway } from '../api/egress-gateway.ts';
import { type AnyEgressPolicy, ASSIGNMENT_STATE } from '../api/egress-policy.ts';
import { selectorMatches } from '../kube/label-selector.ts';
import { nodeDisruption } from '../kube/node-disruption.ts';
import { deleting, nodeReady, nodeZone, policyKey } from '../kube/objects.ts';
import { canonicalIp } from '../net/ip.ts';
import type { Change, CloudAssignment, NodeNetwork, NodeRef } from '../provider/contract.ts';
import { gatewaySlice, IpPool, planChanges, poolOverlaps, REFUSALS, schedule } from '../scheduler/index.ts';
import type {
  GatewayInput,
  NodeInput,
  PolicyInput,
  SchedulePlan,
  SchedulerInput,
  SubnetReservation,
  Unavailable,
} from '../scheduler/types.ts';
import type { GatewayNodeView } from './decide-gateway-status.ts';
import { DATAPLANE_SERVED, type ServedFamilies } from './served-families.ts';

/** What the cloud said about one node: its network, or why it could not be read. */
export type NodeNetworkResult =
  | { readonly ok: true; readonly network: NodeNetwork }
  | { readonly ok: false; readonly message: string };

/** Inputs of {@link decidePlan}. */
export interface PlanInput {
  readonly gateway: EgressGateway;
  /** Nodes its `nodeSelector` selects. */
  readonly members: readonly V1Node[];
  /** The cloud's view of each member with a providerID. */
  readonly networks: ReadonlyMap<string, NodeNetworkResult>;
  /** The prober's verdict for a node (given its Ready condition). */
  readonly healthy: (node: string, ready: boolean) => boolean;
  /** Admitted, live policies of this gateway. */
  readonly policies: readonly AnyEgressPolicy[];
  /** Live policies of other gateways (the IPs they own are not this gateway's to hand out). */
  readonly otherPolicies: readonly AnyEgressPolicy[];
  /** The other gateways (where their pools overlap this one's, the first by name hands out fresh IPs). */
  readonly otherGateways: readonly EgressGateway[];
  /** Addresses of the cluster's Nodes, address -> node name: never handed out. */
  readonly nodeAddresses: ReadonlyMap<string, string>;
  /** Addresses the cloud keeps at the start and end of each subnet (the provider's). */
  readonly subnetReserved: SubnetReservation;
  /** The cloud's assignments on the member nodes and on nodes holding this gateway's IPs. */
  readonly current: readonly CloudAssignment[];
  /** Refs of every node in `current` (members and others). */
  readonly refs: ReadonlyMap<string, NodeRef>;
  /** IPs the cloud picked for `spec.cloudAllocated` so far. */
  readonly cloudAllocatedIPs: readonly string[];
  /** IPs the cloud said lately that something outside this installation holds (besides the statuses'). */
  readonly heldInCloud?: ReadonlySet<string>;
  /** The families the gateway's provider places and the agents program (absent: what the agents program). */
  readonly served?: ServedFamilies;
}

/** A planned move: an IP leaving a healthy node that is leaving on purpose (a drain), make-before-break. */
export interface PlannedMove {
  readonly from: string;
  readonly to: string;
  /** The signal that makes `from` leave (node-disruption.ts), for the Event. */
  readonly signal: string;
}

/** The decision for one gateway. */
export interface PlanDecision {
  readonly input: SchedulerInput;
  readonly plan: SchedulePlan;
  readonly changes: readonly Change[];
  readonly nodes: readonly GatewayNodeView[];
  /** Cloud-picked IPs no policy uses that stay in the cloud (see {@link spareCloudAllocated}). */
  readonly spare: ReadonlySet<string>;
  /** Moves off healthy leaving nodes, IP -> move: planned, not failovers. */
  readonly planned: ReadonlyMap<string, PlannedMove>;
  /** The public addresses the cloud shows paired with the gateway's IPs before the changes, IP -> address. */
  readonly publicBefore: ReadonlyMap<string, string>;
  /** The public IPs of those addresses, where the cloud shows them: address -> public IP. */
  readonly publicIps: ReadonlyMap<string, string>;
  /** The families the gateway's IPs may have (the input's `served`), and why the others may not. */
  readonly served: ServedFamilies;
}

/**
 * The cloud's placement, completed from the policies' statuses for IPs the provider does not list. Used with
 * the `none` provider, which keeps no record across restarts: the status is the only one.
 */
export function seedFromStatus(
  current: readonly CloudAssignment[],
  policies: readonly AnyEgressPolicy[],
): CloudAssignment[] {
  const listed = new Set(current.map((a) => a.ip));
  const seeded = [...current];
  for (const policy of policies) {
    for (const a of policy.status?.assignments ?? []) {
      if (!a.ip || !a.node || listed.has(a.ip)) continue;
      if (a.state !== 'Ready' && a.state !== 'Assigned') continue;
      listed.add(a.ip);
      seeded.push({ ip: a.ip, node: a.node, interfaceId: '' });
    }
  }
  return seeded;
}

/** The addresses of `nodes` (every IP in their `status.addresses`), address -> node name. */
export function nodeAddresses(nodes: readonly V1Node[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const node of nodes) {
    for (const a of node.status?.addresses ?? []) {
      if ((a.type === 'InternalIP' || a.type === 'ExternalIP') && !out.has(a.address))
        out.set(a.address, node.metadata?.name ?? '');
    }
  }
  return out;
}

/**
 * The nodes `gateway` selects: its `nodeSelector` matches them. A Node being deleted is still one, leaving
 * (node-disruption.ts): its IPs move off it while it still forwards.
 */
export function selectedNodes(gateway: EgressGateway, nodes: readonly V1Node[]): V1Node[] {
  return nodes.filter((n) => selectorMatches(gateway.spec.nodeSelector, n.metadata?.labels));
}

/** Every IP a policy's status lists, held or refused. */
export function statusIPs(policy: AnyEgressPolicy): string[] {
  return (policy.status?.assignments ?? []).flatMap((a) => (a.ip ? [a.ip] : []));
}

/**
 * The IPs a policy holds according to its status (docs/adr/0006), with since when: every IP it lists but
 * those of a refused request (Failed for one of the scheduler's `REFUSALS`).
 */
export function heldIPs(policy: AnyEgressPolicy): Map<string, string> {
  const held = new Map<string, string>();
  for (const a of policy.status?.assignments ?? []) {
    if (!a.ip || held.has(a.ip)) continue;
    if (a.state === ASSIGNMENT_STATE.Failed && a.reason && REFUSALS.has(a.reason as never)) continue;
    held.set(a.ip, a.since ?? '');
  }
  return held;
}

function policyInput(policy: AnyEgressPolicy): PolicyInput {
  const spec = policy.spec;
  const held = heldIPs(policy);
  return {
    key: policyKey(policy),
    gateway: spec.gatewayName,
    ...(spec.egressIPs
      ? { egressIPs: spec.egressIPs }
      : {
          count: spec.count ?? 1,
          families: (spec.ipFamilies ?? ['IPv4']).map((f) => (f === 'IPv6' ? 6 : 4)),
        }),
    createdAt: String(policy.metadata.creationTimestamp ?? ''),
    allocated: [...held.keys()],
    heldSince: held,
  };
}

function gatewayInput(
  gateway: EgressGateway,
  cloudAllocatedIPs: readonly string[],
  nodes: readonly string[],
): GatewayInput {
  return {
    name: gateway.metadata.name,
    pool: gateway.spec.ips ?? [],
    cloudAllocatedIPs,
    ...(gateway.spec.cloudAllocated ? { cloudAllocated: gateway.spec.cloudAllocated } : {}),
    ...(gateway.spec.maxIPsPerNode ? { maxIPsPerNode: gateway.spec.maxIPsPerNode } : {}),
    failback: gateway.spec.failback ?? false,
    nodes,
  };
}

/**
 * The IPs no gateway may hand out because a node has them: the Nodes' own addresses, and the IPs on the
 * gateway nodes' interfaces that this installation does not own (primary, secondary of other tools).
 */
function nodesIPs(input: PlanInput): Map<string, Unavailable> {
  const out = new Map<string, Unavailable>();
  for (const [ip, node] of input.nodeAddresses) {
    out.set(ip, {
      reason: REASON.IPReserved,
      message: `${ip} is the address of node ${node}; choose another IP`,
    });
  }
  for (const [node, result] of input.networks) {
    if (!result.ok) continue;
    for (const ip of result.network.reservedIPs) {
      if (out.has(ip)) continue;
      out.set(ip, {
        reason: REASON.IPReserved,
        message: `${ip} is on the interface ${result.network.interfaceId} of node ${node} and not an egress IP of this installation (its primary IP, or another tool's); choose another IP`,
      });
    }
  }
  return out;
}

/**
 * The gateway's cloud-picked IPs that no placement uses and the cloud still holds, kept as the gateway's until a
 * policy takes them: as many as `spec.cloudAllocated` leaves beside the used ones, none while the gateway is
 * being deleted.
 */
export function spareCloudAllocated(
  gateway: EgressGateway,
  cloudAllocatedIPs: readonly string[],
  plan: SchedulePlan,
  current: ReadonlyMap<string, string>,
): Set<string> {
  if (deleting(gateway)) return new Set();
  const placed = new Set(plan.placements.map((p) => p.ip));
  const used = cloudAllocatedIPs.filter((ip) => placed.has(ip)).length;
  const room = Math.max(0, (gateway.spec.cloudAllocated ?? 0) - used);
  return new Set(cloudAllocatedIPs.filter((ip) => !placed.has(ip) && current.has(ip)).slice(0, room));
}

/** `known`, and the IPs some policy's status lists as Failed IPHeldInCloud: the cloud said something else has them. */
function heldInCloud(
  policies: readonly AnyEgressPolicy[],
  known: ReadonlySet<string> = new Set(),
): Set<string> {
  const out = new Set<string>(known);
  for (const p of policies)
    for (const a of p.status?.assignments ?? [])
      if (a.ip && a.state === ASSIGNMENT_STATE.Failed && a.reason === REASON.IPHeldInCloud) out.add(a.ip);
  return out;
}

/**
 * The other gateways' policies and the other gateways that can change this gateway's plan: a policy that claims
 * (in its status or `spec.egressIPs`) an IP of this gateway's pool, one its policies claim, or one the cloud
 * holds on its nodes; a gateway whose pool overlaps its pool or whose cloud-picked IPs are in it. The rest only cost time: with 200 gateways and
 * 20,000 IPs, every pass of a 50-IP gateway went through all of them (about 100 ms a pass).
 */
export function concerning(
  input: Pick<
    PlanInput,
    'gateway' | 'policies' | 'otherPolicies' | 'otherGateways' | 'current' | 'cloudAllocatedIPs'
  >,
): { otherPolicies: AnyEgressPolicy[]; otherGateways: EgressGateway[] } {
  const pool = new IpPool(input.gateway.spec.ips ?? [], input.cloudAllocatedIPs);
  const claims = (p: AnyEgressPolicy) => [...statusIPs(p), ...(p.spec.egressIPs ?? [])];
  const near = new Set([...input.policies.flatMap(claims), ...input.current.map((a) => a.ip)]);
  const mayConcern = (ip: string) => {
    if (near.has(ip)) return true;
    try {
      return pool.contains(ip);
    } catch {
      return true; // not an address the pool can compare: let the scheduler judge it
    }
  };
  const overlapping = new Set(
    poolOverlaps(
      input.gateway.spec.ips ?? [],
      input.otherGateways.map((g) => ({ name: g.metadata.name, pool: g.spec.ips ?? [] })),
    ).map((o) => o.gateway),
  );
  return {
    otherPolicies: input.otherPolicies.filter((p) => claims(p).some(mayConcern)),
    otherGateways: input.otherGateways.filter(
      (g) => overlapping.has(g.metadata.name) || (g.status?.cloudAllocatedIPs ?? []).some(mayConcern),
    ),
  };
}

/** Builds the input, runs the scheduler and derives the changes; see the module comment. */
export function decidePlan(planInput: PlanInput): PlanDecision {
  const input = { ...planInput, ...concerning(planInput) };
  const { gateway } = input;
  const served = input.served ?? DATAPLANE_SERVED;
  const name = gateway.metadata.name;
  const views: GatewayNodeView[] = [];
  const nodes: NodeInput[] = [];
  for (const node of input.members) {
    const nodeName = node.metadata?.name ?? '';
    const ready = nodeReady(node);
    const result = input.networks.get(nodeName);
    const probed = input.healthy(nodeName, ready);
    const problem = !result
      ? 'not described by the cloud'
      : !result.ok
        ? result.message
        : !ready
          ? 'the Node is NotReady'
          : !probed
            ? 'its agent does not answer health probes'
            : undefined;
    const network = result?.ok ? result.network : undefined;
    const healthy = problem === undefined;
    const disruption = nodeDisruption(node);
    const leaving = disruption?.effect === 'leaving' ? disruption.signal : undefined;
    views.push({
      name: nodeName,
      healthy,
      network,
      ...(problem ? { problem } : {}),
      ...(leaving ? { leaving } : {}),
      ...(network?.refusal ? { refusal: network.refusal } : {}),
    });
    nodes.push({
      name: nodeName,
      healthy,
      zone: network?.zone ?? nodeZone(node) ?? '',
      subnets: network?.subnets ?? [],
      capacity: network ? network.ownedIPs.length + network.freeSlots : 0,
      // Refused by the provider: like a leaving node, it takes no new IP and keeps those that fit nowhere else.
      ...(leaving || network?.refusal ? { leaving: true } : {}),
      ...(disruption?.effect === 'avoid' ? { avoid: true } : {}),
    });
  }
  const current = new Map(input.current.map((a) => [a.ip, a.node]));
  const full: SchedulerInput = {
    gateways: [
      gatewayInput(
        gateway,
        input.cloudAllocatedIPs,
        nodes.map((n) => n.name),
      ),
      ...input.otherGateways.map((g) => gatewayInput(g, g.status?.cloudAllocatedIPs ?? [], [])),
    ],
    nodes,
    policies: [...input.policies, ...input.otherPolicies].map(policyInput),
    current,
    unavailableIPs: nodesIPs(input),
    heldInCloud: heldInCloud([...input.policies, ...input.otherPolicies], input.heldInCloud),
    subnetReserved: input.subnetReserved,
    families: served.families,
    refusedFamilies: served.refused,
  };
  const sliced = gatewaySlice(full, name);
  const plan = schedule(sliced);
  const spare = spareCloudAllocated(gateway, input.cloudAllocatedIPs, plan, sliced.current);
  const publicBefore = new Map(
    input.current.flatMap((a) =>
      a.publicAddress && sliced.current.has(a.ip) ? [[a.ip, a.publicAddress]] : [],
    ),
  );
  const changes = planChanges(plan, sliced.current, input.refs, spare, {
    wanted: new Map((gateway.spec.publicAddresses ?? []).map((p) => [canonicalIp(p.ip), p.address])),
    current: publicBefore,
  });
  return {
    input: sliced,
    plan,
    changes,
    nodes: views,
    spare,
    planned: plannedMoves(plan, views),
    publicBefore,
    publicIps: new Map(
      input.current.flatMap((a) => (a.publicAddress && a.publicIp ? [[a.publicAddress, a.publicIp]] : [])),
    ),
    served,
  };
}

/** The plan's moves whose old node is healthy and leaving (see {@link PlannedMove}). */
export function plannedMoves(
  plan: SchedulePlan,
  views: readonly GatewayNodeView[],
): Map<string, PlannedMove> {
  const leaving = new Map(views.flatMap((v) => (v.healthy && v.leaving ? [[v.name, v.leaving]] : [])));
  const out = new Map<string, PlannedMove>();
  for (const p of plan.placements) {
    const signal = p.previousNode === undefined ? undefined : leaving.get(p.previousNode);
    if (signal !== undefined) out.set(p.ip, { from: p.previousNode!, to: p.node, signal });
  }
  return out;
}
