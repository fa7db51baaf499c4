/**
 * @module
 * Pure reconciler: (observed state, desired state) -> ordered changes. Running the result and observing
 * again yields no change; what is already right is adopted, never duplicated; what is stale is removed.
 *
 * ```
 *  order  step                        why this position
 *  -----  --------------------------  -----------------------------------------------------------
 *   1     tunnel.create (or re-)      routes, neighbours and the FDB need the device
 *   2     address.delete              before the nft table forgets the address was ours (no leak)
 *   3     peer.add, route.add         new paths are complete before anything steers into them;
 *                                     a changed gateway is `ip route replace`d in one step
 *   4     rule.add                    (a mark without its rule would take the main table)
 *   5     nft.replace | nft.elements  structure changed, the tunnel was made again (the netdev hooks
 *                                     bind to it) or a replace was interrupted -> the whole
 *                                     table, through a handover table that classifies meanwhile;
 *                                     else only the set/map elements that differ
 *   6     rule.delete                 only once nft no longer marks packets for them
 *   7     route.delete, peer.delete   (a replaced default route is gone already: no delete)
 *   8     address.add (+ announce)    after nft records it as ours
 *   9     conntrack.flush             per egress IP this node starts or stops holding, once the new
 *                                     rules and routes are in: the next packet of each of its
 *                                     connections starts a new entry, NATed (or not) for the new role
 * ```
 *
 * So every intermediate kernel state either tunnels a marked packet to a gateway or drops it. The nft
 * table's `guard` chain (see nft-model.ts) backs this up: a marked packet that is about to leave by
 * another device without the source address of an egress IP held here is dropped, whatever the rules
 * and routes say.
 */

import type {
  AddressState,
  Change,
  DataplaneState,
  DesiredDataplane,
  PeerState,
  RouteState,
  RuleState,
  TunnelState,
} from './dataplane.ts';
import { SETS } from './nft-model.ts';

/** Stable text keys so that states compare by value. */
const peerKey = (p: PeerState) => `${p.nodeIp}|${p.mac}`;
const ruleKey = (r: RuleState) =>
  `${r.family ?? 4}|${r.priority}|${r.mark}/${r.mask}|${r.from ?? ''}|${r.table}`;
/** A table of one family: IPv4 and IPv6 tables of the same number are two tables. */
const familyTable = (r: Extract<RouteState, { kind: 'via' }>) => `${r.via.includes(':') ? 6 : 4}|${r.table}`;
const routeKey = (r: RouteState) =>
  r.kind === 'via' ? `${r.table}|via|${r.via}|${r.dev}` : `${r.table}|throw|${r.dst}`;
const addressKey = (a: AddressState) => `${a.dev}|${a.ip}`;

function tunnelEqual(a: TunnelState | undefined, b: TunnelState): boolean {
  return (
    a !== undefined &&
    a.name === b.name &&
    a.vni === b.vni &&
    a.port === b.port &&
    a.localIp === b.localIp &&
    a.parent === b.parent &&
    a.mac.toLowerCase() === b.mac.toLowerCase() &&
    a.mtu === b.mtu &&
    a.address === b.address
  );
}

/** Items of `a` whose key is not among `b`'s. */
function minus<T>(a: readonly T[], b: readonly T[], key: (t: T) => string): T[] {
  const have = new Set(b.map(key));
  return a.filter((t) => !have.has(key(t)));
}

/** Map entries of `a` that are absent from `b` or differ there. */
function mapMinus(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string> | undefined) {
  const out = new Map<string, string>();
  for (const [k, v] of a) if (b?.get(k) !== v) out.set(k, v);
  return out;
}

/** Element changes of the pod maps since a known earlier desired state (see `DesiredResult.delta`). */
export interface ElementsHint {
  readonly basis: DataplaneState;
  readonly sets: ReadonlyMap<
    string,
    { readonly add: ReadonlyMap<string, string>; readonly remove: ReadonlyMap<string, string> }
  >;
}

/**
 * The changes that move `observed` to `desired`, in a safe order (see the module comment). When `hint` is
 * given and `observed` is its `basis` (the kernel is known to match it), the sets it covers take its
 * element changes instead of a full comparison, so one more pod costs O(1), not O(pods).
 */
export function planChanges(
  observed: DataplaneState,
  desired: DesiredDataplane,
  hint?: ElementsHint,
): Change[] {
  const out: Change[] = [];
  const tunnelRecreated = !tunnelEqual(observed.tunnel, desired.tunnel);
  if (tunnelRecreated) {
    if (observed.tunnel) out.push({ kind: 'tunnel.delete', name: observed.tunnel.name });
    out.push({ kind: 'tunnel.create', tunnel: desired.tunnel });
  }
  // A recreated device loses its neighbours, FDB entries and routes: treat them as absent.
  const obsPeers = tunnelRecreated ? [] : observed.peers;
  const obsRoutes = tunnelRecreated ? observed.routes.filter((r) => r.kind === 'throw') : observed.routes;

  for (const address of minus(observed.addresses, desired.addresses, addressKey)) {
    out.push({ kind: 'address.delete', address });
  }
  for (const peer of minus(desired.peers, obsPeers, peerKey)) {
    out.push({ kind: 'peer.add', peer, dev: desired.tunnel.name });
  }
  // A table's `throw` of its gateway before its default route: the tunnel's outer packets keep the inner
  // mark, and without the throw the new default route would send them to the gateway back into the tunnel.
  const added = minus(desired.routes, obsRoutes, routeKey).sort(
    (a, b) => Number(a.kind === 'via') - Number(b.kind === 'via'),
  );
  for (const route of added) out.push({ kind: 'route.add', route });
  for (const rule of minus(desired.rules, observed.rules, ruleKey)) out.push({ kind: 'rule.add', rule });

  // The netdev tables' hooks are bound to the tunnel device: a new device needs them again.
  if (tunnelRecreated || observed.nft?.fingerprint !== desired.nft.fingerprint || observed.nft.handover) {
    out.push({ kind: 'nft.replace', desired });
  } else {
    const hinted = hint !== undefined && hint.basis === observed ? hint.sets : undefined;
    for (const [set, want] of Object.entries(desired.nft.sets)) {
      const delta = hinted?.get(set);
      if (delta) {
        if (delta.add.size > 0 || delta.remove.size > 0) {
          const kind = desired.nftSetKinds[set] ?? 'set';
          out.push({ kind: 'nft.elements', set, setKind: kind, add: delta.add, remove: delta.remove });
        }
        continue;
      }
      if (hinted && hint?.basis.nft?.sets[set] === want) continue;
      const have = observed.nft.sets[set];
      const add = mapMinus(want, have);
      const remove = have ? mapMinus(have, want) : new Map<string, string>();
      // A key whose value changes is removed and added back in the same transaction.
      for (const k of add.keys()) if (have?.has(k) && !remove.has(k)) remove.set(k, have.get(k)!);
      if (add.size > 0 || remove.size > 0) {
        out.push({ kind: 'nft.elements', set, setKind: desired.nftSetKinds[set] ?? 'set', add, remove });
      }
    }
  }

  for (const rule of minus(observed.rules, desired.rules, ruleKey)) out.push({ kind: 'rule.delete', rule });
  // `route.add` replaces a default route of the same table: the old one is gone already.
  const replaced = new Set(added.flatMap((r) => (r.kind === 'via' ? [familyTable(r)] : [])));
  for (const route of minus(obsRoutes, desired.routes, routeKey)) {
    if (route.kind === 'via' && replaced.has(familyTable(route))) continue;
    out.push({ kind: 'route.delete', route });
  }
  for (const peer of minus(obsPeers, desired.peers, peerKey)) {
    out.push({ kind: 'peer.delete', peer, dev: desired.tunnel.name });
  }
  for (const address of minus(desired.addresses, observed.addresses, addressKey)) {
    out.push({ kind: 'address.add', address, announce: true });
  }
  // A connection keeps the NAT decided at its first packet: tunnelled without NAT while another node held
  // its egress IP, SNATed while this one did. When this node's role for an egress IP changes, those entries
  // would send the rest of the flow with the wrong source (the guard drops it) until they expire.
  const heldBefore = observed.nft?.sets[SETS.held] ?? new Map<string, string>();
  const heldAfter = desired.nft.sets[SETS.held] ?? new Map<string, string>();
  const changedRole = [
    ...[...heldAfter.keys()].filter((k) => !heldBefore.has(k)),
    ...[...heldBefore.keys()].filter((k) => !heldAfter.has(k)),
  ];
  for (const mark of changedRole.map(Number).sort((a, b) => a - b))
    out.push({ kind: 'conntrack.flush', mark });
  return out;
}

/** The changes that remove everything in `observed` (for `--cleanup`), in a safe order. */
export function planCleanup(observed: DataplaneState): Change[] {
  const out: Change[] = [];
  for (const address of observed.addresses) out.push({ kind: 'address.delete', address });
  for (const rule of observed.rules) out.push({ kind: 'rule.delete', rule });
  for (const route of observed.routes) out.push({ kind: 'route.delete', route });
  if (observed.nft) out.push({ kind: 'nft.delete' });
  if (observed.tunnel) out.push({ kind: 'tunnel.delete', name: observed.tunnel.name });
  return out;
}
