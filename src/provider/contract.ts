/**
 * @module
 * The provider contract: the one interface every cloud (and the in-memory fake) implements.
 *
 * The core computes a plan (which IP belongs on which node); a provider only carries it out
 * (external-dns: "the core plans, providers apply"). Types are plain JSON so an out-of-process
 * provider stays possible.
 *
 * Rules every provider keeps (checked by test/conformance/ against the cloud's own state):
 *
 * | rule            | meaning                                                                          |
 * |-----------------|----------------------------------------------------------------------------------|
 * | idempotent      | assigning an IP already there, releasing one already gone: success, no call     |
 * | single owner    | after `apply`, an IP is on exactly one interface (a move never leaves two)      |
 * | ownership       | only IPs this project assigned are ever released or listed; primary IPs and     |
 * |                 | other tools' IPs are never touched                                               |
 * | batched         | the IPs of one interface change in one write (one mutating call, or one         |
 * |                 | read-modify-write) per phase of `apply` (releases, then assignments), never one |
 * |                 | per IP                                                                           |
 * | serialised      | writes of one interface never overlap, also across concurrent `apply` calls      |
 * | subnet          | an IP outside every subnet of the target interface fails `terminal`, not silently|
 * | capacity        | past the interface's limit fails `capacity`, and nothing partial is left         |
 * | classified      | every failure is a {@link ProviderError} with a {@link ProviderErrorKind}        |
 * | per change      | one failing interface does not fail the changes for other interfaces            |
 * | unanswered      | a change the provider cannot report on fails `transient`: its effect is unknown, |
 * |                 | so the caller re-reads the cloud and tries again                                 |
 *
 * The cloud providers keep these rules by running on one engine (engine.ts): a provider is an
 * {@link InterfaceDriver} (resolve a node's interface, read it, write one batch, classify errors) plus its
 * {@link ProviderCapabilities}.
 */
import type { ReturnPath } from '../kube/return-path.ts';
import type { Logger } from '../log.ts';
import type { ProviderCapabilities } from './capabilities.ts';

export type { ProviderCapabilities, SubnetReservation } from './capabilities.ts';

/** A name under which a provider is registered (registry.ts lists them: `aws`, `gcp`, `azure`, `none`, ...). */
export type ProviderName = string;

/** The node a provider is asked about: the Kubernetes Node's name and `spec.providerID`. */
export interface NodeRef {
  /** Kubernetes Node name. */
  readonly name: string;
  /** `spec.providerID`, e.g. `aws:///us-east-1a/i-0abc`, `gce://proj/zone/name`, `azure:///subscriptions/...`. */
  readonly providerID: string;
}

/**
 * Settings a provider instance is created with: Helm values (through `Config`), overridden per gateway by
 * `cloudegress.io/*` annotations. One provider instance serves every gateway with equal settings.
 */
export interface ProviderSettings {
  /** Identifies this installation in ownership tags, so two clusters sharing a VPC never touch each other's IPs. */
  readonly owner: string;
  /** Cloud region; default derived from the node's zone. */
  readonly region?: string;
  /** API endpoint override (LocalStack, emulators, private endpoints). */
  readonly endpoint?: string;
  /**
   * AWS device index, GCP NIC name (`nic0`) or Azure NIC index, as a string; default the primary interface (on AWS
   * not one the Amazon VPC CNI manages: providers/aws/egress-eni.ts). Set, it is taken as given.
   */
  readonly interface?: string;
  /** AWS: pick the ENI that carries this tag (`key=value`) instead of by device index. */
  readonly interfaceTag?: string;
  /**
   * Azure scale-set nodes: comma-separated resource IDs of route tables that get the egress IPs' routes too,
   * besides the route table of the nodes' subnet.
   */
  readonly routeTables?: string;
}

/**
 * What a provider may ask of the cluster that the cloud does not say; the controller and `cloud-egress doctor`
 * answer from the API server (src/controller/vpc-cni-probe.ts).
 */
export interface ClusterProbe {
  /**
   * Whether the Amazon VPC CNI runs (pods of DaemonSet `kube-system/aws-node`).
   * @throws Error when the API server cannot say
   */
  vpcCni(signal?: AbortSignal): Promise<boolean>;
}

/** What a provider is given besides its settings. */
export interface ProviderContext {
  /** Where the provider logs (retries, slow operations); a child of the controller's logger. */
  readonly logger: Logger;
  /** The cluster's answers; absent (provider tests, the benches), the AWS provider takes the VPC CNI as not running. */
  readonly cluster?: ClusterProbe;
}

/** What the cloud says about the interface of a node that holds egress IPs. */
export interface NodeNetwork {
  /** Kubernetes Node name. */
  readonly node: string;
  /** Cloud ID of the interface (ENI ID, `projects/.../instances/x#nic0`, Azure NIC resource ID). */
  readonly interfaceId: string;
  /** Zone of the node, e.g. `us-east-1a`. */
  readonly zone: string;
  /**
   * CIDRs an egress IP on this interface may come from: on AWS the ENI's subnet (single-AZ); on GCP the
   * subnetwork's primary and secondary ranges (regional); on Azure the NIC's subnet (regional).
   */
  readonly subnets: readonly string[];
  /** The interface's own IPs that are never touched (primary and any IP this project does not own). */
  readonly reservedIPs: readonly string[];
  /** Egress IPs this project owns on the interface now. */
  readonly ownedIPs: readonly string[];
  /**
   * How many more IPs the interface can take now (its limit minus every IP it holds, owned or not).
   * So the egress IPs the node can hold in all is `ownedIPs.length + freeSlots`.
   */
  readonly freeSlots: number;
  /**
   * Why the interface takes no new egress IP, with the fix, when the provider refuses it (AWS: by default an ENI
   * the Amazon VPC CNI manages, providers/aws/egress-eni.ts). The core places no IP there; those it holds move to
   * nodes that can take them and stay where none can.
   */
  readonly refusal?: string;
}

/** An egress IP as the cloud has it: on which node's interface. */
export interface CloudAssignment {
  readonly ip: string;
  readonly node: string;
  readonly interfaceId: string;
  /** Public address paired with the IP (AWS Elastic IP, Azure public IP), if any. */
  readonly publicAddress?: string;
  /** The public IPv4 address of {@link CloudAssignment.publicAddress}, as destinations see it, when the cloud shows it. */
  readonly publicIp?: string;
}

/**
 * One change of a plan.
 *
 * - `assign`: put `ip` on `node`'s interface. With `from`, the IP is moving off that node: providers that
 *   can move atomically (AWS `AllowReassignment`) do it in one call; others release it on `from` first.
 * - `release`: take `ip` off `node`'s interface.
 * - `allocate`: have the cloud pick `count` free IPs in the node's subnet and assign them (AWS
 *   `SecondaryPrivateIpAddressCount`); the outcome lists the IPs picked.
 */
export type Change =
  | {
      readonly kind: 'assign';
      readonly ip: string;
      readonly node: NodeRef;
      readonly from?: NodeRef;
      /** Public address to pair with the IP (AWS Elastic IP allocation ID, Azure public IP resource ID). */
      readonly publicAddress?: string;
    }
  | { readonly kind: 'release'; readonly ip: string; readonly node: NodeRef }
  | { readonly kind: 'allocate'; readonly count: number; readonly node: NodeRef };

/** A plan: the changes to carry out. */
export interface Plan {
  readonly changes: readonly Change[];
}

/** The result of one change. */
export type ChangeOutcome =
  | { readonly change: Change; readonly ok: true; readonly allocated?: readonly string[] }
  | { readonly change: Change; readonly ok: false; readonly error: ProviderError };

/**
 * One preflight check: something that will break a failover before it happens (a denied permission, a full
 * interface, an interface another tool manages), checked with the cloud's own answers.
 */
export interface PreflightCheck {
  /** What was checked, e.g. `permission Microsoft.Network/networkInterfaces/write`, `free IP slots`. */
  readonly check: string;
  /** The node it concerns, when it concerns one. */
  readonly node?: string;
  readonly ok: boolean;
  /** What was found, in words a user understands. */
  readonly message: string;
  /** What to do about it, when not ok. */
  readonly fix?: string;
}

/**
 * What the caller of a preflight knows of the cluster that the cloud does not say (`cloud-egress doctor` and the
 * controller's `Preflight` condition read it from the API server: src/controller/cluster-facts.ts); checks that
 * depend on it are made only when it is given.
 */
export interface PreflightCluster {
  /** Whether the Amazon VPC CNI runs (DaemonSet `kube-system/aws-node`). */
  readonly vpcCni: boolean;
  /**
   * How the agents return replies to tunnelled pods (their `--return-path`, the chart's `agent.returnPath`; the
   * caller's `--agent-return-path`).
   */
  readonly agentReturnPath: ReturnPath;
}

/** The result of `apply`: one outcome per change, in the order of `plan.changes`. */
export interface ApplyResult {
  readonly outcomes: readonly ChangeOutcome[];
}

/**
 * A cloud that can hold egress IPs on nodes' interfaces.
 *
 * Every method may throw {@link ProviderError}; `apply` reports per-change errors in its result instead
 * and throws only when it could not start at all (e.g. credentials).
 */
export interface CloudProvider {
  /** The registry name. */
  readonly name: ProviderName;
  /** What the provider can do; the core reads these instead of comparing provider names. */
  readonly capabilities: ProviderCapabilities;
  /**
   * Reads the node's egress interface: subnets, zone, owned and reserved IPs, free slots.
   * @throws ProviderError `notFound` when the instance or interface does not exist.
   */
  describeNode(node: NodeRef, signal?: AbortSignal): Promise<NodeNetwork>;
  /**
   * The cloud's truth: every egress IP this project owns on the given nodes' interfaces.
   * IPs it does not own are never listed. A node that no longer exists is skipped.
   */
  listAssignments(nodes: readonly NodeRef[], signal?: AbortSignal): Promise<CloudAssignment[]>;
  /**
   * Carries out a plan: batched per interface, serialised per interface, idempotent, retried where
   * retrying can help. Releases first, then assignments (a move off a node precedes its reuse).
   */
  apply(plan: Plan, signal?: AbortSignal): Promise<ApplyResult>;
  /**
   * Checks, with the cloud's own answers and without changing anything, what would make a failover onto these
   * nodes fail (permissions, free slots, ...). Optional: a provider without it has nothing to check.
   */
  preflight?(
    nodes: readonly NodeRef[],
    signal?: AbortSignal,
    cluster?: PreflightCluster,
  ): Promise<PreflightCheck[]>;
}

/**
 * Kinds of provider failure, which decide what the caller does:
 *
 * | kind       | example                                   | caller                               |
 * |------------|-------------------------------------------|--------------------------------------|
 * | throttled  | AWS RequestLimitExceeded, HTTP 429        | back off (longer), retry             |
 * | transient  | 5xx, timeouts, connection reset           | back off, retry                      |
 * | conflict   | stale fingerprint/etag, 409 in progress   | re-read, retry soon                  |
 * | capacity   | PrivateIpAddressLimitExceeded, 100/256    | place the IP elsewhere; status       |
 * | notFound   | instance or interface gone                | treat the node as failed             |
 * | terminal   | IP outside subnet, IP in use, no access   | status + Warning event; no retry     |
 */
export type ProviderErrorKind = 'throttled' | 'transient' | 'conflict' | 'capacity' | 'notFound' | 'terminal';

/** Kinds worth retrying with backoff. */
export const RETRYABLE_KINDS: ReadonlySet<ProviderErrorKind> = new Set([
  'throttled',
  'transient',
  'conflict',
]);

/** A classified provider failure. */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  /** What kind of failure this is. */
  readonly kind: ProviderErrorKind;
  /** The cloud's own error code, e.g. `RequestLimitExceeded`, `PreconditionFailed`. */
  readonly code: string | undefined;
  /** Server-suggested delay before retrying, if any. */
  readonly retryAfterMs: number | undefined;
  /**
   * What holds the IP in the cloud when the failure is that something this installation does not own has it
   * (another interface's or another tool's IP, a node's primary IP), as the cloud names it (`eni-0abc`, a
   * resource path, or just "another resource"). The core reports such an IP as a conflict, not a cloud error.
   */
  readonly heldBy: string | undefined;
  /** What the user can do about it, in plain words, when the provider knows (the preflight shows it). */
  readonly fix: string | undefined;

  constructor(
    kind: ProviderErrorKind,
    message: string,
    options: { cause?: unknown; code?: string; retryAfterMs?: number; heldBy?: string; fix?: string } = {},
  ) {
    super(message, { cause: options.cause });
    this.kind = kind;
    this.code = options.code;
    this.retryAfterMs = options.retryAfterMs;
    this.heldBy = options.heldBy;
    this.fix = options.fix;
  }

  /** True when a retry with backoff may succeed. */
  get retryable(): boolean {
    return RETRYABLE_KINDS.has(this.kind);
  }
}

/** True when `err` is a {@link ProviderError} (optionally of one of the given kinds). */
export function isProviderError(err: unknown, ...kinds: ProviderErrorKind[]): err is ProviderError {
  return err instanceof ProviderError && (kinds.length === 0 || kinds.includes(err.kind));
}
