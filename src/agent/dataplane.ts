/**
 * @module
 * The node agent's view of the kernel: one comparable {@link DataplaneState} (what the agent owns in the
 * kernel, normalised so that two states compare equal exactly when the kernel is the same), and the
 * {@link Dataplane} interface that reads it back and applies {@link Change}s. The Linux implementation lives
 * in `linux/`; `memory-dataplane.ts` keeps the state in memory for fast tests of the decision logic.
 */

/** The VXLAN device the agent owns. */
export interface TunnelState {
  /** Device name, e.g. `cegress0`. */
  readonly name: string;
  /** VXLAN network identifier, fixed cluster-wide. */
  readonly vni: number;
  /** UDP destination port, fixed cluster-wide. */
  readonly port: number;
  /** This node's IP: outer source address. */
  readonly localIp: string;
  /** Underlay device the outer packets leave by. */
  readonly parent: string;
  /** MAC address, derived from the node IP so that peers know it without asking. */
  readonly mac: string;
  /** Device MTU: underlay MTU minus the VXLAN overhead. */
  readonly mtu: number;
  /** Link-scoped address on the device (reverse-path filtering needs one); `a.b.c.d/32`. */
  readonly address: string;
}

/**
 * A gateway node reached through the tunnel: an FDB entry (MAC -> node IP) and a neighbour entry. With an IPv6
 * `nodeIp` (a node's tunnel link-local, the next hop of IPv6 routes) only the neighbour entry: the FDB entry
 * is the IPv4 peer's with the same MAC.
 */
export interface PeerState {
  readonly nodeIp: string;
  readonly mac: string;
}

/**
 * `ip rule fwmark <mark>/<mask> lookup <table> priority <priority>`, or with `from` set
 * `ip rule from <from>/32 lookup <table> priority <priority>` (then `mark` and `mask` are 0), tagged with
 * the agent's protocol. `family: 6` makes it an IPv6 rule (`ip -6 rule`; a `from` rule's family is its
 * address's, and says so here too).
 */
export interface RuleState {
  readonly mark: number;
  readonly mask: number;
  /** Source address of a `from` rule (egress IPs on a dedicated egress interface). */
  readonly from?: string;
  /** 6 for an IPv6 rule; absent for IPv4. */
  readonly family?: 6;
  readonly table: number;
  readonly priority: number;
}

/** A route in one of the agent's tables, tagged with the agent's protocol; IPv6 when `via` is IPv6. */
export type RouteState =
  /**
   * `default via <via> dev <tunnel> onlink`: into the tunnel towards a gateway node (IPv6: `via` is the
   * node's tunnel link-local, `tunnel-mac.ts`).
   */
  | { readonly table: number; readonly kind: 'via'; readonly via: string; readonly dev: string }
  /** `throw <dst>/32`: the tunnel's own outer packets to the gateway take the main table. */
  | { readonly table: number; readonly kind: 'throw'; readonly dst: string };

/** An egress IP held on this node's interface (`ip/32`, IPv6 `ip/128`). */
export interface AddressState {
  readonly ip: string;
  readonly dev: string;
}

/**
 * The agent's nftables table: a fingerprint of its structure (chains, rules, set declarations) and the
 * elements of every set and map. Set elements are keys with an empty value; map elements carry their
 * value (`goto m_18`, `drop`); interval sets use `start-end` keys.
 */
export interface NftState {
  readonly fingerprint: string;
  readonly sets: Readonly<Record<string, ReadonlyMap<string, string>>>;
  /** A replace was interrupted: its handover table is still in the kernel (see `linux/nftables.ts`). */
  readonly handover?: boolean;
}

/** Everything the agent owns in the kernel. Absent parts are `undefined` or empty. */
export interface DataplaneState {
  readonly tunnel: TunnelState | undefined;
  readonly peers: readonly PeerState[];
  readonly rules: readonly RuleState[];
  readonly routes: readonly RouteState[];
  readonly addresses: readonly AddressState[];
  readonly nft: NftState | undefined;
}

/** The desired state plus what it takes to write it (the nft structure text for a full replace). */
export interface DesiredDataplane extends DataplaneState {
  readonly tunnel: TunnelState;
  readonly nft: NftState;
  /** The table without elements, as `nft -f` text, already carrying the fingerprint. */
  readonly nftStructure: string;
  /** Set/map declarations by name: `interval`, `set` or `map` (for rendering elements). */
  readonly nftSetKinds: Readonly<Record<string, NftSetKind>>;
}

/** How a set's elements are written. */
export type NftSetKind = 'set' | 'interval' | 'map';

/** One step that moves the kernel towards the desired state. */
export type Change =
  | { readonly kind: 'tunnel.create'; readonly tunnel: TunnelState }
  | { readonly kind: 'tunnel.delete'; readonly name: string }
  | { readonly kind: 'nft.replace'; readonly desired: DesiredDataplane }
  | {
      readonly kind: 'nft.elements';
      readonly set: string;
      readonly setKind: NftSetKind;
      readonly add: ReadonlyMap<string, string>;
      readonly remove: ReadonlyMap<string, string>;
    }
  | { readonly kind: 'nft.delete' }
  | { readonly kind: 'peer.add'; readonly peer: PeerState; readonly dev: string }
  | { readonly kind: 'peer.delete'; readonly peer: PeerState; readonly dev: string }
  | { readonly kind: 'route.add'; readonly route: RouteState }
  | { readonly kind: 'route.delete'; readonly route: RouteState }
  | { readonly kind: 'rule.add'; readonly rule: RuleState }
  | { readonly kind: 'rule.delete'; readonly rule: RuleState }
  | { readonly kind: 'address.add'; readonly address: AddressState; readonly announce: boolean }
  | { readonly kind: 'address.delete'; readonly address: AddressState }
  /**
   * Deletes the conntrack entries of connections carrying mark `mark` (under the agent's mask): their NAT
   * was settled for a role this node no longer has for that egress IP. Best effort.
   */
  | { readonly kind: 'conntrack.flush'; readonly mark: number };

/** Reads and writes the agent's part of the kernel. */
/** Options of {@link Dataplane.observe}. */
export interface ObserveOptions {
  /**
   * Also write again the kernel settings the agent owns that are not part of the state (the tunnel's
   * reverse-path filter), so drift is repaired and a setting that cannot be written fails the read. The
   * sync asks for it; the cleanup does not (it removes the tunnel and needs no setting).
   */
  readonly repairSettings?: boolean;
}

export interface Dataplane {
  /** Reads what the agent owns from the kernel (or memory). */
  observe(options?: ObserveOptions): Promise<DataplaneState>;
  /** Applies changes in order; stops at the first failure (the next sync observes and retries). */
  apply(changes: readonly Change[]): Promise<void>;
}

/** The empty state: nothing owned. */
export const EMPTY_STATE: DataplaneState = {
  tunnel: undefined,
  peers: [],
  rules: [],
  routes: [],
  addresses: [],
  nft: undefined,
};
