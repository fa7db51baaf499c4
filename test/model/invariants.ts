/**
 * @module
 * Pure: what the model-based test checks, on one snapshot of the world (the API server's objects and the
 * cloud's own view). Each check returns the violations it found, as sentences naming the objects and IPs.
 *
 * | when                 | check                                                                                  |
 * |----------------------|----------------------------------------------------------------------------------------|
 * | after every step     | no IP on two interfaces; no IP usable (Pending/Assigned/Ready) in two live policies'     |
 * |                      | statuses; no IP on a node whose policy object is gone (beyond what a lie told since the  |
 * |                      | last quiescence: a lost release or a late write may leave one until it is repaired)      |
 * | between two steps    | the holder keeps its IP: an IP Ready for a policy before is usable for no other policy   |
 * |                      | after, while the holder lives with the same spec (generation) and a gateway that admits |
 * |                      | it in both ({@link holderViolations})                                                    |
 * | at quiescence        | status equals the cloud: every IP the cloud holds is Ready (or Assigned) on that node in |
 * |                      | exactly one live policy, and every such entry is in the cloud; nothing Pending; every   |
 * |                      | held IP's policy is admitted by a live gateway; every gateway's status lists its IPs as   |
 * |                      | the cloud holds them; what was deleted is gone; every count policy of a gateway whose    |
 * |                      | admitted demand fits (pool and healthy nodes' capacity) has all its IPs Ready             |
 */
import type { EgressGateway } from '../../src/api/egress-gateway.ts';
import type { AnyEgressPolicy } from '../../src/api/egress-policy.ts';
import { selectorMatches } from '../../src/kube/label-selector.ts';
import { policyKey } from '../../src/kube/objects.ts';

/** The world at one moment. */
export interface Snapshot {
  /** IP -> the Node names whose interface holds it (the cloud's own view; more than one is a violation). */
  readonly cloud: ReadonlyMap<string, readonly string[]>;
  /** Every policy of the run on the API server (live or being deleted). */
  readonly policies: readonly AnyEgressPolicy[];
  /** Every gateway of the run on the API server. */
  readonly gateways: readonly EgressGateway[];
  /** Labels of the run's namespaces. */
  readonly namespaces: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** Objects the run deleted (`Kind/namespace/name` or `Kind/name`) that must be gone at quiescence. */
  readonly deleted: ReadonlySet<string>;
  /**
   * IPs of deleted policies, IP -> the policy's key, to check after every step that none is held for no live
   * policy once the policy is gone; empty while a lie told since the last quiescence may excuse it.
   */
  readonly goneIPs: ReadonlyMap<string, string>;
  /** Nodes that are Ready and not cordoned. */
  readonly eligibleNodes: number;
  /** Egress IPs one node can hold. */
  readonly perNode: number;
  /** IPs of each gateway's pool. */
  readonly poolSize: number;
}

const USABLE = new Set(['Pending', 'Assigned', 'Ready']);
const HELD = new Set(['Assigned', 'Ready']);
const live = (o: { metadata: { deletionTimestamp?: unknown } }) => !o.metadata.deletionTimestamp;

/** `Kind/namespace/name` or `Kind/name`. */
export const objectKey = (o: { kind?: string; metadata: { name?: string; namespace?: string } }): string =>
  [o.kind, o.metadata.namespace, o.metadata.name].filter(Boolean).join('/');

/** What must hold after every step. */
export function safetyViolations(s: Snapshot): string[] {
  const out: string[] = [];
  for (const [ip, nodes] of s.cloud) if (nodes.length > 1) out.push(`${ip} is on ${nodes.join(' and ')}`);
  const claims = new Map<string, string>();
  for (const p of s.policies.filter(live)) {
    for (const a of p.status?.assignments ?? []) {
      if (!a.ip || !USABLE.has(a.state)) continue;
      const other = claims.get(a.ip);
      if (other && other !== policyKey(p)) out.push(`${a.ip} is usable for ${other} and ${policyKey(p)}`);
      claims.set(a.ip, policyKey(p));
    }
  }
  const present = new Set(s.policies.map(objectKey));
  const named = new Set(s.policies.flatMap((p) => (p.status?.assignments ?? []).map((a) => a.ip)));
  for (const [ip, key] of s.goneIPs) {
    if (!present.has(key) && s.cloud.has(ip) && !named.has(ip)) {
      out.push(`${ip} of ${key} is still on ${s.cloud.get(ip)!.join(',')} after the policy is gone`);
    }
  }
  return out;
}

/**
 * The holder keeps its IP: every IP Ready for a live policy in `before` that is usable (Pending, Assigned,
 * Ready) for another live policy in `after`, while the holder is live in both with the same generation (it
 * still asks for what it asked) and admitted by its gateway in both.
 */
export function holderViolations(before: Snapshot, after: Snapshot): string[] {
  const out: string[] = [];
  const now = new Map(after.policies.filter(live).map((p) => [policyKey(p), p]));
  const usableFor = new Map<string, string>();
  for (const p of now.values()) {
    for (const a of p.status?.assignments ?? []) {
      if (a.ip && USABLE.has(a.state)) usableFor.set(a.ip, policyKey(p));
    }
  }
  for (const held of before.policies.filter(live)) {
    const key = policyKey(held);
    const later = now.get(key);
    if (!later || later.metadata.generation !== held.metadata.generation) continue;
    if (!admittedBy(before, held) || !admittedBy(after, later)) continue;
    for (const a of held.status?.assignments ?? []) {
      if (!a.ip || a.state !== 'Ready') continue;
      const taker = usableFor.get(a.ip);
      if (taker && taker !== key)
        out.push(`${a.ip} was Ready for ${key}, which still asks for it, and is now ${taker}'s`);
    }
  }
  return out;
}

/** The gateway that admits `policy` (live, and its namespaceSelector selects the policy's namespace). */
function admittedBy(s: Snapshot, policy: AnyEgressPolicy): EgressGateway | undefined {
  const gateway = s.gateways.find((g) => g.metadata.name === policy.spec.gatewayName && live(g));
  if (!gateway) return undefined;
  if (policy.kind === 'ClusterEgressPolicy') return gateway;
  const selector = gateway.spec.namespaceSelector;
  const labels = s.namespaces.get(policy.metadata.namespace ?? '');
  return selector && labels && selectorMatches(selector, labels) ? gateway : undefined;
}

/** What must hold once the world is quiet; see the module table. */
export function quiescenceViolations(s: Snapshot): string[] {
  const out = safetyViolations(s);
  const policies = s.policies.filter(live);
  const named = new Map<string, { policy: AnyEgressPolicy; node: string }>();
  for (const p of policies) {
    for (const a of p.status?.assignments ?? []) {
      if (a.state === 'Pending') out.push(`${policyKey(p)}: ${a.ip} still Pending (${a.reason})`);
      if (!a.ip || !a.node || !HELD.has(a.state)) continue;
      named.set(a.ip, { policy: p, node: a.node });
      const holders = s.cloud.get(a.ip) ?? [];
      if (!holders.includes(a.node)) {
        out.push(
          `${policyKey(p)}: ${a.ip} ${a.state} on ${a.node}, the cloud has it on ${holders.join(',') || 'no node'}`,
        );
      }
    }
  }
  for (const [ip, nodes] of s.cloud) {
    const owner = named.get(ip);
    if (!owner) out.push(`${ip} held on ${nodes.join(',')} for no live policy`);
    else if (!admittedBy(s, owner.policy)) {
      out.push(`${ip} held for ${policyKey(owner.policy)}, which no live gateway admits`);
    }
  }
  for (const g of s.gateways.filter(live)) {
    const mine = new Set(
      [...named].filter(([, o]) => o.policy.spec.gatewayName === g.metadata.name).map(([ip]) => ip),
    );
    for (const n of g.status?.nodes ?? []) {
      const cloud = [...s.cloud]
        .filter(([ip, nodes]) => mine.has(ip) && nodes.includes(n.name))
        .map(([ip]) => ip);
      const listed = [...(n.ips ?? [])].sort();
      if (listed.join() !== cloud.sort().join()) {
        out.push(`gateway ${g.metadata.name} lists [${listed}] on ${n.name}, the cloud [${cloud}]`);
      }
    }
  }
  const present = new Set([...s.policies, ...s.gateways].map(objectKey));
  for (const key of s.deleted) if (present.has(key)) out.push(`${key} was deleted but is still there`);
  out.push(...livenessViolations(s, policies));
  return out;
}

/**
 * Count policies get their IPs where nothing stands in the way: their gateway admits them and its admitted
 * demand (and all gateways' together, on shared nodes) fits the pool and the eligible nodes' capacity.
 */
function livenessViolations(s: Snapshot, policies: readonly AnyEgressPolicy[]): string[] {
  const out: string[] = [];
  const demand = new Map<string, number>();
  for (const p of policies) {
    if (!admittedBy(s, p)) continue;
    const want = p.spec.egressIPs?.length ?? p.spec.count ?? 1;
    demand.set(p.spec.gatewayName, (demand.get(p.spec.gatewayName) ?? 0) + want);
  }
  const total = [...demand.values()].reduce((a, b) => a + b, 0);
  if (total > s.eligibleNodes * s.perNode) return out;
  for (const p of policies) {
    if (p.spec.egressIPs || !admittedBy(s, p)) continue;
    if ((demand.get(p.spec.gatewayName) ?? 0) > s.poolSize) continue;
    const ready = (p.status?.assignments ?? []).filter((a) => a.state === 'Ready').length;
    const want = p.spec.count ?? 1;
    if (ready !== want) out.push(`${policyKey(p)}: ${ready} of ${want} IPs Ready with room for all`);
  }
  return out;
}
