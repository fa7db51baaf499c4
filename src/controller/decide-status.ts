/**
 * @module
 * Pure: the status of policies and gateways, from the scheduler's plan, the cloud's answers and the
 * previous status. Two phases per reconcile (CNCC: status before the cloud call):
 *
 * | IP                                  | phase `pending` | phase `final`, cloud ok     | phase `final`, cloud failed |
 * |-------------------------------------|-----------------|-----------------------------|-----------------------------|
 * | placed, already on its node         | Ready           | Ready                       | -                           |
 * | placed, to be assigned or moved     | Pending         | Ready (Assigned if the node | Failed, reason from the     |
 * |                                     |                 | is not healthy)             | error kind, cloud's message |
 * | allocated, not placed (`Unplaced`)  | Failed          | Failed                      | -                           |
 *
 * `since` moves only when an IP's state or node changes; conditions follow apimachinery's rules.
 */
import { CONDITION, REASON, type Reason } from '../api/conditions.ts';
import type { EgressGateway, EgressGatewayStatus, GatewayNodeStatus } from '../api/egress-gateway.ts';
import {
  type AnyEgressPolicy,
  ASSIGNMENT_STATE,
  type EgressPolicyStatus,
  type IpAssignmentStatus,
  summarizeAssignments,
} from '../api/egress-policy.ts';
import type { ChangeOutcome, NodeNetwork, ProviderError } from '../provider/contract.ts';
import type { Placement, Unplaced } from '../scheduler/types.ts';
import { type ConditionInput, setConditions } from './conditions.ts';

/** The reason an IP failed in the cloud, from the error's kind. */
export function reasonOfProviderError(error: ProviderError): Reason {
  switch (error.kind) {
    case 'throttled':
      return REASON.CloudThrottled;
    case 'capacity':
      return REASON.CapacityExceeded;
    default:
      return REASON.CloudError;
  }
}

/** Inputs of {@link decidePolicyStatus}. */
export interface PolicyStatusInput {
  readonly policy: AnyEgressPolicy;
  /** The plan's placements of this policy. */
  readonly placements: readonly Placement[];
  /** The plan's unplaced entries of this policy. */
  readonly unplaced: readonly Unplaced[];
  /** `pending`: before the cloud call; `final`: with the cloud's outcomes. */
  readonly phase: 'pending' | 'final';
  /** The outcome of the assign change of each IP that needed one (final phase). */
  readonly outcomes: ReadonlyMap<string, ChangeOutcome>;
  /** IPs that need an assign change (absent: already on their node). */
  readonly changing: ReadonlySet<string>;
  /** Whether a node may hold IPs now. */
  readonly healthy: (node: string) => boolean;
  readonly now: Date;
}

const sameEntry = (a: IpAssignmentStatus | undefined, b: IpAssignmentStatus): boolean =>
  a !== undefined && a.state === b.state && a.node === b.node && a.reason === b.reason;

/** The policy's new status; see the module table. */
export function decidePolicyStatus(input: PolicyStatusInput): EgressPolicyStatus {
  const { policy, now } = input;
  const previous = new Map((policy.status?.assignments ?? []).map((a) => [a.ip ?? `-${a.reason}`, a]));
  const entries: IpAssignmentStatus[] = [];
  const withSince = (entry: IpAssignmentStatus): IpAssignmentStatus => {
    const before = previous.get(entry.ip ?? `-${entry.reason}`);
    return { ...entry, since: sameEntry(before, entry) && before?.since ? before.since : now.toISOString() };
  };

  for (const p of input.placements) {
    const settled = input.healthy(p.node) ? ASSIGNMENT_STATE.Ready : ASSIGNMENT_STATE.Assigned;
    if (!input.changing.has(p.ip)) {
      entries.push(withSince({ ip: p.ip, node: p.node, state: settled }));
      continue;
    }
    if (input.phase === 'pending') {
      const message = p.previousNode ? `moving from ${p.previousNode}` : 'assigning in the cloud';
      entries.push(
        withSince({
          ip: p.ip,
          node: p.node,
          state: ASSIGNMENT_STATE.Pending,
          reason: REASON.Pending,
          message,
        }),
      );
      continue;
    }
    const outcome = input.outcomes.get(p.ip);
    if (outcome && !outcome.ok) {
      entries.push(
        withSince({
          ip: p.ip,
          node: p.node,
          state: ASSIGNMENT_STATE.Failed,
          reason: reasonOfProviderError(outcome.error),
          message: truncate(outcome.error.message),
        }),
      );
    } else {
      entries.push(withSince({ ip: p.ip, node: p.node, state: settled }));
    }
  }
  for (const u of input.unplaced) {
    entries.push(
      withSince({
        ...(u.ip ? { ip: u.ip } : {}),
        state: ASSIGNMENT_STATE.Failed,
        reason: u.reason,
        message: truncate(u.message),
      }),
    );
  }

  const generation = policy.metadata.generation;
  const ready = entries.filter((e) => e.state === ASSIGNMENT_STATE.Ready).length;
  const failed = entries.filter((e) => e.state === ASSIGNMENT_STATE.Failed);
  const wanted = policy.spec.egressIPs?.length ?? policy.spec.count ?? 1;
  const allReady = failed.length === 0 && ready === entries.length && ready >= wanted;
  const firstFailure = failed[0];
  const conditions = setConditions(
    policy.status?.conditions,
    [
      {
        type: CONDITION.Accepted,
        status: 'True',
        reason: REASON.Accepted,
        message: `uses EgressGateway "${policy.spec.gatewayName}"`,
        ...(generation !== undefined ? { observedGeneration: generation } : {}),
      },
      {
        type: CONDITION.Ready,
        status: allReady ? 'True' : 'False',
        reason: allReady ? REASON.AllIPsReady : REASON.IPsNotReady,
        message: allReady
          ? `${ready} of ${wanted} egress IPs are Ready`
          : `${ready} of ${wanted} egress IPs are Ready${firstFailure ? `; ${firstFailure.ip ?? 'an IP'}: ${firstFailure.message}` : ''}`,
        ...(generation !== undefined ? { observedGeneration: generation } : {}),
      },
      {
        type: CONDITION.Degraded,
        status: firstFailure ? 'True' : 'False',
        reason: (firstFailure?.reason as Reason | undefined) ?? REASON.AllIPsReady,
        message: firstFailure
          ? `${failed.length} egress IP(s) failed: ${firstFailure.message ?? ''}`
          : 'every egress IP is placed',
        ...(generation !== undefined ? { observedGeneration: generation } : {}),
      },
    ],
    now,
  );
  return {
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    assignments: entries,
    // `kubectl get` shows these (printer columns print only the first match of a JSONPath over a list).
    ...summarizeAssignments(entries),
    conditions,
  };
}

/** Accepted=False and Ready=False, both with the rejection's reason and message. */
function rejectionConditions(
  rejection: { readonly reason: Reason; readonly message: string },
  gen: { observedGeneration?: number },
): ConditionInput[] {
  return [CONDITION.Accepted, CONDITION.Ready].map((type) => ({
    type,
    status: 'False' as const,
    reason: rejection.reason,
    message: rejection.message,
    ...gen,
  }));
}

/** Status of a policy that cannot be served at all (gateway missing, namespace not admitted, provider unknown). */
export function rejectedPolicyStatus(
  policy: AnyEgressPolicy,
  rejection: { readonly reason: Reason; readonly message: string },
  now: Date,
): EgressPolicyStatus {
  const generation = policy.metadata.generation;
  const gen = generation !== undefined ? { observedGeneration: generation } : {};
  return {
    ...gen,
    assignments: [],
    ...summarizeAssignments([]),
    conditions: setConditions(
      policy.status?.conditions,
      [
        ...rejectionConditions(rejection, gen),
        {
          type: CONDITION.Degraded,
          status: 'False',
          reason: rejection.reason,
          message: 'not accepted',
          ...gen,
        },
      ],
      now,
    ),
  };
}

/** A node of the gateway as the status reports it. */
export interface GatewayNodeView {
  readonly name: string;
  readonly healthy: boolean;
  readonly network: NodeNetwork | undefined;
  /** Why the node cannot hold IPs, if it cannot. */
  readonly problem?: string;
}

/** Inputs of {@link decideGatewayStatus}. */
export interface GatewayStatusInput {
  readonly gateway: EgressGateway;
  readonly provider: string;
  readonly nodes: readonly GatewayNodeView[];
  /** Final placements of this gateway's IPs (after the cloud call), IP -> node. */
  readonly held: ReadonlyMap<string, string>;
  /** Size of the gateway's pool (explicit IPs plus cloud-allocated). */
  readonly ipsTotal: number;
  /** Cloud-allocated IPs known now. */
  readonly cloudAllocatedIPs: readonly string[];
  /** Spec problem (invalid pool entries), if any. */
  readonly invalid?: string;
  readonly now: Date;
}

/** The gateway's new status. */
export function decideGatewayStatus(input: GatewayStatusInput): EgressGatewayStatus {
  const { gateway, now } = input;
  const gen =
    gateway.metadata.generation !== undefined ? { observedGeneration: gateway.metadata.generation } : {};
  const ipsByNode = new Map<string, string[]>();
  for (const [ip, node] of input.held) ipsByNode.set(node, [...(ipsByNode.get(node) ?? []), ip]);
  const nodes: GatewayNodeStatus[] = input.nodes.map((n) => ({
    name: n.name,
    ready: n.healthy,
    ...(n.network
      ? {
          zone: n.network.zone,
          interface: n.network.interfaceId,
          subnets: [...n.network.subnets],
          capacity: n.network.ownedIPs.length + n.network.freeSlots,
        }
      : {}),
    ips: (ipsByNode.get(n.name) ?? []).sort(),
    ...(n.problem ? { message: truncate(n.problem) } : {}),
  }));
  const readyNodes = nodes.filter((n) => n.ready).length;
  const failedNodes = input.nodes.filter((n) => !n.healthy);
  const accepted = input.invalid
    ? { status: 'False' as const, reason: REASON.InvalidSpec, message: input.invalid }
    : nodes.length === 0
      ? { status: 'False' as const, reason: REASON.NoNodes, message: 'spec.nodeSelector selects no Node' }
      : { status: 'True' as const, reason: REASON.Accepted, message: `provider ${input.provider}` };
  return {
    ...gen,
    provider: input.provider,
    nodes,
    readyNodes,
    ipsTotal: input.ipsTotal,
    ipsUsed: input.held.size,
    ...(input.cloudAllocatedIPs.length ? { cloudAllocatedIPs: [...input.cloudAllocatedIPs] } : {}),
    conditions: setConditions(
      gateway.status?.conditions,
      [
        { type: CONDITION.Accepted, ...accepted, ...gen },
        readyNodes > 0
          ? {
              type: CONDITION.Ready,
              status: 'True',
              reason: REASON.Accepted,
              message: `${readyNodes} of ${nodes.length} nodes ready`,
              ...gen,
            }
          : {
              type: CONDITION.Ready,
              status: 'False',
              reason: REASON.NoEligibleNode,
              message: 'no node can hold egress IPs',
              ...gen,
            },
        failedNodes.length > 0
          ? {
              type: CONDITION.Degraded,
              status: 'True',
              reason: REASON.NodeFailed,
              message: truncate(
                failedNodes.map((n) => `${n.name}: ${n.problem ?? 'not healthy'}`).join('; '),
              ),
              ...gen,
            }
          : {
              type: CONDITION.Degraded,
              status: 'False',
              reason: REASON.AllIPsReady,
              message: 'every node is healthy',
              ...gen,
            },
      ],
      now,
    ),
  };
}

/** Status of a gateway whose provider cannot be used. */
export function rejectedGatewayStatus(
  gateway: EgressGateway,
  rejection: { readonly reason: Reason; readonly message: string },
  now: Date,
): EgressGatewayStatus {
  const gen =
    gateway.metadata.generation !== undefined ? { observedGeneration: gateway.metadata.generation } : {};
  return {
    ...gateway.status,
    ...gen,
    conditions: setConditions(gateway.status?.conditions, [...rejectionConditions(rejection, gen)], now),
  };
}

function truncate(text: string, max = 1000): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
