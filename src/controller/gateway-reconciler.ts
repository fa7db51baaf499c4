// Over 300 lines: one pass's phases stay in one file, so the order of its writes reads top to bottom.
/**
 * @module
 * The gateway reconciler: one level-triggered pass over one EgressGateway, its nodes and its policies.
 * Decisions come from the pure `decide-*` modules; this file only reads, calls and writes, in phases:
 *
 * ```
 * reconcile(EgressGateway/<name>)
 *   read      the caches (read-your-writes): the gateway (gone ─► done), its selected nodes, every policy
 *   provider  decideProvider; unknown / mixed ─► Accepted=False on gateway and its policies, Warning ─► done
 *             (no cloud call)
 *   admit     add the gateway's finalizer; decideAdmissions: its live policies admitted (add their
 *             finalizers) or rejected (none while the gateway is being deleted); the rejected policies'
 *             statuses written now, naming no IP, so that no IP is usable for two policies while a pass
 *             hands a rejected policy's IPs to another (test/controller/tenant-change.test.ts)
 *   plan      describeNode (cached) per selected node, listAssignments (also on nodes the statuses name);
 *             decidePlan: admitted live policies ─► scheduler ─► changes; verifyWrites: the read against the
 *             statuses; an IP missing where the cloud acknowledged it ─► planned there, written there again
 *             (reassert), Pending Verifying
 *   verify    disagreements counted and logged; the next verification scheduled (verification-schedule.ts),
 *             before the cloud call, so that a pass failing after it (a status write refused) is verified too
 *   apply     changes? ── write Pending for the IPs that change (status BEFORE the cloud call), in two
 *                         rounds: IPs given up first, then IPs taken (decide-write-rounds.ts; the final
 *                         statuses too), except planned moves off leaving nodes on a provider with an
 *                         ownership record: they keep the old node, with handoverTo the new one (both
 *                         gateways hold the IP, the old one copies to the new one); wait the handover settle,
 *                         cloud call, wait again, and the final write names the new node with handoverFrom
 *                         (requeued to drop it a settle later)
 *                         provider.apply(changes) ─► foldApplyResult: outcomes, held IPs, allocated IPs,
 *                         node descriptions to drop, the first retryable error
 *   final     write Ready / Assigned / Failed per IP, conditions (policies first: agents route by them;
 *             once stored, `statusesWritten` reports the outcome: failover timing), then the gateway status
 *             (with its Draining condition, a Warning when IPs newly cannot leave a leaving node, and its
 *             Preflight condition: the doctor's checks, the cluster's and the provider's with the cluster's
 *             facts, rate-limited, never run in a pass that changed the cloud, preflight-gate.ts); Events (after
 *             all the policies' statuses); metrics. Status writes run side by side (STATUS_WRITES_AT_ONCE).
 *             Log "reconciled changes" with the phases' times (read, pending, apply, final, total)
 *   release   decideRelease: policies being deleted, none of their IPs left in the cloud ─► remove their
 *             finalizer; gateway being deleted (it schedules nothing, so every IP is released), none left
 *             and its verification done ─► Released, remove its finalizer
 *   result    retryable cloud failure, or IPs of a deleted gateway still held ─► throw (work queue backs
 *             off); terminal ─► status + Warning only; else the outcome (decideOutcome), requeued when a
 *             verification is due
 * ```
 *
 * | object state                  | cloud                     | action                                     |
 * |-------------------------------|---------------------------|--------------------------------------------|
 * | policy live, admitted         | IP missing / elsewhere    | assign (move), Pending then Ready          |
 * | policy live, admitted         | IP on its node            | none; Ready                                |
 * | policy live, not admitted     | IP held                   | release; Accepted=False NamespaceNotAdmitted |
 * | policy deleting               | IP held                   | release, then remove finalizer             |
 * | policy deleting               | nothing held              | remove finalizer                           |
 * | gateway deleting              | IPs held                  | release all, then remove finalizer         |
 * | node failed / deleted         | IPs on it                 | move them to healthy nodes (same subnet)   |
 * | node leaving (drain, taints)  | IPs on it                 | planned moves to nodes that stay, cloud    |
 * |                               |                           | first; Drained Events; none fit: they stay,|
 * |                               |                           | Draining=True DrainBlocked + Warning       |
 * | IP removed in the cloud       | missing                   | assign again (found by the verification    |
 * |                               |                           | after a write, else on resync); Verifying  |
 * | IP released, still there      | held                      | release again (verification or resync)     |
 * | no ownership record (`none`)  | -                         | placement seeded from the policies' status |
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Node } from '@kubernetes/client-node';
import { CONDITION, REASON, type Reason } from '../api/conditions.ts';
import type { EgressGateway } from '../api/egress-gateway.ts';
import type { AnyEgressPolicy, EgressPolicyStatus } from '../api/egress-policy.ts';
import { deleting, policyKey } from '../kube/objects.ts';
import type { Logger } from '../log.ts';
import { DEFAULT_SUBNET_RESERVED } from '../provider/capabilities.ts';
import type { CloudProvider, ProviderSettings } from '../provider/contract.ts';
import { isProviderError } from '../provider/contract.ts';
import { type PoolOverlap, poolOverlaps } from '../scheduler/index.ts';
import type { ClusterFacts } from './cluster-checks.ts';
import { findCondition, setConditions } from './conditions.ts';
import { DEFAULT_HANDOVER_SETTLE_MS } from './controller-settings.ts';
import { decideAdmissions, type RejectedPolicy } from './decide-admission.ts';
import {
  type Applied,
  applyRefused,
  type BeforeApply,
  cloudAllocatedAfter,
  countChanges,
  foldApplyResult,
  nothingApplied,
} from './decide-apply.ts';
import { decideAssignmentEvents } from './decide-events.ts';
import { decideGatewayStatus, publicAddressesAfter, rejectedGatewayStatus } from './decide-gateway-status.ts';
import { decideOutcome, type GatewayOutcome } from './decide-outcome.ts';
import {
  decidePlan,
  nodeAddresses,
  type PlanDecision,
  seedFromStatus,
  selectedNodes,
  statusIPs,
} from './decide-plan.ts';
import { decidePolicyStatuses, type HandoverInput, rejectedPolicyStatus } from './decide-policy-status.ts';
import {
  decideProvider,
  decideSettings,
  type ProviderChoice,
  type ProviderDecision,
} from './decide-provider.ts';
import { decideRelease, type ReleaseDecision } from './decide-release.ts';
import { decideWriteRounds } from './decide-write-rounds.ts';
import type { EventRecorder } from './events.ts';
import type { FreshObjects } from './fresh-objects.ts';
import type { ObjectCaches } from './informer-caches.ts';
import type { ControllerMetrics } from './metrics.ts';
import { nodeRefs, withStatusNodes } from './node-ref.ts';
import { type ObjectWriter, statusChanged } from './object-writer.ts';
import { PreflightGate } from './preflight-gate.ts';
import type { ProviderPool } from './provider-pool.ts';
import { servedFamilies } from './served-families.ts';
import { VerificationSchedule, type VerificationTimings } from './verification-schedule.ts';
import { asWritten, reassert, unconfirmed, type Verdict, verifyWrites } from './verify-writes.ts';
import type { ReconcileResult } from './work-queue.ts';

/** What a gateway reconcile needs. */
export interface GatewayReconcilerDeps {
  readonly caches: ObjectCaches;
  readonly writer: ObjectWriter;
  readonly events: EventRecorder;
  readonly providers: ProviderPool;
  readonly fresh: FreshObjects;
  readonly metrics: ControllerMetrics;
  readonly providerChoice: ProviderChoice;
  /** Whether test-only providers may serve gateways. */
  readonly testProviders: boolean;
  readonly baseSettings: ProviderSettings;
  /** The health prober's verdict. */
  readonly healthy: (node: string, ready: boolean) => boolean;
  readonly now: () => Date;
  /** A gateway's preflight runs at most this often (default preflight-gate.ts). */
  readonly preflightIntervalMs?: number;
  /** Reads the cluster's facts for a preflight run (cluster-facts.ts); called only when one is due. */
  readonly clusterFacts: () => Promise<ClusterFacts>;
  /** When to read a gateway again after a write; default verification-schedule.ts's. */
  readonly verification?: VerificationTimings;
  /** Planned moves: the wait before and after the cloud call (controller-settings.ts). */
  readonly handoverSettleMs?: number;
  /**
   * Called in every pass once the policies' final statuses are stored (what agents route by), before the
   * gateway's own status: failover timing ends here.
   */
  readonly statusesWritten?: (gateway: string, outcome: GatewayOutcome) => void;
}

/** Thrown to retry with backoff after a retryable cloud failure (status already written). */
export class RetryableCloudError extends Error {
  override readonly name = 'RetryableCloudError';
}

/** What the read phase found in the caches. */
interface GatewayRead {
  readonly gateway: EgressGateway;
  readonly deleting: boolean;
  /** The nodes it selects. */
  readonly members: readonly V1Node[];
  /** Its policies (live or being deleted). */
  readonly mine: readonly AnyEgressPolicy[];
  /** The live policies of other gateways. */
  readonly others: readonly AnyEgressPolicy[];
  /** The other gateways that are not being deleted. */
  readonly otherGateways: readonly EgressGateway[];
}

const msSince = (mark: number) => Math.round(performance.now() - mark);

/** How long an IP the cloud said something else holds is skipped by fresh picks (explicit requests still try). */
const HELD_IN_CLOUD_MS = 5 * 60_000;

/** The plan phase's result: the decision, and what the read showed against what was written. */
interface Planned {
  readonly decision: PlanDecision;
  readonly verdict: Verdict;
  /** The cloud's read of the gateway's IPs, IP -> node (the plan may see missing IPs elsewhere). */
  readonly read: ReadonlyMap<string, string>;
}

/** Reconciles gateways; see the module comment. */
export class GatewayReconciler {
  readonly #d: GatewayReconcilerDeps;
  readonly #preflight: PreflightGate;
  /** IPs the cloud refused because something outside this installation holds them, until when (ms). */
  readonly #heldInCloud = new Map<string, number>();
  readonly #verification: VerificationSchedule;

  constructor(deps: GatewayReconcilerDeps) {
    this.#d = deps;
    this.#preflight = new PreflightGate(deps.preflightIntervalMs);
    this.#verification = new VerificationSchedule(deps.verification);
  }

  /** One pass over gateway `name`. */
  async reconcile(
    name: string,
    log: Logger,
  ): Promise<(ReconcileResult & { outcome?: GatewayOutcome }) | undefined> {
    const d = this.#d;
    const started = performance.now();
    const read = this.#read(name);
    if (!read) {
      this.#preflight.forget(name);
      this.#verification.forget(name);
      return undefined;
    }
    const choice = decideProvider(read.gateway, read.members, d.providerChoice, {
      testProviders: d.testProviders,
    });
    if (!choice.ok) return this.#rejectAll(read, choice, log);
    const provider = await d.providers.get(choice.name, decideSettings(read.gateway, d.baseSettings));
    log = log.child({ provider: provider.name });

    const { gateway, live, rejected } = await this.#admit(read);
    // Before any Pending: a rejected policy's status stops naming its IPs before another policy's names them.
    await this.#writeRejected(rejected);
    const cloudAllocatedIPs = gateway.status?.cloudAllocatedIPs ?? [];
    const {
      decision,
      verdict,
      read: cloudRead,
    } = await this.#plan(provider, read, gateway, live, cloudAllocatedIPs);
    const phases: Record<string, number> = { readMs: msSince(started) };
    // Scheduled before the cloud call: a pass that fails after it (a status write refused) still has its
    // writes verified, by the passes that follow.
    const verifyInMs = this.#verify(name, decision, verdict, log);
    const settleMs = d.handoverSettleMs ?? DEFAULT_HANDOVER_SETTLE_MS;
    const before: BeforeApply = { held: cloudRead, cloudAllocatedIPs };
    const verifying = unconfirmed(verdict);
    const applyStarted = performance.now();
    // Make-before-break needs the cloud to keep its own record: the status is the only one for `none`.
    const handover = {
      planned: provider.capabilities.ownershipRecord ? new Set(decision.planned.keys()) : new Set<string>(),
      settleMs,
    };
    const { policies, applied } = await this.#apply(
      provider,
      decision,
      live,
      { before, verifying, handover },
      phases,
      log,
    );
    const repick = this.#noteHeldInCloud(applied, decision, live);

    const finals = decidePolicyStatuses(
      decision,
      policies,
      'final',
      applied.outcomes,
      d.now(),
      verifying,
      handover,
    );
    const { outcome, states } = decideOutcome({
      policies: live,
      statuses: finals,
      current: cloudRead,
      held: applied.held,
      leaving: [...read.mine.filter(deleting), ...rejected.map((r) => r.policy)],
    });
    await this.#writeFinalStatuses(live, policies, finals, decision);
    d.statusesWritten?.(name, outcome);
    if (decision.changes.length > 0) phases['finalMs'] = msSince(started);
    this.#recordPlannedMoves(name, decision, applied, applyStarted, log);
    const overlaps = poolOverlaps(
      gateway.spec.ips ?? [],
      read.otherGateways.map((g) => ({ name: g.metadata.name, pool: g.spec.ips ?? [] })),
    );
    const stored = await this.#writeGatewayStatus(
      gateway,
      provider,
      decision,
      applied,
      read.members,
      overlaps,
    );
    d.metrics.recordGateway(name, decision.nodes, applied.held, states, decision.plan.stranded.length);
    if (decision.changes.length > 0) {
      log.info({ ...phases, totalMs: msSince(started) }, 'reconciled changes');
    }

    const release = decideRelease({
      policies: read.mine,
      gatewayDeleting: read.deleting,
      held: applied.held,
      placements: decision.plan.placements,
      spare: decision.spare,
    });
    // A deleted gateway goes only once its releases are verified: a late write found after that would leak.
    await this.#removeFinalizers(release, stored, verifyInMs === undefined, log);
    const retryable =
      applied.retryable ??
      (release.gateway === 'waiting'
        ? new RetryableCloudError(`${applied.held.size} IPs of the deleted gateway are still held`)
        : undefined);
    if (retryable) throw retryable;
    // The cloud picked new IPs in this pass: they join the pool now, so plan again at once to hand them out.
    const allocatedMore = applied.cloudAllocatedIPs.some((ip) => !cloudAllocatedIPs.includes(ip));
    // A handover's old gateway keeps copying until a pass a settle later drops handoverFrom.
    const handingOver = finals.some((f) => f.assignments?.some((a) => a.handoverFrom !== undefined));
    const afterHandover = handingOver ? Math.min(verifyInMs ?? settleMs, settleMs) : verifyInMs;
    const requeueAfterMs = allocatedMore || repick ? 0 : afterHandover;
    return requeueAfterMs === undefined ? { outcome } : { requeueAfterMs, outcome };
  }

  /**
   * Counts and times the planned moves that landed (the IP held where the plan put it): from the start of
   * the apply phase to the final status written, when the agents switch.
   */
  #recordPlannedMoves(
    name: string,
    decision: PlanDecision,
    applied: Applied,
    since: number,
    log: Logger,
  ): void {
    const landed = [...decision.planned].filter(([ip, move]) => applied.held.get(ip) === move.to);
    if (landed.length === 0) return;
    const ms = performance.now() - since;
    this.#d.metrics.plannedMoves.inc({ gateway: name }, landed.length);
    this.#d.metrics.plannedMoveDuration.observe({ gateway: name }, ms / 1000);
    const from = [...new Set(landed.map(([, m]) => m.from))];
    log.info({ ips: landed.length, from, ms: Math.round(ms) }, 'planned moves done');
  }

  /**
   * Remembers the IPs the cloud said something else holds, so that fresh picks skip them; true when a count
   * policy got one (it takes another IP in a new pass at once; each pass skips one more, so this ends).
   */
  #noteHeldInCloud(applied: Applied, decision: PlanDecision, live: readonly AnyEgressPolicy[]): boolean {
    const until = this.#d.now().getTime() + HELD_IN_CLOUD_MS;
    const counting = new Set(live.filter((p) => !p.spec.egressIPs).map(policyKey));
    const byIP = new Map(decision.plan.placements.map((p) => [p.ip, p.policy]));
    let repick = false;
    for (const { change, error } of applied.failed) {
      if (error.heldBy === undefined || change.kind !== 'assign') continue;
      this.#heldInCloud.set(change.ip, until);
      if (counting.has(byIP.get(change.ip) ?? '')) repick = true;
    }
    return repick;
  }

  /** The IPs the cloud said lately that something else holds (forgetting those older than HELD_IN_CLOUD_MS). */
  #recentlyHeldInCloud(): Set<string> {
    const now = this.#d.now().getTime();
    for (const [ip, until] of this.#heldInCloud) if (until <= now) this.#heldInCloud.delete(ip);
    return new Set(this.#heldInCloud.keys());
  }

  /** Verify: the disagreements counted and logged; when to read the gateway again (undefined: not due). */
  #verify(name: string, decision: PlanDecision, verdict: Verdict, log: Logger): number | undefined {
    const { missing, unexpected } = verdict;
    if (missing.size > 0)
      this.#d.metrics.cloudDisagreements.inc({ gateway: name, kind: 'missing' }, missing.size);
    if (unexpected.size > 0) {
      this.#d.metrics.cloudDisagreements.inc({ gateway: name, kind: 'unexpected' }, unexpected.size);
    }
    if (missing.size > 0 || unexpected.size > 0) {
      log.warn(
        { missing: [...missing.values()], unexpected: Object.fromEntries(unexpected) },
        'the cloud does not hold what it acknowledged; repairing',
      );
    }
    const repairs = new Set([...missing.keys(), ...unexpected.keys()]);
    return this.#verification.after(name, {
      wrote: decision.changes.some((c) => c.kind === 'allocate' || !repairs.has(c.ip)),
      disagreed: repairs.size > 0,
    });
  }

  /** Read: the gateway, its nodes and the policies, as last written (read-your-writes over the caches). */
  #read(name: string): GatewayRead | undefined {
    const { caches, fresh } = this.#d;
    const cached = caches.gateway(name);
    if (!cached) return undefined;
    const gateway = fresh.resolve(cached);
    const members = selectedNodes(gateway, caches.nodes());
    const all = caches.policies().map((p) => fresh.resolve(p));
    return {
      gateway,
      deleting: deleting(gateway),
      members,
      mine: all.filter((p) => p.spec.gatewayName === name),
      others: all.filter((p) => p.spec.gatewayName !== name && !deleting(p)),
      otherGateways: caches
        .gateways()
        .filter((g) => g.metadata.name !== name && !deleting(g))
        .map((g) => fresh.resolve(g)),
    };
  }

  /**
   * The provider cannot be used: every object says why; no cloud call. The policies keep their assignments (the
   * cloud still holds them). A gateway being deleted keeps its finalizer while its policies or its status name
   * IPs, since none can be released: fixing the annotation (or the nodes) lets the deletion complete.
   */
  async #rejectAll(
    read: GatewayRead,
    rejection: ProviderDecision & { ok: false },
    log: Logger,
  ): Promise<undefined> {
    const { writer, events, now } = this.#d;
    log.warn({ reason: rejection.reason }, rejection.message);
    for (const policy of read.mine.filter((p) => !deleting(p))) {
      await writer.writeStatus(policy, rejectedPolicyStatus(policy, rejection, now(), true));
      void events.warning(policy, rejection.reason, rejection.message);
    }
    const held = new Set([
      ...read.mine.flatMap(statusIPs),
      ...(read.gateway.status?.cloudAllocatedIPs ?? []),
    ]);
    const stuck =
      read.deleting && held.size > 0
        ? {
            ...rejection,
            message: `${rejection.message}; being deleted, but cannot release its ${held.size} egress IP(s) in the cloud until then, so the deletion waits`,
          }
        : rejection;
    await writer.writeStatus(read.gateway, rejectedGatewayStatus(read.gateway, stuck, now()));
    void events.warning(read.gateway, stuck.reason, stuck.message);
    if (read.deleting && held.size === 0) await writer.removeFinalizer(read.gateway);
    else if (read.deleting)
      log.warn({ ips: held.size }, 'gateway deleted while its provider is unknown: waiting');
    return undefined;
  }

  /** Admit: the finalizer on the gateway (unless deleting), then on the admitted policies, side by side. */
  async #admit(read: GatewayRead): Promise<{
    gateway: EgressGateway;
    live: AnyEgressPolicy[];
    rejected: readonly RejectedPolicy[];
  }> {
    const { writer, caches } = this.#d;
    const gateway = read.deleting ? read.gateway : await writer.addFinalizer(read.gateway);
    const { admitted, rejected } = decideAdmissions({
      gateway,
      gatewayDeleting: read.deleting,
      policies: read.mine,
      namespace: (ns) => caches.namespace(ns),
    });
    const live = await writer.addFinalizers(admitted);
    return { gateway, live, rejected };
  }

  /**
   * Plan: the cloud's truth about the gateway's nodes and IPs, then the scheduler's plan and changes; the read
   * checked against the statuses (verify-writes.ts), and planned again with the missing IPs where they were
   * written when some are.
   */
  async #plan(
    provider: CloudProvider,
    read: GatewayRead,
    gateway: EgressGateway,
    live: readonly AnyEgressPolicy[],
    cloudAllocatedIPs: readonly string[],
  ): Promise<Planned> {
    const members = nodeRefs(read.members);
    const networks = await this.#d.providers.describeAll(provider, [...members.values()]);
    const refs = withStatusNodes(members, read.mine, this.#d.caches.nodes());
    const listed = await provider.listAssignments([...refs.values()]);
    // Without an ownership record in the cloud, the policies' status is the only record of the placement.
    const current = provider.capabilities.ownershipRecord ? listed : seedFromStatus(listed, read.mine);
    const input = {
      gateway,
      members: read.members,
      networks,
      healthy: this.#d.healthy,
      policies: live,
      otherPolicies: read.others,
      otherGateways: read.otherGateways,
      nodeAddresses: nodeAddresses(this.#d.caches.nodes()),
      subnetReserved: provider.capabilities.subnetReserved ?? DEFAULT_SUBNET_RESERVED,
      current,
      refs,
      cloudAllocatedIPs: [...cloudAllocatedIPs],
      heldInCloud: this.#recentlyHeldInCloud(),
      served: servedFamilies(provider),
    };
    const first = decidePlan(input);
    const cloudRead = first.input.current;
    const verdict = verifyWrites({
      gateway,
      live,
      policies: read.mine,
      read: cloudRead,
      mayHold: new Set(first.nodes.filter((n) => n.healthy).map((n) => n.name)),
    });
    if (verdict.missing.size === 0) return { decision: first, verdict, read: cloudRead };
    const second = decidePlan({ ...input, current: asWritten(current, verdict) });
    const changes = reassert(second.changes, second.plan, verdict, refs);
    return { decision: { ...second, changes }, verdict, read: cloudRead };
  }

  /**
   * Apply: Pending for the changing IPs, then the cloud call. Returns the policies as stored after the
   * Pending write (in the order of `live`) and what the call changed. A retryable or unclassified throw
   * from the provider propagates (the work queue backs off).
   */
  async #apply(
    provider: CloudProvider,
    decision: PlanDecision,
    live: readonly AnyEgressPolicy[],
    pass: { before: BeforeApply; verifying: ReadonlyMap<string, string>; handover: HandoverInput },
    phases: Record<string, number>,
    log: Logger,
  ): Promise<{ policies: readonly AnyEgressPolicy[]; applied: Applied }> {
    const { before, verifying, handover } = pass;
    if (decision.changes.length === 0) return { policies: live, applied: nothingApplied(before) };
    const { providers, now } = this.#d;
    let mark = performance.now();
    const pending = decidePolicyStatuses(decision, live, 'pending', new Map(), now(), verifying, handover);
    const policies = await this.#writeInRounds(live, pending);
    phases['pendingMs'] = msSince(mark);
    // Planned moves: the agents program both gateways (and the copy) before the cloud moves the IP.
    const planned = handover.planned.size > 0;
    if (planned) await sleep(handover.settleMs);
    log.info({ ...countChanges(decision.changes), ...phases }, 'applying changes in the cloud');
    mark = performance.now();
    let applied: Applied;
    try {
      const result = await provider.apply({ changes: decision.changes });
      phases['applyMs'] = msSince(mark);
      applied = foldApplyResult(result, before);
      // ... and the cloud's data plane follows the move before the agents switch to the new gateway.
      if (planned) await sleep(handover.settleMs);
    } catch (err) {
      if (!isProviderError(err) || err.retryable) throw err;
      return { policies, applied: applyRefused(decision.changes, err, before) };
    }
    for (const { change, error } of applied.failed) log.warn({ change, err: error }, 'cloud change failed');
    for (const node of applied.invalidate) providers.invalidate(node);
    return { policies, applied };
  }

  /**
   * The policies' final statuses, side by side (agents route by them, so they go before the gateway's),
   * then their Events. `live` are the policies as read (the Events compare with their status),
   * `stored` as stored after the Pending write.
   */
  async #writeFinalStatuses(
    live: readonly AnyEgressPolicy[],
    stored: readonly AnyEgressPolicy[],
    finals: readonly EgressPolicyStatus[],
    decision: PlanDecision,
  ): Promise<void> {
    await this.#writeInRounds(stored, finals);
    const leaving = new Map([...decision.planned.values()].map((m) => [m.from, m.signal]));
    // The Events after every status: on a failover they would compete with the status writes agents wait for.
    for (const [i, policy] of live.entries())
      this.#d.events.recordAll(policy, decideAssignmentEvents(policy.status, finals[i]!, leaving));
  }

  /**
   * Writes `statuses[i]` on `policies[i]` in the rounds of {@link decideWriteRounds} (IPs given up before IPs
   * taken), each round side by side; returns the policies as stored.
   */
  async #writeInRounds(
    policies: readonly AnyEgressPolicy[],
    statuses: readonly EgressPolicyStatus[],
  ): Promise<readonly AnyEgressPolicy[]> {
    const { writer } = this.#d;
    let stored = policies;
    for (const round of decideWriteRounds(policies, statuses)) {
      stored = await writer.sideBySide(stored, async (policy, i) => {
        const status = round[i];
        return status ? ((await writer.writeStatus(policy, status)) ?? policy) : policy;
      });
    }
    return stored;
  }

  /** The rejected policies' statuses, with a Warning when the status changes. */
  async #writeRejected(rejected: readonly RejectedPolicy[]): Promise<void> {
    const { writer, events, now } = this.#d;
    await writer.sideBySide(rejected, async (r) => {
      const status = rejectedPolicyStatus(r.policy, r, now());
      if (statusChanged(r.policy, status)) void events.warning(r.policy, r.reason, r.message);
      await writer.writeStatus(r.policy, status);
    });
  }

  /**
   * The gateway's status, with its Preflight condition when the provider has checks, and a Warning when its pool
   * newly overlaps another's; returns the gateway as stored.
   */
  async #writeGatewayStatus(
    gateway: EgressGateway,
    provider: CloudProvider,
    decision: PlanDecision,
    applied: Applied,
    members: readonly V1Node[],
    overlaps: readonly PoolOverlap[],
  ): Promise<EgressGateway> {
    const status = decideGatewayStatus({
      gateway,
      provider: provider.name,
      nodes: decision.nodes,
      held: applied.held,
      cloudAllocatedIPs: cloudAllocatedAfter(applied, new Set(decision.plan.placements.map((p) => p.ip))),
      overlaps,
      stranded: decision.plan.stranded,
      publicAddresses: publicAddressesAfter(decision.publicBefore, applied.outcomes, applied.held),
      publicIps: decision.publicIps,
      served: decision.served,
      now: this.#d.now(),
    });
    for (const [type, reason] of [
      [CONDITION.Conflicted, undefined],
      [CONDITION.Draining, REASON.DrainBlocked],
    ] as const) {
      const before = findCondition(gateway.status?.conditions, type);
      const after = findCondition(status.conditions, type);
      if (after?.status !== 'True' || (reason !== undefined && after.reason !== reason)) continue;
      if (before?.status !== 'True' || before.reason !== after.reason || before.message !== after.message)
        void this.#d.events.warning(gateway, after.reason as Reason, after.message);
    }
    const preflight = await this.#preflight.condition(
      gateway.metadata.name,
      gateway.metadata.generation,
      provider,
      [...nodeRefs(members).values()],
      decision.changes.length === 0,
      this.#d.clusterFacts,
    );
    const withPreflight = preflight
      ? { ...status, conditions: setConditions(status.conditions, [preflight], this.#d.now()) }
      : status;
    return (await this.#d.writer.writeStatus(gateway, withPreflight)) ?? gateway;
  }

  /**
   * Release: the finalizers that {@link decideRelease} lets go; the gateway's only when `verified` (no
   * verification of its releases is due).
   */
  async #removeFinalizers(
    release: ReleaseDecision,
    gateway: EgressGateway,
    verified: boolean,
    log: Logger,
  ): Promise<void> {
    const { writer, events } = this.#d;
    for (const { policy, left } of release.policies) {
      if (left.length === 0) {
        await writer.removeFinalizer(policy);
        log.info({ policy: policyKey(policy) }, 'policy deleted; its IPs are released');
      } else {
        log.info({ policy: policyKey(policy), left }, 'waiting for IP release before removing the finalizer');
      }
    }
    if (release.gateway === 'released' && !verified) {
      log.info('every egress IP of the deleted gateway is released; verifying before removing the finalizer');
    } else if (release.gateway === 'released') {
      void events.normal(gateway, REASON.Released, 'every egress IP of the gateway is released');
      await writer.removeFinalizer(gateway);
    }
  }
}
