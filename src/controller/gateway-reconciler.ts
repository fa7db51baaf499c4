/**
 * @module
 * The gateway reconciler: one level-triggered pass over one EgressGateway, its nodes and its policies.
 * Decisions come from the pure `decide-*` modules; this file only reads, calls and writes.
 *
 * ```
 * reconcile(EgressGateway/<name>)
 *   gateway gone ─────────────────────────────────────────────────────────────────► done
 *   provider unknown / mixed ──► Accepted=False on gateway and its policies, Warning ► done (no cloud call)
 *   add finalizers (gateway, live policies)
 *   read the cloud: describeNode (cached) per selected node, listAssignments
 *   decidePlan: admitted live policies ─► scheduler ─► changes
 *   ┌ changes? ── write Pending for the IPs that change (status BEFORE the cloud call)
 *   │            provider.apply(changes)
 *   └──────────► write Ready / Assigned / Failed per IP, conditions (policies first: agents route by
 *                them), then the gateway status; Events. Status writes run side by side
 *                (STATUS_WRITES_AT_ONCE).
 *   log "reconciled changes" with the phases' times (read, pending, apply, final, total)
 *   policies being deleted: none of their IPs left in the cloud ─► remove their finalizer
 *   gateway being deleted:  (it schedules nothing, so every IP is released) none left ─► remove its finalizer
 *   retryable cloud failure ─► throw (work queue backs off); terminal ─► status + Warning only
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
 * | IP removed in the cloud       | missing                   | assign again (drift repaired on resync)    |
 * | provider `none` (no record)   | -                         | placement seeded from the policies' status |
 */
import type { V1Namespace, V1Node } from '@kubernetes/client-node';
import { REASON } from '../api/conditions.ts';
import type { EgressGateway } from '../api/egress-gateway.ts';
import { type AnyEgressPolicy, ASSIGNMENT_STATE, type EgressPolicyStatus } from '../api/egress-policy.ts';
import { selectorMatches } from '../kube/label-selector.ts';
import { deleting, policyKey } from '../kube/objects.ts';
import type { Logger } from '../log.ts';
import type { ChangeOutcome, CloudProvider, NodeRef, ProviderSettings } from '../provider/contract.ts';
import { isProviderError } from '../provider/contract.ts';
import { decideAdmission } from './decide-admission.ts';
import { decideAssignmentEvents } from './decide-events.ts';
import { decideGatewayStatus, type GatewayNodeView, rejectedGatewayStatus } from './decide-gateway-status.ts';
import { decidePlan, type NodeNetworkResult, seedFromStatus, statusIPs } from './decide-plan.ts';
import { decidePolicyStatus, rejectedPolicyStatus } from './decide-policy-status.ts';
import { decideProvider, decideSettings, type ProviderChoice } from './decide-provider.ts';
import type { EventRecorder } from './events.ts';
import type { FreshObjects } from './fresh-objects.ts';
import type { ControllerMetrics } from './metrics.ts';
import { nodeRef } from './node-ref.ts';
import { type ObjectWriter, statusChanged } from './object-writer.ts';
import type { ProviderPool } from './provider-pool.ts';
import type { ReconcileResult } from './work-queue.ts';

/** Read access to the informer caches. */
export interface ObjectCaches {
  gateway(name: string): EgressGateway | undefined;
  policies(): readonly AnyEgressPolicy[];
  nodes(): readonly V1Node[];
  namespace(name: string): V1Namespace | undefined;
}

/** What a gateway reconcile needs. */
export interface GatewayReconcilerDeps {
  readonly caches: ObjectCaches;
  readonly writer: ObjectWriter;
  readonly events: EventRecorder;
  readonly providers: ProviderPool;
  readonly fresh: FreshObjects;
  readonly metrics: ControllerMetrics;
  readonly providerChoice: ProviderChoice;
  readonly baseSettings: ProviderSettings;
  /** The health prober's verdict. */
  readonly healthy: (node: string, ready: boolean) => boolean;
  readonly now: () => Date;
}

/** What one reconcile found, for failover tracking and for other gateways. */
export interface GatewayOutcome {
  /** IP -> node where the cloud holds the gateway's IPs after the reconcile. */
  readonly held: ReadonlyMap<string, string>;
  /** IPs Ready in the policies' statuses. */
  readonly ready: ReadonlySet<string>;
  /**
   * A policy's status dropped IPs this gateway does not hold (e.g. the policy came from another gateway):
   * the other gateways should look again, as they may hold them.
   */
  readonly droppedForeignIPs: boolean;
}

/** Thrown to retry with backoff after a retryable cloud failure (status already written). */
export class RetryableCloudError extends Error {
  override readonly name = 'RetryableCloudError';
}

/** Reconciles gateways; see the module comment. */
export class GatewayReconciler {
  readonly #d: GatewayReconcilerDeps;

  constructor(deps: GatewayReconcilerDeps) {
    this.#d = deps;
  }

  /** One pass over gateway `name`. */
  async reconcile(
    name: string,
    log: Logger,
  ): Promise<(ReconcileResult & { outcome?: GatewayOutcome }) | undefined> {
    const d = this.#d;
    const started = performance.now();
    const cached = d.caches.gateway(name);
    if (!cached) return undefined;
    let gateway = d.fresh.resolve(cached);
    const gatewayDeleting = deleting(gateway);
    const members = d.caches
      .nodes()
      .filter(
        (n) =>
          !n.metadata?.deletionTimestamp && selectorMatches(gateway.spec.nodeSelector, n.metadata?.labels),
      );
    const all = d.caches.policies().map((p) => d.fresh.resolve(p));
    const mine = all.filter((p) => p.spec.gatewayName === name);

    const providerDecision = decideProvider(gateway, members, d.providerChoice);
    if (!providerDecision.ok) {
      log.warn({ reason: providerDecision.reason }, providerDecision.message);
      await this.#d.writer.writeStatus(gateway, rejectedGatewayStatus(gateway, providerDecision, d.now()));
      void d.events.warning(gateway, providerDecision.reason, providerDecision.message);
      for (const policy of mine.filter((p) => !deleting(p))) {
        await this.#d.writer.writeStatus(policy, rejectedPolicyStatus(policy, providerDecision, d.now()));
        void d.events.warning(policy, providerDecision.reason, providerDecision.message);
      }
      if (gatewayDeleting) {
        log.warn('gateway deleted while its provider is unknown: no cloud IP could be released');
        await this.#d.writer.removeFinalizer(gateway);
      }
      return undefined;
    }
    const provider = await d.providers.get(providerDecision.name, decideSettings(gateway, d.baseSettings));
    log = log.child({ provider: provider.name });
    if (!gatewayDeleting) gateway = await this.#d.writer.addFinalizer(gateway);

    // Admission and liveness.
    const live: AnyEgressPolicy[] = [];
    const rejected: {
      policy: AnyEgressPolicy;
      reason: typeof REASON.NamespaceNotAdmitted;
      message: string;
    }[] = [];
    if (!gatewayDeleting) {
      for (const policy of mine) {
        if (deleting(policy)) continue;
        const ns = policy.metadata.namespace ? d.caches.namespace(policy.metadata.namespace) : undefined;
        const admission = decideAdmission(policy, gateway, ns);
        if (admission.admitted) live.push(await this.#d.writer.addFinalizer(policy));
        else rejected.push({ policy, reason: admission.reason, message: admission.message });
      }
    }
    const others = all.filter((p) => p.spec.gatewayName !== name && !deleting(p));

    // The cloud's truth.
    const refs = new Map<string, NodeRef>();
    for (const node of members) {
      const ref = nodeRef(node);
      if (ref) refs.set(ref.name, ref);
    }
    const networks = await this.#describe(provider, [...refs.values()]);
    const byName = new Map(d.caches.nodes().map((n) => [n.metadata?.name ?? '', n]));
    for (const policy of mine) {
      for (const a of policy.status?.assignments ?? []) {
        const node = a.node ? byName.get(a.node) : undefined;
        const ref = node ? nodeRef(node) : undefined;
        if (ref && !refs.has(ref.name)) refs.set(ref.name, ref);
      }
    }
    const listed = await provider.listAssignments([...refs.values()]);
    // Without an ownership record in the cloud, the policies' status is the only record of the placement.
    const current = provider.capabilities.ownershipRecord ? listed : seedFromStatus(listed, mine);
    let cloudAllocatedIPs = [...(gateway.status?.cloudAllocatedIPs ?? [])];

    const decision = decidePlan({
      gateway,
      members,
      networks,
      healthy: d.healthy,
      policies: live,
      otherPolicies: others,
      current,
      refs,
      cloudAllocatedIPs,
    });
    const healthyNodes = new Set(decision.nodes.filter((n) => n.healthy).map((n) => n.name));
    const healthy = (node: string) => healthyNodes.has(node);
    const changing = new Set(decision.changes.flatMap((c) => (c.kind === 'assign' ? [c.ip] : [])));
    const byPolicy = <T extends { policy: string }>(items: readonly T[], key: string) =>
      items.filter((i) => i.policy === key);
    const statusFor = (
      policy: AnyEgressPolicy,
      phase: 'pending' | 'final',
      outcomes: Map<string, ChangeOutcome>,
    ) =>
      decidePolicyStatus({
        policy,
        placements: byPolicy(decision.plan.placements, policyKey(policy)),
        unplaced: byPolicy(decision.plan.unplaced, policyKey(policy)),
        phase,
        outcomes,
        changing,
        healthy,
        now: d.now(),
      });

    // Pending before the cloud call.
    const written = new Map<string, AnyEgressPolicy>();
    const outcomes = new Map<string, ChangeOutcome>();
    let retryable: unknown;
    const held = new Map(decision.input.current);
    const phases: Record<string, number> = { readMs: Math.round(performance.now() - started) };
    if (decision.changes.length > 0) {
      let mark = performance.now();
      await d.writer.sideBySide(live, async (policy) => {
        const pending = statusFor(policy, 'pending', outcomes);
        written.set(policyKey(policy), (await d.writer.writeStatus(policy, pending)) ?? policy);
      });
      phases['pendingMs'] = Math.round(performance.now() - mark);
      log.info(
        {
          assign: decision.changes.filter((c) => c.kind === 'assign').length,
          release: decision.changes.filter((c) => c.kind === 'release').length,
          allocate: decision.changes.filter((c) => c.kind === 'allocate').length,
          ...phases,
        },
        'applying changes in the cloud',
      );
      mark = performance.now();
      try {
        const result = await provider.apply({ changes: decision.changes });
        phases['applyMs'] = Math.round(performance.now() - mark);
        for (const outcome of result.outcomes) {
          const change = outcome.change;
          if (change.kind === 'allocate') {
            if (outcome.ok && outcome.allocated) {
              cloudAllocatedIPs = [...new Set([...cloudAllocatedIPs, ...outcome.allocated])];
              for (const ip of outcome.allocated) held.set(ip, change.node.name);
            }
          } else {
            outcomes.set(change.ip, outcome);
            if (outcome.ok) {
              if (change.kind === 'assign') held.set(change.ip, change.node.name);
              else held.delete(change.ip);
            }
          }
          if (!outcome.ok) {
            log.warn({ change, err: outcome.error }, 'cloud change failed');
            if (outcome.error.kind === 'capacity' || outcome.error.kind === 'notFound') {
              d.providers.invalidate(change.node.name);
            }
            if (outcome.error.retryable) retryable ??= outcome.error;
          }
        }
      } catch (err) {
        if (!isProviderError(err) || err.retryable) throw err;
        for (const change of decision.changes) {
          if (change.kind !== 'allocate') outcomes.set(change.ip, { change, ok: false, error: err });
        }
      }
    }

    // Final status, events.
    const readyIPs = new Set<string>();
    let droppedForeignIPs = false;
    const states: Record<string, number> = { Pending: 0, Assigned: 0, Ready: 0, Failed: 0 };
    const finals = live.map((policy) => {
      const base = written.get(policyKey(policy)) ?? policy;
      const status = statusFor(base, 'final', outcomes);
      for (const a of status.assignments ?? []) {
        states[a.state] = (states[a.state] ?? 0) + 1;
        if (a.ip && a.state === ASSIGNMENT_STATE.Ready) readyIPs.add(a.ip);
      }
      const kept = new Set((status.assignments ?? []).flatMap((a) => (a.ip ? [a.ip] : [])));
      if (statusIPs(policy).some((ip) => !kept.has(ip) && !decision.input.current.has(ip)))
        droppedForeignIPs = true;
      return { policy, base, status };
    });
    // The policies' statuses are what the agents route by: written first, side by side.
    await d.writer.sideBySide(finals, async ({ policy, base, status }) => {
      await d.writer.writeStatus(base, status);
      this.#emitAssignmentEvents(policy, status);
    });
    if (decision.changes.length > 0) phases['finalMs'] = Math.round(performance.now() - started);
    await d.writer.sideBySide(rejected, async (r) => {
      const status = rejectedPolicyStatus(r.policy, r, d.now());
      if (statusChanged(r.policy, status)) void d.events.warning(r.policy, r.reason, r.message);
      await d.writer.writeStatus(r.policy, status);
    });
    const gatewayStatus = decideGatewayStatus({
      gateway,
      provider: provider.name,
      nodes: decision.nodes,
      held,
      cloudAllocatedIPs,
      now: d.now(),
    });
    gateway = (await this.#d.writer.writeStatus(gateway, gatewayStatus)) ?? gateway;
    this.#recordMetrics(name, decision.nodes, held, states);
    if (decision.changes.length > 0) {
      log.info({ ...phases, totalMs: Math.round(performance.now() - started) }, 'reconciled changes');
    }

    // Finalizers of what is being deleted: only once none of its IPs is left in the cloud.
    const placed = new Set(decision.plan.placements.map((p) => p.ip));
    for (const policy of mine.filter(deleting)) {
      const left = statusIPs(policy).filter((ip) => held.has(ip) && !placed.has(ip));
      if (left.length === 0) {
        await this.#d.writer.removeFinalizer(policy);
        log.info({ policy: policyKey(policy) }, 'policy deleted; its IPs are released');
      } else {
        log.info({ policy: policyKey(policy), left }, 'waiting for IP release before removing the finalizer');
      }
    }
    if (gatewayDeleting) {
      if (held.size === 0) {
        void d.events.normal(gateway, REASON.Released, 'every egress IP of the gateway is released');
        await this.#d.writer.removeFinalizer(gateway);
      } else {
        retryable ??= new RetryableCloudError(`${held.size} IPs of the deleted gateway are still held`);
      }
    }
    if (retryable) throw retryable;
    const outcome: GatewayOutcome = { held, ready: readyIPs, droppedForeignIPs };
    const allocatedMore = cloudAllocatedIPs.length > (gateway.status?.cloudAllocatedIPs?.length ?? 0);
    return allocatedMore ? { requeueAfterMs: 0, outcome } : { outcome };
  }

  async #describe(
    provider: CloudProvider,
    refs: readonly NodeRef[],
  ): Promise<Map<string, NodeNetworkResult>> {
    const results = await Promise.all(
      refs.map(async (ref): Promise<[string, NodeNetworkResult]> => {
        try {
          return [ref.name, { ok: true, network: await this.#d.providers.describe(provider, ref) }];
        } catch (err) {
          if (isProviderError(err) && err.retryable) throw err;
          return [ref.name, { ok: false, message: err instanceof Error ? err.message : String(err) }];
        }
      }),
    );
    return new Map(results);
  }

  #emitAssignmentEvents(before: AnyEgressPolicy, after: EgressPolicyStatus): void {
    for (const e of decideAssignmentEvents(before.status, after)) {
      void (e.type === 'Warning'
        ? this.#d.events.warning(before, e.reason, e.message)
        : this.#d.events.normal(before, e.reason, e.message));
    }
  }

  #recordMetrics(
    name: string,
    nodes: readonly GatewayNodeView[],
    held: ReadonlyMap<string, string>,
    states: Readonly<Record<string, number>>,
  ): void {
    const m = this.#d.metrics;
    for (const [state, n] of Object.entries(states)) m.ips.set({ gateway: name, state }, n);
    const healthy = nodes.filter((n) => n.healthy);
    m.nodesHealthy.set({ gateway: name }, healthy.length);
    m.capacity.set(
      { gateway: name },
      healthy.reduce((sum, n) => sum + (n.network ? n.network.ownedIPs.length + n.network.freeSlots : 0), 0),
    );
    m.used.set({ gateway: name }, held.size);
  }
}
