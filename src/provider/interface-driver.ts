/**
 * @module
 * What a cloud provider writes to run on the engine (engine.ts): a few narrow functions about one network
 * interface. The engine does the rest once for every cloud: grouping a plan's changes by interface, the order
 * of releases and assignments, the half-moves of clouds without an atomic move, one lock per interface,
 * retries that re-read before they write again, singling out the one IP a cloud refused, and one outcome per
 * change.
 *
 * | function    | does                                                   | must                                                 |
 * |-------------|--------------------------------------------------------|------------------------------------------------------|
 * | `resolve`   | node -> its egress interface (may be cached)           | throw `notFound` when the instance or interface is gone |
 * | `refresh`   | the same, bypassing any cache                          | optional; called once after `notFound` on a target   |
 * | `key`       | a stable name of the interface                         | equal for equal interfaces (groups edits, names the lock) |
 * | `write`     | one attempt at a batch of edits on one interface:      | read before it decides, so an attempt is safe to     |
 * |             | read, decide (pure), at most one write, wait until done| repeat; report edits that cannot succeed in `failed`; |
 * |             |                                                        | throw when the whole batch fails                     |
 * | `describe`  | the interface as `describeNode` reports it             | read-only                                            |
 * | `list`      | the owned IPs of a group of interfaces                 | `undefined` for an interface missing from the answer |
 * | `classify`  | anything thrown -> a {@link ProviderError}              | map the cloud's codes through its errors.ts          |
 * | `blame`     | the edit a whole-batch refusal names                   | optional; only when the cloud names the IP           |
 * | `preflight` | checks that would make a failover fail                 | optional; read-only (dry runs, permission listings)  |
 * | `atomicMove`| whether one move is one write on its target            | optional, pure; overrides `capabilities.atomicMove`  |
 * |             | (a per-move answer: Azure's one-operation move where   | per move; the engine then resolves every move's      |
 * |             | the subscription has it, route next hops)              | source to ask it                                     |
 */
import type {
  CloudAssignment,
  NodeNetwork,
  NodeRef,
  PreflightCheck,
  PreflightCluster,
  ProviderError,
} from './contract.ts';

/**
 * One edit of an interface's batch. IPs are in canonical form. An `add` of an IP another interface holds is a
 * move for providers with an atomic move (the driver takes it from wherever it is, if this installation owns
 * it); for the others, the engine has released it there first.
 */
export type Edit =
  | {
      readonly kind: 'add';
      readonly ip: string;
      readonly publicAddress?: string;
      /**
       * For a move done in one write (the driver's {@link InterfaceDriver.atomicMove} said so): the key of the
       * interface the IP moves off, when the engine resolved it. Drivers that take an IP from wherever it is
       * (AWS `AllowReassignment`) may ignore it.
       */
      readonly from?: string;
    }
  | { readonly kind: 'remove'; readonly ip: string }
  | { readonly kind: 'allocate'; readonly count: number };

/** What a successful {@link InterfaceDriver.write} attempt did, per edit; an edit not in `failed` is done. */
export interface BatchResult {
  /** Edits that cannot succeed, with why (decided before the write, or named by the cloud). */
  readonly failed?: ReadonlyMap<Edit, ProviderError>;
  /** The IPs the cloud picked for each `allocate` edit that succeeded. */
  readonly allocated?: ReadonlyMap<Edit, readonly string[]>;
  /**
   * Public addresses that were paired with removed IPs, by IP (Azure: the public IP of a removed
   * ipConfiguration). The engine pairs each with the IP again where a move adds it without naming one.
   */
  readonly carried?: ReadonlyMap<string, string>;
}

/** A resolved interface with the node it belongs to. */
export interface Resolved<T> {
  readonly node: NodeRef;
  readonly target: T;
}

/** The narrow functions a cloud provider implements; see the module table. */
export interface InterfaceDriver<T> {
  /** The node's egress interface. @throws ProviderError `notFound` when it is gone. */
  resolve(node: NodeRef, signal?: AbortSignal): Promise<T>;
  /** Resolves afresh, bypassing any cache (after an operation on a cached target met `notFound`). */
  refresh?(node: NodeRef, signal?: AbortSignal): Promise<T>;
  /** A stable name of the interface: groups edits and names its lock. */
  key(target: T): string;
  /**
   * Prepares the writes of one batch: the engine calls the returned function once, and again after each
   * retryable failure (each call reads the interface afresh); state the attempts share (what an earlier
   * attempt may have done before its answer was lost) lives in the closure.
   */
  write(target: T, edits: readonly Edit[], signal?: AbortSignal): () => Promise<BatchResult>;
  /** The interface as `describeNode` reports it. */
  describe(resolved: Resolved<T>, signal?: AbortSignal): Promise<NodeNetwork>;
  /**
   * The IPs this installation owns on each interface of one group (see {@link listGroup}), in the order given;
   * `undefined` for one missing from the answer (the engine resolves that node afresh and asks again).
   */
  list(
    group: readonly Resolved<T>[],
    signal?: AbortSignal,
  ): Promise<readonly (CloudAssignment[] | undefined)[]>;
  /** Interfaces listed in one call share this value (AWS: the region); default each its own. */
  listGroup?(target: T): string;
  /** Turns anything a step threw into a classified error; `doing` says what was being done. */
  classify(err: unknown, doing: string): ProviderError;
  /** The edit a whole-batch `terminal` or `capacity` refusal names, so the others can be written again. */
  blame?(error: ProviderError, edits: readonly Edit[]): Edit | undefined;
  /**
   * Preflight checks of the resolved nodes' interfaces (contract.ts `preflight`): read-only, answered by the
   * cloud (e.g. dry-run writes, permission listings). Nodes that could not be resolved are reported by the
   * engine.
   */
  preflight?(
    nodes: readonly Resolved<T>[],
    signal?: AbortSignal,
    cluster?: PreflightCluster,
  ): Promise<PreflightCheck[]>;
  /**
   * Whether moving an IP from the interface `from` onto `to` is one write on `to`'s batch (the driver takes the
   * IP off `from` itself, so it is never on no interface), or a release on `from` first and then an add. A
   * per-move answer where one flag for the provider is not enough (Azure: `moveIpConfigurations` only where the
   * subscription has the feature, and only between NICs; route next hops always). Without it,
   * `capabilities.atomicMove` decides every move. Pure and quick: answered from what the driver knows.
   */
  atomicMove?(from: T, to: T): boolean;
}
