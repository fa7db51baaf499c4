/**
 * @module
 * The dataplane this node must have, built from the decisions before it: where each egress IP is placed
 * (`usable-ips.ts`), its mark id (`mark-ids.ts`), the steering and pod maps (`pod-steering.ts`,
 * `desired-cache.ts`) and which IPs local pods use. Pure.
 *
 * ```
 * egress IP held here        -> address on the interface, SNAT rule, held mark              (gateway side)
 *                               dedicated egress interface: ip rule fwmark id and ip rule from ip -> table
 *                               base+0: default via the egress gateway dev <egress interface> (SNATed traffic
 *                               leaves there)
 * egress IP elsewhere, used  -> ip rule fwmark id -> table base+id: default via gateway node IP dev tunnel
 *   by a local pod              onlink, throw gatewayIP/32 (the tunnel's own outer packets), FDB + neighbour
 *                               for the gateway
 * egress IP elsewhere, idle  -> nothing but its mark chain
 * planned move (handover)    -> both gateways hold it as above, and each copies what the tunnel brings it with
 *                               its mark to the other (nft netdev dup, FDB + neighbour for it); the agent
 *                               adopts the half-open connections meanwhile (handover-flows.ts)
 * return path `tunnel`       -> every other node in the FDB (a reply may go back to any of them), the id of each
 *                               node's tunnel MAC in the nft table (recorded on a gateway in its connections'
 *                               mark), ip rule fwmark <reserved id> -> table base+<reserved id>: default via the
 *                               return hop dev tunnel onlink (a permanent neighbour; the tunnel's egress hook
 *                               sets the real MAC)
 * IPv6 egress IP             -> the same, with `ip -6` rules and routes in the same table numbers, the route's next
 *                               hop the gateway's tunnel link-local (a permanent neighbour for its tunnel MAC)
 *                               and no `throw` (the outer packets are IPv4); an address `/128`; with a
 *                               dedicated egress interface the same rules in `ip -6` and table base+0's
 *                               default via its IPv6 gateway, or no rules when it has none (it leaves by the
 *                               node's IPv6 routes)
 * always                     -> tunnel device, cluster bypass sets (pod/service CIDRs, node IPs, link-local;
 *                               per family), node set (input guard), per policy its destination and excluded
 *                               sets and pod map per family, a mark chain per usable IP (so pods coming and
 *                               going only change map elements)
 * ```
 */
import { isIPv4 } from 'node:net';
import type { AnyEgressPolicy } from '../api/index.ts';
import type { NodeAddress, NodeIdentity } from './agent-inputs.ts';
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
import { type PolicySetNames, renderStructure, SETS, setKinds } from './nft-model.ts';
import type { IpSteering } from './pod-steering.ts';
import { podMapIndex, steersFamily } from './pod-steering.ts';
import { type DataplaneSettings, markValue, maskIds, returnMarkId } from './settings.ts';
import { tunnelLinkLocal, tunnelMac } from './tunnel-mac.ts';
import type { Handover } from './usable-ips.ts';

/** A policy as the dataplane programs it: its destinations and the names of its sets. */
export interface ProgrammedPolicy {
  readonly policy: AnyEgressPolicy;
  /** Set-name prefix (`policyPrefix`). */
  readonly prefix: string;
  readonly names: PolicySetNames;
}

/** What the dataplane is built from. */
export interface NodeDataplaneInput {
  readonly node: NodeIdentity;
  /** Every node: their IPs bypass the gateways and may send VXLAN here. */
  readonly nodes: readonly NodeAddress[];
  /** Pod and service CIDRs: they bypass the gateways. */
  readonly clusterCidrs: readonly string[];
  /**
   * The cluster set's elements ({@link clusterSetElements} of `clusterCidrs` and the node IPs), when the caller
   * keeps them from an earlier decision (merging thousands of CIDRs costs milliseconds); default: computed.
   */
  readonly clusterSet?: (cidrs: readonly string[], nodeIps: readonly string[]) => Map<string, string>;
  readonly settings: DataplaneSettings;
  /** The policies in first-match order. */
  readonly policies: readonly ProgrammedPolicy[];
  /** Their pod maps, two per policy ({@link podMapIndex}); they go into the sets as they are (not copied). */
  readonly podMaps: readonly Map<string, string>[];
  /** Egress IP -> the node it is placed on. */
  readonly placement: ReadonlyMap<string, string>;
  /** Planned moves under way: both nodes hold the IP, the old one copies to the new one. */
  readonly handovers?: ReadonlyMap<string, Handover>;
  /** Node name -> InternalIP, for every node a placed IP is on. */
  readonly nodeIps: ReadonlyMap<string, string>;
  /** Mark id of every placed egress IP. */
  readonly markIds: ReadonlyMap<string, number>;
  /** Steering of every usable egress IP: each gets a mark chain. */
  readonly steering: ReadonlyMap<string, IpSteering>;
  /** Local pods by the egress IP they are steered to (IPs with pods only; each one usable). */
  readonly podsByIp: ReadonlyMap<string, number>;
}

/** Builds this node's desired dataplane; see the module comment. */
export function nodeDataplane(input: NodeDataplaneInput): DesiredDataplane {
  const { settings, policies } = input;
  const me = input.node;
  const sets: Record<string, Map<string, string>> = {};
  policies.forEach((x, i) => {
    sets[x.names.pods] = input.podMaps[podMapIndex(i, 4)]!;
    sets[x.names.pods6] = input.podMaps[podMapIndex(i, 6)]!;
  });
  for (const x of policies) {
    const { destinationCIDRs: dst, excludedCIDRs: exc } = x.policy.spec;
    sets[x.names.dst] = keysOf(intervalKeys(dst ?? ['0.0.0.0/0']));
    sets[x.names.exc] = keysOf(intervalKeys(exc ?? []));
    // No IPv6 destination for a policy that does not steer IPv6: its sets stay empty.
    const all6 = steersFamily(x.policy, 6) ? ['::/0'] : [];
    sets[x.names.dst6] = keysOf(intervalKeys(dst ?? all6, 6));
    sets[x.names.exc6] = keysOf(intervalKeys(exc ?? [], 6));
  }
  const allNodeIps = [...new Set(input.nodes.map((n) => n.ip).filter((ip) => isIPv4(ip))), me.ip];
  sets[SETS.cluster] = (input.clusterSet ?? clusterSetElements)(input.clusterCidrs, allNodeIps);
  sets[SETS.cluster6] = keysOf(
    intervalKeys([...input.clusterCidrs, LINK_LOCAL_V6, ...input.nodes.map((n) => n.ip)], 6),
  );
  sets[SETS.nodes] = keysOf([...new Set(allNodeIps)]);

  const routing = egressRouting(input);
  const back = returnRouting(input, allNodeIps);
  sets[SETS.owned] = keysOf(routing.addresses.filter((a) => !isV6(a.ip)).map((a) => a.ip));
  sets[SETS.owned6] = keysOf(routing.addresses.filter((a) => isV6(a.ip)).map((a) => a.ip));
  sets[SETS.held] = keysOf([...routing.snat.keys()].map(String));

  // A mark chain for every usable IP of every policy, used locally or not: pods coming and going then
  // change only map elements, never the table's structure.
  const markChains = new Map(
    [...input.steering.values()].map((x) => [x.id, markValue(x.id, settings.markMask)]),
  );
  const nftPolicies = policies.map((x) => ({ prefix: x.prefix }));
  const structure = renderStructure({
    settings,
    policies: nftPolicies,
    markChains,
    snat: routing.snat,
    copies: routing.copies,
    tunnelMac: tunnelMac(me.ip),
    ...(back ? { returnPath: { nodeIds: back.nodeIds, hopMac: tunnelMac(settings.returnHop) } } : {}),
  });
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
  const peers = new Map(routing.peers.map((p) => [p.nodeIp, p]));
  for (const p of back?.peers ?? []) peers.set(p.nodeIp, p);
  return {
    tunnel,
    peers: [...peers.values()],
    rules: [...routing.rules, ...(back?.rules ?? [])],
    routes: [...routing.routes, ...(back?.routes ?? [])],
    addresses: routing.addresses,
    nft: { fingerprint: structure.fingerprint, sets },
    nftStructure: structure.text,
    nftSetKinds: setKinds(nftPolicies),
  };
}

/** Addresses, SNAT, rules, routes and peers of the placed egress IPs: the egress-IP rows of the table. */
function egressRouting(input: NodeDataplaneInput) {
  const { settings } = input;
  const me = input.node;
  const usedIds = new Set<number>();
  for (const ip of input.podsByIp.keys()) usedIds.add(input.steering.get(ip)!.id);
  const addresses: AddressState[] = [];
  const snat = new Map<number, string>();
  const copies = new Map<number, string>();
  const rules: RuleState[] = [];
  const routes: RouteState[] = [];
  const peers = new Map<string, PeerState>();
  const egressTable = settings.tableBase; // mark ids start at 1: table base+0 is free
  for (const [ip, node] of input.placement) {
    const id = input.markIds.get(ip)!;
    const value = markValue(id, settings.markMask);
    const handover = input.handovers?.get(ip);
    const v6 = isV6(ip);
    if (node === me.name || handover?.from === me.name || handover?.to === me.name) {
      addresses.push({ ip, dev: me.egress?.iface ?? me.iface });
      snat.set(value, ip);
      // Both gateways of a planned move copy what the tunnel brings them for the IP to each other.
      const other =
        handover?.from === me.name ? handover.to : handover?.to === me.name ? handover.from : undefined;
      const peer = other === undefined || other === me.name ? undefined : input.nodeIps.get(other);
      if (peer !== undefined) {
        copies.set(value, peer);
        peers.set(peer, { nodeIp: peer, mac: tunnelMac(peer) });
        // The neighbour an answer sent on to the other gateway leaves for (nft-model.ts, the answers' table).
        if (!v6) peers.set(ip, { nodeIp: ip, mac: tunnelMac(ip) });
      }
      if (me.egress && (!v6 || me.egress.gateway6)) {
        const rule: RuleState = {
          mark: value,
          mask: settings.markMask,
          table: egressTable,
          priority: settings.rulePriority,
          ...(v6 ? { family: 6 as const } : {}),
        };
        rules.push(rule, { ...rule, mark: 0, mask: 0, from: ip });
      }
      continue;
    }
    if (!usedIds.has(id)) continue;
    const gw = input.nodeIps.get(node)!;
    const table = settings.tableBase + id;
    const rule: RuleState = { mark: value, mask: settings.markMask, table, priority: settings.rulePriority };
    peers.set(gw, { nodeIp: gw, mac: tunnelMac(gw) });
    if (v6) {
      const hop = tunnelLinkLocal(gw);
      rules.push({ ...rule, family: 6 });
      routes.push({ table, kind: 'via', via: hop, dev: settings.tunnelName });
      peers.set(hop, { nodeIp: hop, mac: tunnelMac(gw) });
      continue;
    }
    rules.push(rule);
    routes.push({ table, kind: 'via', via: gw, dev: settings.tunnelName });
    routes.push({ table, kind: 'throw', dst: gw });
  }
  if (me.egress && addresses.some((a) => !isV6(a.ip))) {
    routes.push({ table: egressTable, kind: 'via', via: me.egress.gateway, dev: me.egress.iface });
  }
  if (me.egress?.gateway6 && addresses.some((a) => isV6(a.ip))) {
    routes.push({ table: egressTable, kind: 'via', via: me.egress.gateway6, dev: me.egress.iface });
  }
  return { addresses, snat, copies, rules, routes, peers: [...peers.values()] };
}

/**
 * The return path `tunnel` (module comment): the rule and route that send a marked reply into the tunnel, the
 * FDB entries of every other node and the return hop's neighbour, and each node's id by its tunnel MAC.
 * Undefined for the return path `podNetwork`.
 */
function returnRouting(input: NodeDataplaneInput, nodeIps: readonly string[]) {
  const { settings } = input;
  if (settings.returnPath !== 'tunnel') return undefined;
  const ids = maskIds(settings.nodeIdMask);
  const others = [...new Set(nodeIps)].filter((ip) => ip !== input.node.ip);
  const nodeIds = new Map<string, number>();
  for (const [ip, id] of assignMarkIds(nodeIps, ids.max)) nodeIds.set(tunnelMac(ip), ids.value(id));
  const id = returnMarkId(settings.markMask);
  const table = settings.tableBase + id;
  const rule: RuleState = {
    mark: markValue(id, settings.markMask),
    mask: settings.markMask,
    table,
    // A priority of its own, after the egress rules (their marks never match it): the two kinds stay apart.
    priority: settings.rulePriority + 1,
  };
  const route: RouteState = { table, kind: 'via', via: settings.returnHop, dev: settings.tunnelName };
  const peers: PeerState[] = [settings.returnHop, ...others].map((ip) => ({
    nodeIp: ip,
    mac: tunnelMac(ip),
  }));
  if (![...input.placement.keys()].some(isV6)) return { nodeIds, rules: [rule], routes: [route], peers };
  // IPv6 egress IPs in the cluster: their replies take the same way back, through the return hop's link-local.
  const hop = tunnelLinkLocal(settings.returnHop);
  return {
    nodeIds,
    rules: [rule, { ...rule, family: 6 as const }],
    routes: [route, { ...route, via: hop }],
    peers: [...peers, { nodeIp: hop, mac: tunnelMac(settings.returnHop) }],
  };
}

/**
 * IPv4 link-local: never through a gateway, whatever a policy's destinations say. It is the node's own
 * (instance metadata at 169.254.169.254, which would answer a tunnelled request with the gateway node's
 * credentials; NodeLocal DNSCache at 169.254.20.10) and is not routed off the link anyway.
 */
export const LINK_LOCAL_V4 = '169.254.0.0/16';

/** IPv6 link-local (router and neighbour discovery, the node's own services): never through a gateway. */
export const LINK_LOCAL_V6 = 'fe80::/10';

const isV6 = (ip: string) => ip.includes(':');

/**
 * The cluster set's elements: the IPv4 ones of `cidrs` and `nodeIps`, and {@link LINK_LOCAL_V4}, merged into
 * intervals.
 */
export function clusterSetElements(
  cidrs: readonly string[],
  nodeIps: readonly string[],
): Map<string, string> {
  return keysOf(intervalKeys([...cidrs, LINK_LOCAL_V4, ...nodeIps]));
}

function keysOf(keys: Iterable<string>): Map<string, string> {
  return new Map([...keys].map((k) => [k, '']));
}
