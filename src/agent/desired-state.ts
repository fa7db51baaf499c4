/**
 * @module
 * The agent's one decision, pure: (this node, policies with their assignments, nodes, local pods, namespace
 * labels, cluster CIDRs) -> the dataplane this node must have.
 *
 * ```
 * for each policy (EgressPolicy before ClusterEgressPolicy, then oldest first, then by name):
 *   usable IPs   = status.assignments with state Pending|Assigned|Ready, an IPv4 ip, and a node whose IP
 *                  is known (Pending: the controller is moving the IP to that node right now)
 *                  (zoneAffinity Preferred: those in this node's zone, if any)
 *   local pods   = pods on this node the selectors match
 *   each pod     -> rendezvous(pod uid, usable IPs) -> mark id of that IP   (no usable IP -> drop)
 * ip held here   -> address on the interface, SNAT rule, held mark          (gateway side)
 *                   dedicated egress interface: ip rule fwmark id and ip rule from ip -> table base+0:
 *                   default via the egress gateway dev <egress interface> (SNATed traffic leaves there)
 * ip elsewhere   -> ip rule fwmark id -> table base+id: default via gateway node IP dev tunnel onlink,
 *                   throw gatewayIP/32 (the tunnel's own outer packets), FDB + neighbour for the gateway
 * always         -> tunnel device, cluster bypass set (pod/service CIDRs, node IPs), node set (input guard),
 *                   a mark chain per usable IP (so pods coming and going only change map elements)
 * ```
 *
 * A policy whose pods have no usable egress IP fails closed (their traffic to its destinations is dropped),
 * as a stable source IP is the policy's promise.
 */
import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { type AnyEgressPolicy, ASSIGNMENT_STATE, type LabelSelector } from '../api/index.ts';
import { selectorMatches } from '../kube/label-selector.ts';
import { policyKey } from '../kube/objects.ts';
import { familyOf } from '../net/ip.ts';
import type {
  AddressState,
  DesiredDataplane,
  PeerState,
  RouteState,
  RuleState,
  TunnelState,
} from './dataplane.ts';
import { intervalKeys } from './ip-intervals.ts';
import { assignMarkIds } from './mark-ids.ts';
import { markChain, type NftPolicy, policySets, renderStructure, SETS, setKinds } from './nft-model.ts';
import { pickRendezvous } from './rendezvous.ts';
import { type DataplaneSettings, markValue, maxMarkId } from './settings.ts';
import { tunnelMac } from './tunnel-mac.ts';

/** A pod running on this node, as the agent needs it. */
export interface LocalPod {
  /** Pod UID: the rendezvous key (stable for the pod's life). */
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  /** Pod IPs (IPv4 ones are programmed). */
  readonly ips: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

/** A node's internal IP and zone. */
export interface NodeAddress {
  readonly name: string;
  readonly ip: string;
  readonly zone?: string;
}

/** This node. */
export interface NodeIdentity {
  readonly name: string;
  readonly ip: string;
  /** Interface that holds the node IP and, on a gateway, its egress IPs. */
  readonly iface: string;
  /** MTU of that interface. */
  readonly mtu: number;
  /** A dedicated interface for egress IPs (default: `iface`), and the gateway its traffic leaves by. */
  readonly egress?: { readonly iface: string; readonly gateway: string };
}

/** Everything the decision reads. */
export interface AgentInputs {
  readonly node: NodeIdentity;
  readonly policies: readonly AnyEgressPolicy[];
  readonly nodes: readonly NodeAddress[];
  /** Pods on this node only. */
  readonly pods: readonly LocalPod[];
  /** Labels of every namespace, for ClusterEgressPolicy namespace selectors. */
  readonly namespaceLabels: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** Pod and service CIDRs: never sent through a gateway. */
  readonly clusterCidrs: readonly string[];
}

/** The decision: the dataplane, plus numbers and notes for logs and metrics. */
export interface DesiredResult {
  readonly desired: DesiredDataplane;
  /** Local pods steered to an egress IP, by IP. */
  readonly podsByIp: ReadonlyMap<string, number>;
  /** Local pods whose policy has no usable IP (dropped to its destinations). */
  readonly podsWithoutIp: number;
  /** Things skipped, each with the reason (IPv6 IPs, unknown gateway nodes...). */
  readonly notes: readonly string[];
  /**
   * Set when the pod maps were updated in place from the previous result `basis` (same cache): their
   * element changes since then. The planner uses it when the kernel is known to match `basis`.
   */
  readonly delta?: { readonly basis: DesiredDataplane; readonly sets: ReadonlyMap<string, SetDelta> };
}

/**
 * States whose IP the agents program on the assignment's node. `Pending` is included: the controller writes it
 * right before the cloud call that moves the IP to that node, so the path is ready when the cloud delivers
 * (a failover is over as soon as the cloud moves the IP, not after the next status write), and the pods pinned
 * to the IP stay pinned to it rather than moving to the policy's other IPs and back. Until the cloud holds
 * the IP there, the cloud drops what the node sends from it (as it dropped while the IP was unusable);
 * a cloud call that fails turns the IP `Failed`.
 */
const USABLE = new Set<string>([ASSIGNMENT_STATE.Pending, ASSIGNMENT_STATE.Assigned, ASSIGNMENT_STATE.Ready]);

/** First-match order: namespaced before cluster-wide, then oldest first, then by key. */
function comparePolicies(a: AnyEgressPolicy, b: AnyEgressPolicy): number {
  const rank = (p: AnyEgressPolicy) => (p.kind === 'EgressPolicy' ? 0 : 1);
  const at = a.metadata.creationTimestamp ?? '';
  const bt = b.metadata.creationTimestamp ?? '';
  const ak = policyKey(a);
  const bk = policyKey(b);
  return rank(a) - rank(b) || (at < bt ? -1 : at > bt ? 1 : 0) || (ak < bk ? -1 : ak > bk ? 1 : 0);
}

function selects(p: AnyEgressPolicy, pod: LocalPod, nsLabels: AgentInputs['namespaceLabels']): boolean {
  if (p.kind === 'EgressPolicy') {
    if (pod.namespace !== p.metadata.namespace) return false;
  } else if (!selectorMatches(p.spec.namespaceSelector as LabelSelector, nsLabels.get(pod.namespace))) {
    return false;
  }
  return selectorMatches(p.spec.podSelector as LabelSelector, pod.labels);
}

const isV4 = (ip: string) => isIPv4(ip);
const v4Cidrs = (items: readonly string[] | undefined) => (items ?? []).filter((c) => familyOf(c) === 4);

/** One policy's verdict for one pod: the egress IP it is pinned to (undefined: none usable). */
interface PodVerdict {
  readonly policy: number;
  readonly podIps: readonly string[];
  readonly egressIp: string | undefined;
}

function podVerdicts(
  pod: LocalPod,
  plans: readonly { policy: AnyEgressPolicy; usable: readonly string[] }[],
  nsLabels: AgentInputs['namespaceLabels'],
): PodVerdict[] {
  const out: PodVerdict[] = [];
  const podIps = pod.ips.filter(isV4);
  plans.forEach((x, i) => {
    if (selects(x.policy, pod, nsLabels))
      out.push({ policy: i, podIps, egressIp: pickRendezvous(pod.uid, x.usable) });
  });
  return out;
}

/** A pod as last seen, with its verdicts. */
interface CachedPod {
  pod: LocalPod;
  /** Content of `pod`, computed only when a different object with the same UID shows up. */
  signature: string | undefined;
  readonly verdicts: readonly PodVerdict[];
  /** The decision that last saw the pod (mark and sweep, no per-decision map of all pods). */
  seen: number;
}

const signature = (pod: LocalPod) =>
  `${pod.namespace}\u0000${pod.ips.join(',')}\u0000${JSON.stringify(pod.labels)}`;

/** Element changes of one set since the previous result. */
export interface SetDelta {
  readonly add: Map<string, string>;
  readonly remove: Map<string, string>;
}

/**
 * Makes repeated decisions incremental: while nothing but the pods changes (same policies, usable IPs,
 * mark ids and namespace labels: the same "epoch"), only pods that are new or gone are looked at, the
 * pod maps are updated in place, and the result carries the element changes against the previous result.
 * Pods are keyed by UID; an unchanged pod is recognised by object identity (cheap) or by its content.
 */
export class DesiredCache {
  epoch: string | undefined;
  pods = new Map<string, CachedPod>();
  maps: Map<string, string>[] = [];
  /** Local pods per egress IP. */
  counts = new Map<string, number>();
  podsWithoutIp = 0;
  generation = 0;
  /** The previous result, which the maps now extend. */
  last: DesiredDataplane | undefined;

  /** Forgets everything; the next decision starts from scratch. */
  reset(): void {
    this.epoch = undefined;
    this.pods = new Map();
    this.maps = [];
    this.counts = new Map();
    this.podsWithoutIp = 0;
    this.last = undefined;
  }
}

/** Computes this node's dataplane; see the module comment. `cache` makes repeated calls incremental. */
export function desiredState(
  inputs: AgentInputs,
  settings: DataplaneSettings,
  cache?: DesiredCache,
): DesiredResult {
  const notes: string[] = [];
  const nodeIp = new Map(inputs.nodes.map((n) => [n.name, n.ip]));
  const nodeZone = new Map(inputs.nodes.map((n) => [n.name, n.zone]));
  const myZone = nodeZone.get(inputs.node.name);
  const policies = [...inputs.policies].sort(comparePolicies);

  // Mark ids over every usable egress IP in the cluster, so all nodes agree.
  const ipNode = new Map<string, string>();
  for (const p of policies) {
    for (const a of p.status?.assignments ?? []) {
      if (!a.ip || !a.node || !USABLE.has(a.state)) continue;
      if (!isV4(a.ip)) {
        notes.push(`${policyKey(p)}: egress IP ${a.ip} skipped (only IPv4 is programmed)`);
        continue;
      }
      if (!nodeIp.has(a.node)) {
        notes.push(`${policyKey(p)}: egress IP ${a.ip} skipped: node ${a.node} has no known InternalIP`);
        continue;
      }
      ipNode.set(a.ip, a.node);
    }
  }
  const ids = assignMarkIds(ipNode.keys(), maxMarkId(settings.markMask));

  // Per policy: set names and the egress IPs its pods may use.
  const plans = policies.map((p) => {
    const prefix = `p${createHash('sha256').update(policyKey(p)).digest('hex').slice(0, 10)}`;
    let usable = (p.status?.assignments ?? [])
      .filter((a) => a.ip && a.node && USABLE.has(a.state) && ipNode.get(a.ip) === a.node)
      .map((a) => a.ip!);
    if (p.spec.zoneAffinity === 'Preferred' && myZone) {
      const local = usable.filter((ip) => nodeZone.get(ipNode.get(ip)!) === myZone);
      if (local.length > 0) usable = local;
    }
    return { policy: p, prefix, names: policySets(prefix), usable };
  });

  // Everything a pod's verdicts depend on besides the pod itself; unchanged -> cached verdicts stand.
  const epoch = JSON.stringify([
    plans.map((x) => [
      x.policy.kind,
      x.policy.metadata.namespace,
      x.policy.spec,
      x.usable.map((ip) => ids.get(ip)),
    ]),
    plans.some((x) => x.policy.kind === 'ClusterEgressPolicy') ? [...inputs.namespaceLabels] : [],
    settings.markMask,
  ]);
  const c = cache ?? new DesiredCache();
  const incremental = c.epoch === epoch && c.last !== undefined && c.maps.length === plans.length;
  if (!incremental) {
    c.reset();
    c.epoch = epoch;
    c.maps = plans.map(() => new Map<string, string>());
  }
  const basis = c.last;

  // Per egress IP: its verdict text (one lookup per pod).
  const steering = new Map<string, { id: number; verdict: string }>();
  for (const x of plans) {
    for (const ip of x.usable) {
      const id = ids.get(ip)!;
      steering.set(ip, { id, verdict: `goto ${markChain(id)}` });
    }
  }
  const sets: Record<string, Map<string, string>> = {};
  plans.forEach((x, i) => {
    sets[x.names.pods] = c.maps[i]!;
  });
  const deltas = new Map<string, SetDelta>();
  const deltaOf = (policy: number) => {
    const name = plans[policy]!.names.pods;
    const d = deltas.get(name) ?? { add: new Map<string, string>(), remove: new Map<string, string>() };
    deltas.set(name, d);
    return d;
  };
  const apply = (verdicts: readonly PodVerdict[], add: boolean) => {
    for (const v of verdicts) {
      const map = c.maps[v.policy]!;
      const verdict = v.egressIp === undefined ? 'drop' : steering.get(v.egressIp)!.verdict;
      if (v.egressIp === undefined) c.podsWithoutIp += add ? 1 : -1;
      else c.counts.set(v.egressIp, (c.counts.get(v.egressIp) ?? 0) + (add ? 1 : -1));
      const d = deltaOf(v.policy);
      for (const podIp of v.podIps) {
        if (add) {
          map.set(podIp, verdict);
          d.add.set(podIp, verdict);
        } else if (map.get(podIp) === verdict) {
          map.delete(podIp);
          d.remove.set(podIp, verdict);
        }
      }
    }
  };
  const generation = ++c.generation;
  const gone: (readonly PodVerdict[])[] = [];
  const added: (readonly PodVerdict[])[] = [];
  let seenCount = 0;
  for (const pod of inputs.pods) {
    const known = c.pods.get(pod.uid);
    if (known?.seen === generation) continue; // the same UID twice: the first wins
    if (known && known.pod !== pod) known.signature ??= signature(known.pod);
    if (known && (known.pod === pod || known.signature === signature(pod))) {
      known.pod = pod;
      known.seen = generation;
      seenCount++;
      continue;
    }
    const verdicts = podVerdicts(pod, plans, inputs.namespaceLabels);
    c.pods.set(pod.uid, { pod, signature: undefined, verdicts, seen: generation });
    if (known) gone.push(known.verdicts);
    added.push(verdicts);
  }
  // Sweep only when some cached pod was not seen (the count tells without a second pass).
  if (c.pods.size > seenCount + added.length) {
    for (const [uid, known] of c.pods) {
      if (known.seen !== generation) {
        gone.push(known.verdicts);
        c.pods.delete(uid);
      }
    }
  }
  // Gone pods first, so that a pod replaced by another with the same IP ends up present.
  for (const verdicts of gone) apply(verdicts, false);
  for (const verdicts of added) apply(verdicts, true);
  // An IP removed and added back with the same verdict is no change.
  for (const d of deltas.values()) {
    for (const [ip, verdict] of d.remove) {
      if (d.add.get(ip) === verdict) {
        d.add.delete(ip);
        d.remove.delete(ip);
      }
    }
  }

  const usedIds = new Map<number, number>();
  const podsByIp = new Map<string, number>();
  for (const [ip, n] of c.counts) {
    if (n <= 0) continue;
    const s = steering.get(ip)!;
    podsByIp.set(ip, n);
    usedIds.set(s.id, markValue(s.id, settings.markMask));
  }
  const podsWithoutIp = c.podsWithoutIp;
  const nftPolicies: NftPolicy[] = [];
  for (const x of plans) {
    nftPolicies.push({ prefix: x.prefix });
    sets[x.names.dst] = keysOf(
      intervalKeys(x.policy.spec.destinationCIDRs ? v4Cidrs(x.policy.spec.destinationCIDRs) : ['0.0.0.0/0']),
    );
    sets[x.names.exc] = keysOf(intervalKeys(v4Cidrs(x.policy.spec.excludedCIDRs)));
  }

  const me = inputs.node;
  const allNodeIps = [...new Set(inputs.nodes.map((n) => n.ip).filter(isV4)), me.ip];
  sets[SETS.cluster] = keysOf(intervalKeys([...v4Cidrs(inputs.clusterCidrs), ...allNodeIps]));
  sets[SETS.nodes] = keysOf([...new Set(allNodeIps)]);

  const addresses: AddressState[] = [];
  const snat = new Map<number, string>();
  const rules: RuleState[] = [];
  const routes: RouteState[] = [];
  const peers = new Map<string, PeerState>();
  const egressTable = settings.tableBase; // mark ids start at 1: table base+0 is free
  for (const [ip, node] of ipNode) {
    const id = ids.get(ip)!;
    const value = markValue(id, settings.markMask);
    if (node === me.name) {
      addresses.push({ ip, dev: me.egress?.iface ?? me.iface });
      snat.set(value, ip);
      if (me.egress) {
        const rule = {
          mark: value,
          mask: settings.markMask,
          table: egressTable,
          priority: settings.rulePriority,
        };
        rules.push(rule, { ...rule, mark: 0, mask: 0, from: ip });
      }
      continue;
    }
    if (!usedIds.has(id)) continue;
    const gw = nodeIp.get(node)!;
    const table = settings.tableBase + id;
    rules.push({ mark: value, mask: settings.markMask, table, priority: settings.rulePriority });
    routes.push({ table, kind: 'via', via: gw, dev: settings.tunnelName });
    routes.push({ table, kind: 'throw', dst: gw });
    peers.set(gw, { nodeIp: gw, mac: tunnelMac(gw) });
  }
  if (me.egress && addresses.length > 0) {
    routes.push({ table: egressTable, kind: 'via', via: me.egress.gateway, dev: me.egress.iface });
  }
  sets[SETS.owned] = keysOf(addresses.map((a) => a.ip));
  sets[SETS.held] = keysOf([...snat.keys()].map(String));

  // A mark chain for every usable IP of every policy, used locally or not: pods coming and going then
  // change only map elements, never the table's structure.
  const markChains = new Map([...steering.values()].map((x) => [x.id, markValue(x.id, settings.markMask)]));
  const structure = renderStructure({ settings, policies: nftPolicies, markChains, snat });
  const tunnel: TunnelState = {
    name: settings.tunnelName,
    vni: settings.vni,
    port: settings.port,
    localIp: me.ip,
    parent: me.iface,
    mac: tunnelMac(me.ip),
    mtu: me.mtu - settings.tunnelOverhead,
    address: settings.tunnelAddress,
  };
  const desired: DesiredDataplane = {
    tunnel,
    peers: [...peers.values()],
    rules,
    routes,
    addresses,
    nft: { fingerprint: structure.fingerprint, sets },
    nftStructure: structure.text,
    nftSetKinds: setKinds(nftPolicies),
  };
  c.last = desired;
  return {
    desired,
    podsByIp,
    podsWithoutIp,
    notes,
    ...(incremental && basis ? { delta: { basis, sets: deltas } } : {}),
  };
}

function keysOf(keys: Iterable<string>): Map<string, string> {
  return new Map([...keys].map((k) => [k, '']));
}
