/**
 * @module
 * The agent's one decision, pure: (this node, policies with their assignments, nodes, local pods, namespace
 * labels, cluster CIDRs) -> the dataplane this node must have.
 *
 * ```
 * for each policy (EgressPolicy before ClusterEgressPolicy, then oldest first, then by name):
 *   usable IPs   = status.assignments with state Assigned|Ready, an IPv4 ip, and a node whose IP is known
 *                  (zoneAffinity Preferred: those in this node's zone, if any)
 *   local pods   = pods on this node the selectors match
 *   each pod     -> rendezvous(pod uid, usable IPs) -> mark id of that IP   (no usable IP -> drop)
 * ip held here   -> address on the interface, SNAT rule, held mark          (gateway side)
 * ip elsewhere   -> ip rule fwmark id -> table base+id: default via gateway node IP dev tunnel onlink,
 *                   throw gatewayIP/32 (the tunnel's own outer packets), FDB + neighbour for the gateway
 * always         -> tunnel device, cluster bypass set (pod/service CIDRs, node IPs), node set (input guard)
 * ```
 *
 * A policy whose pods have no usable egress IP fails closed (their traffic to its destinations is dropped),
 * as a stable source IP is the policy's promise.
 */
import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { type AnyEgressPolicy, ASSIGNMENT_STATE, type LabelSelector } from '../api/index.ts';
import { selectorMatches } from '../controller/label-selector.ts';
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
}

const USABLE = new Set<string>([ASSIGNMENT_STATE.Assigned, ASSIGNMENT_STATE.Ready]);

function policyKey(p: AnyEgressPolicy): string {
  return `${p.kind}/${p.metadata.namespace ?? ''}/${p.metadata.name}`;
}

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

/**
 * Remembers each pod's verdicts while nothing else they depend on changes (policies, their usable IPs and
 * mark ids, namespace labels), so that one more pod costs one pod's work, not every pod's. Pods are keyed by
 * object identity: pass the same {@link LocalPod} object for an unchanged pod.
 */
export class DesiredCache {
  #epoch = '';
  #pods = new WeakMap<LocalPod, PodVerdict[]>();

  /** Starts a computation; a different `epoch` forgets everything. */
  begin(epoch: string): void {
    if (epoch !== this.#epoch) {
      this.#epoch = epoch;
      this.#pods = new WeakMap();
    }
  }

  get(pod: LocalPod): PodVerdict[] | undefined {
    return this.#pods.get(pod);
  }

  set(pod: LocalPod, verdicts: PodVerdict[]): void {
    this.#pods.set(pod, verdicts);
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
  cache?.begin(epoch);

  const sets: Record<string, Map<string, string>> = {};
  const podMaps = plans.map((x) => {
    const pods = new Map<string, string>();
    sets[x.names.pods] = pods;
    return pods;
  });
  const usedIds = new Map<number, number>();
  const podsByIp = new Map<string, number>();
  let podsWithoutIp = 0;
  for (const pod of inputs.pods) {
    let verdicts = cache?.get(pod);
    if (!verdicts) {
      verdicts = podVerdicts(pod, plans, inputs.namespaceLabels);
      cache?.set(pod, verdicts);
    }
    for (const v of verdicts) {
      const pods = podMaps[v.policy]!;
      if (v.egressIp === undefined) {
        podsWithoutIp++;
        for (const podIp of v.podIps) pods.set(podIp, 'drop');
        continue;
      }
      podsByIp.set(v.egressIp, (podsByIp.get(v.egressIp) ?? 0) + 1);
      const id = ids.get(v.egressIp)!;
      if (!usedIds.has(id)) usedIds.set(id, markValue(id, settings.markMask));
      const verdict = `goto ${markChain(id)}`;
      for (const podIp of v.podIps) pods.set(podIp, verdict);
    }
  }
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
  for (const [ip, node] of ipNode) {
    const id = ids.get(ip)!;
    const value = markValue(id, settings.markMask);
    if (node === me.name) {
      addresses.push({ ip, dev: me.iface });
      snat.set(value, ip);
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
  sets[SETS.owned] = keysOf(addresses.map((a) => a.ip));
  sets[SETS.held] = keysOf([...snat.keys()].map(String));

  const structure = renderStructure({ settings, policies: nftPolicies, markChains: usedIds, snat });
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
  return {
    desired: {
      tunnel,
      peers: [...peers.values()],
      rules,
      routes,
      addresses,
      nft: { fingerprint: structure.fingerprint, sets },
      nftStructure: structure.text,
      nftSetKinds: setKinds(nftPolicies),
    },
    podsByIp,
    podsWithoutIp,
    notes,
  };
}

function keysOf(keys: Iterable<string>): Map<string, string> {
  return new Map([...keys].map((k) => [k, '']));
}
