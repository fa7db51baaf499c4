/**
 * @module
 * Pure: the status of a gateway, from its nodes as the plan saw them, where the cloud holds its IPs after the
 * reconcile, and its pool.
 *
 * | condition  | status                                                                                     |
 * |------------|--------------------------------------------------------------------------------------------|
 * | Accepted   | False InvalidSpec (validateGatewaySpec's problems: an entry that does not parse, overlaps   |
 * |            | another, or is too large to count), False NoNodes, else True (provider; and the spec.ips   |
 * |            | entries of a family the gateway does not serve, with why: they are not handed out)          |
 * | Ready      | True while some node may hold IPs, else False NoEligibleNode                               |
 * | Degraded   | True NodeFailed naming each node that may not hold IPs and why, else False                 |
 * | Conflicted | True PoolOverlap naming each gateway whose `spec.ips` shares IPs with this one's, else False |
 * | Draining   | True DrainBlocked naming the IPs that stay on leaving nodes and why (the drain would end in a |
 * |            | failover), True Drained while nodes leave and their IPs are elsewhere, else False NoDrain   |
 *
 * `ipsTotal` counts the IPs the gateway can hand out (of the families it serves: its provider places them and
 * the agents program them, served-families.ts), at most
 * `Number.MAX_SAFE_INTEGER`, so the status stays a valid integer whatever the spec holds.
 */
import { CONDITION, REASON } from '../api/conditions.ts';
import type { EgressGateway, EgressGatewayStatus, GatewayNodeStatus } from '../api/egress-gateway.ts';
import { validateGatewaySpec } from '../api/validate.ts';
import { DATAPLANE_FAMILIES } from '../kube/dataplane-families.ts';
import { type IpFamily, poolEntryRange } from '../net/ip.ts';
import type { ChangeOutcome, NodeNetwork } from '../provider/contract.ts';
import { IpPool, type PoolOverlap } from '../scheduler/index.ts';
import type { Stranded } from '../scheduler/types.ts';
import { type Rejection, rejectionConditions, setConditions, truncateMessage } from './conditions.ts';
import type { ServedFamilies } from './served-families.ts';

/** A node of the gateway as the status reports it. */
export interface GatewayNodeView {
  readonly name: string;
  readonly healthy: boolean;
  readonly network: NodeNetwork | undefined;
  /** Why the node cannot hold IPs, if it cannot. */
  readonly problem?: string;
  /** The signal that makes the node leave (node-disruption.ts), if it is leaving: it takes no new IPs. */
  readonly leaving?: string;
  /** Why the provider refuses the node's interface new IPs (contract.ts `NodeNetwork.refusal`), if it does. */
  readonly refusal?: string;
}

/** Inputs of {@link decideGatewayStatus}. */
export interface GatewayStatusInput {
  readonly gateway: EgressGateway;
  readonly provider: string;
  readonly nodes: readonly GatewayNodeView[];
  /** Final placements of this gateway's IPs (after the cloud call), IP -> node. */
  readonly held: ReadonlyMap<string, string>;
  /** Cloud-allocated IPs known now (with `spec.ips`, the gateway's pool). */
  readonly cloudAllocatedIPs: readonly string[];
  /** Other gateways whose pools share IPs with this one's. */
  readonly overlaps: readonly PoolOverlap[];
  /** IPs that stay on leaving nodes because no other node can take them (the plan's). */
  readonly stranded?: readonly Stranded[];
  /** Public addresses paired with held IPs after the cloud call (see {@link publicAddressesAfter}). */
  readonly publicAddresses?: ReadonlyMap<string, string>;
  /** The public IP of each public address, where the cloud has shown it: address -> public IP. */
  readonly publicIps?: ReadonlyMap<string, string>;
  /** The families the gateway serves and why not the others (the plan's); absent: what the agents program. */
  readonly served?: ServedFamilies;
  readonly now: Date;
}

/**
 * The public addresses paired with the gateway's IPs after the cloud call: those the cloud showed before, each
 * successful assign's `publicAddress` (the provider associated it where the IP landed), none for a released IP,
 * only for IPs still held.
 */
export function publicAddressesAfter(
  before: ReadonlyMap<string, string>,
  outcomes: ReadonlyMap<string, ChangeOutcome>,
  held: ReadonlyMap<string, string>,
): Map<string, string> {
  const out = new Map(before);
  for (const [ip, o] of outcomes) {
    if (!o.ok) continue;
    if (o.change.kind === 'assign' && o.change.publicAddress) out.set(ip, o.change.publicAddress);
    if (o.change.kind === 'release') out.delete(ip);
  }
  for (const ip of out.keys()) if (!held.has(ip)) out.delete(ip);
  return out;
}

/** The Draining condition (without observedGeneration): see the module table. */
export function drainingCondition(
  nodes: readonly GatewayNodeView[],
  stranded: readonly Stranded[],
): {
  status: 'True' | 'False';
  reason: typeof REASON.Drained | typeof REASON.DrainBlocked | typeof REASON.NoDrain;
  message: string;
} {
  const leaving = nodes.filter((n) => n.leaving);
  if (leaving.length === 0) return { status: 'False', reason: REASON.NoDrain, message: 'no node is leaving' };
  const staying = nodes.filter((n) => n.healthy && !n.leaving).length;
  const names = leaving.map((n) => `${n.name} (${n.leaving})`).join(', ');
  if (stranded.length > 0) {
    const first = stranded[0]!;
    const more = stranded.length > 1 ? ` (and ${stranded.length - 1} more IP(s))` : '';
    const none = staying === 0 ? 'no healthy node of the gateway stays; ' : '';
    return {
      status: 'True',
      reason: REASON.DrainBlocked,
      message: truncateMessage(`${none}${first.message}${more}; leaving: ${names}`),
    };
  }
  return {
    status: 'True',
    reason: REASON.Drained,
    message: truncateMessage(
      `leaving: ${names}; their egress IPs are on nodes that stay${staying === 0 ? ' (none is left for new IPs)' : ''}`,
    ),
  };
}

/** The IPs `pool` can hand out (of `families`: those the gateway serves), as a safe integer. */
export function countablePoolSize(
  pool: IpPool,
  families: ReadonlySet<IpFamily> = DATAPLANE_FAMILIES,
): number {
  const size = pool.ranges
    .filter((r) => families.has(r.family))
    .reduce((n, r) => n + (r.end - r.start + 1n), 0n);
  return size > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(size);
}

/**
 * The Accepted message's note on the `spec.ips` entries of families the gateway does not serve (they are not
 * handed out), with why; empty when there are none.
 */
export function unservedEntriesNote(ips: readonly string[], served: ServedFamilies | undefined): string {
  if (!served) return '';
  const notes: string[] = [];
  for (const [family, why] of served.refused) {
    const entries = ips.filter((entry) => {
      try {
        return poolEntryRange(entry).family === family;
      } catch {
        return false; // Accepted=False InvalidSpec says so
      }
    });
    if (entries.length === 0) continue;
    const list =
      entries.slice(0, 5).join(', ') + (entries.length > 5 ? `, and ${entries.length - 5} more` : '');
    notes.push(`spec.ips ${list} are IPv${family} and not handed out: ${why}`);
  }
  return notes.map((n) => `; ${n}`).join('');
}

/** The Conflicted condition's message for pool overlaps. */
export function overlapMessage(gateway: string, overlaps: readonly PoolOverlap[]): string {
  const first = [gateway, ...overlaps.map((o) => o.gateway)].sort()[0];
  const parts = overlaps.map(
    (o) =>
      `EgressGateway "${o.gateway}" (${o.shared.slice(0, 3).join(', ')}${o.shared.length > 3 ? ', …' : ''})`,
  );
  return `spec.ips shares IPs with ${parts.join('; ')}: each shared IP stays with the policy that holds it (another gateway's policies asking for it get IPInUse), and only EgressGateway "${first}" hands out fresh ones; give each gateway IPs of its own`;
}

/** The gateway's new status; see the module table. */
export function decideGatewayStatus(input: GatewayStatusInput): EgressGatewayStatus {
  const { gateway, now } = input;
  const pool = new IpPool(gateway.spec.ips ?? [], input.cloudAllocatedIPs);
  const invalid = validateGatewaySpec(gateway.spec)
    .map((p) => `${p.field}: ${p.message}`)
    .join('; ');
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
    ...(n.problem || n.refusal || n.leaving
      ? {
          message: truncateMessage(
            n.problem ?? n.refusal ?? `leaving (${n.leaving}): takes no new egress IPs`,
          ),
        }
      : {}),
  }));
  const readyNodes = nodes.filter((n) => n.ready).length;
  const failedNodes = input.nodes.filter((n) => !n.healthy);
  const accepted = invalid
    ? { status: 'False' as const, reason: REASON.InvalidSpec, message: invalid }
    : nodes.length === 0
      ? { status: 'False' as const, reason: REASON.NoNodes, message: 'spec.nodeSelector selects no Node' }
      : {
          status: 'True' as const,
          reason: REASON.Accepted,
          message: truncateMessage(
            `provider ${input.provider}${unservedEntriesNote(gateway.spec.ips ?? [], input.served)}`,
          ),
        };
  const name = gateway.metadata.name;
  return {
    ...gen,
    provider: input.provider,
    nodes,
    readyNodes,
    ipsTotal: countablePoolSize(pool, input.served?.families),
    ipsUsed: input.held.size,
    ...(input.cloudAllocatedIPs.length ? { cloudAllocatedIPs: [...input.cloudAllocatedIPs] } : {}),
    ...(input.publicAddresses?.size
      ? {
          publicAddresses: [...input.publicAddresses]
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
            .map(([ip, address]) => {
              const publicIp = input.publicIps?.get(address);
              return { ip, address, ...(publicIp ? { publicIp } : {}) };
            }),
        }
      : {}),
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
              message: truncateMessage(
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
        input.overlaps.length > 0
          ? {
              type: CONDITION.Conflicted,
              status: 'True',
              reason: REASON.PoolOverlap,
              message: truncateMessage(overlapMessage(name, input.overlaps)),
              ...gen,
            }
          : {
              type: CONDITION.Conflicted,
              status: 'False',
              reason: REASON.NoConflict,
              message: 'no other gateway shares its IPs',
              ...gen,
            },
        { type: CONDITION.Draining, ...drainingCondition(input.nodes, input.stranded ?? []), ...gen },
      ],
      now,
    ),
  };
}

/** Status of a gateway whose provider cannot be used. */
export function rejectedGatewayStatus(
  gateway: EgressGateway,
  rejection: Rejection,
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
