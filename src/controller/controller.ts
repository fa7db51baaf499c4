/**
 * @module
 * The controller: informers, leader election, the work queue, the health prober and the periodic resync,
 * wired to the gateway and policy reconcilers. Event routing (event-routing.ts), the leader's session
 * (leader-session.ts) and failover timing (failover-tracker.ts) live in their own modules.
 *
 * ```
 *  informers (always, so a standby has warm caches) ──events──┐ EventRouter
 *  health prober (leader only) ──node failed/recovered────────┤ (a failed node's gateways: urgent)
 *  resync timer (leader only) ──every gateway, every period───┼──► work queue (leader only) ──► reconcilers
 *                                                             │    (urgent keys before normal ones)
 *  leader elector: started leading ─► LeaderSession: queue + prober + resync, every object queued
 *                  stopped leading  ─► queue drained and stopped, prober stopped
 *  a gateway's policy statuses stored ─► FailoverTracker (failover timing)
 *  gateway reconciled ─► dropped foreign IPs ─► the other gateways queued
 * ```
 *
 * Keys: `EgressGateway/<name>` (the unit of scheduling), `EgressPolicy/<ns>/<name>` and
 * `ClusterEgressPolicy/<name>` (only to report a missing gateway; otherwise handed to the gateway).
 */
import { randomUUID } from 'node:crypto';
import type { KubeConfig, V1Node } from '@kubernetes/client-node';
import { REASON } from '../api/conditions.ts';
import { createKubeApi, type KubeApi, type KubeLists } from '../kube/kube-api.ts';
import { gatewayKey, parseKey } from '../kube/objects.ts';
import { type Logger, silentLogger } from '../log.ts';
import { readClusterFacts } from './cluster-facts.ts';
import type { ControllerSettings } from './controller-settings.ts';
import { EventRouter, gatewaySelects, probeTargets } from './event-routing.ts';
import { EventRecorder } from './events.ts';
import { FailoverTracker } from './failover-tracker.ts';
import { FreshObjects } from './fresh-objects.ts';
import { GatewayReconciler } from './gateway-reconciler.ts';
import { InformerCaches } from './informer-caches.ts';
import { LeaderElector } from './leader-election.ts';
import { LeaderSession } from './leader-session.ts';
import { ControllerMetrics } from './metrics.ts';
import { ObjectWriter } from './object-writer.ts';
import { reconcilePolicy } from './policy-reconciler.ts';
import { DEFAULT_PREFLIGHT_INTERVAL_MS } from './preflight-gate.ts';
import { type ProviderMaker, ProviderPool, registryProviderMaker } from './provider-pool.ts';
import { createVpcCniProbe } from './vpc-cni-probe.ts';
import { TerminalError } from './work-queue.ts';

/** Options of a {@link Controller}. */
export interface ControllerOptions {
  readonly kubeConfig: KubeConfig;
  readonly settings: ControllerSettings;
  /** This replica's identity (pod name); default a random one. */
  readonly identity?: string;
  /** Makes providers; default the registry. Tests pass one over a shared in-memory cloud. */
  readonly providerMaker?: ProviderMaker;
  /** The Kubernetes calls; default over client-node. */
  readonly kubeApi?: KubeApi & { lists: KubeLists };
  /** Sends one agent health probe; default HTTP GET /healthz. */
  readonly probe?: (address: string, port: number, timeoutMs: number) => Promise<void>;
  readonly metrics?: ControllerMetrics;
  readonly logger?: Logger;
  /** Called when all IPs of a failed node are Ready elsewhere, with the time since the failure was detected. */
  readonly onFailover?: (node: string, ms: number) => void;
}

/** See the module comment. */
export class Controller {
  readonly metrics: ControllerMetrics;
  readonly identity: string;
  readonly #o: ControllerOptions;
  readonly #log: Logger;
  readonly #api: KubeApi & { lists: KubeLists };
  readonly #fresh = new FreshObjects();
  readonly #writer: ObjectWriter;
  readonly #events: EventRecorder;
  /** The Node being deleted while its health change is reported. */
  #deletedNode: V1Node | undefined;
  readonly #providers: ProviderPool;
  readonly #gatewayReconciler: GatewayReconciler;
  readonly #caches: InformerCaches;
  readonly #router: EventRouter;
  readonly #failovers = new FailoverTracker();
  /** The queue, prober and resync timer, while this replica leads. */
  #session: LeaderSession | undefined;
  #elector: LeaderElector | undefined;
  readonly #stop = new AbortController();
  #electorRun: Promise<void> | undefined;
  #started = false;

  constructor(options: ControllerOptions) {
    this.#o = options;
    this.identity = options.identity ?? `cloud-egress-${randomUUID().slice(0, 8)}`;
    this.#log = (options.logger ?? silentLogger()).child({
      component: 'controller',
      identity: this.identity,
    });
    this.metrics = options.metrics ?? new ControllerMetrics();
    this.#api = options.kubeApi ?? createKubeApi(options.kubeConfig);
    this.#writer = new ObjectWriter(this.#api, this.#fresh);
    this.#events = new EventRecorder({ api: this.#api, instance: this.identity, logger: this.#log });
    this.#providers = new ProviderPool({
      make: options.providerMaker ?? registryProviderMaker,
      context: {
        logger: this.#log.child({ component: 'provider' }),
        cluster: createVpcCniProbe(
          this.#api.lists,
          options.settings.preflightIntervalMs ?? DEFAULT_PREFLIGHT_INTERVAL_MS,
        ),
      },
      wrap: (p) => this.metrics.instrument(p),
      describeTtlMs: Math.max(1000, options.settings.resyncPeriodMs),
    });
    this.#caches = new InformerCaches({
      kubeConfig: options.kubeConfig,
      lists: this.#api.lists,
      agentPods: options.settings.agentPods,
      handlers: {
        onGateway: (t, o) => this.#router.onGateway(t, o),
        onPolicy: (t, o) => this.#router.onPolicy(t, o),
        onNode: (t, o) => this.#router.onNode(t, o),
        onNamespace: (t, o) => this.#router.onNamespace(t, o),
        onAgentPod: (t, o) => this.#router.onAgentPod(t, o),
      },
      logger: this.#log,
    });
    const caches = this.#caches;
    this.#router = new EventRouter({
      gateways: () => caches.gateways(),
      hasGateway: (name) => caches.gateway(name) !== undefined,
      policies: () => caches.policies(),
      enqueue: (key, priority) => this.#session?.enqueue(key, priority),
      syncProber: () => this.#session?.syncProber(),
      nodeDeleted: (node) => {
        // The informer has dropped it already: the health change names the node from here.
        this.#deletedNode = node;
        this.#session?.nodeDeleted(node.metadata?.name ?? '');
        this.#deletedNode = undefined;
      },
      forget: (obj) => this.#fresh.forget(obj),
    });
    this.#gatewayReconciler = new GatewayReconciler({
      caches,
      writer: this.#writer,
      events: this.#events,
      providers: this.#providers,
      fresh: this.#fresh,
      metrics: this.metrics,
      providerChoice: options.settings.provider,
      testProviders: options.settings.testProviders ?? false,
      baseSettings: options.settings.providerSettings,
      healthy: (node, ready) => this.#session?.healthy(node, ready) ?? ready,
      now: () => new Date(),
      ...(options.settings.preflightIntervalMs !== undefined
        ? { preflightIntervalMs: options.settings.preflightIntervalMs }
        : {}),
      clusterFacts: () =>
        readClusterFacts(caches.nodes(), this.#api.lists, {
          typedCIDRs: options.settings.clusterCidrs ?? [],
          returnPath: options.settings.agentReturnPath,
          discovery: options.settings.agentClusterCidrDiscovery,
        }),
      ...(options.settings.verification ? { verification: options.settings.verification } : {}),
      statusesWritten: (gateway, { held, ready }) => this.#timeFailovers(gateway, held, ready),
      ...(options.settings.handoverSettleMs !== undefined
        ? { handoverSettleMs: options.settings.handoverSettleMs }
        : {}),
    });
  }

  /** True once every informer has listed (the controller can act on a complete picture). */
  get ready(): boolean {
    return this.#caches.synced;
  }

  /** True while this replica leads (always, with leader election off, once started). */
  get leading(): boolean {
    return this.#session !== undefined;
  }

  /** Starts informers, then campaigns for leadership (or leads at once when election is off). */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await this.#caches.start();
    this.#log.info('caches synced');
    const le = this.#o.settings.leaderElection;
    if (!le.enabled) {
      this.#startLeading();
      return;
    }
    this.#elector = new LeaderElector({
      ...le,
      api: this.#api.lease(le.name, le.namespace),
      identity: this.identity,
      onStartedLeading: () => this.#startLeading(),
      onStoppedLeading: () => this.#stopLeading(),
      onNewLeader: (leader) => this.#log.info({ leader }, 'leader observed'),
      logger: this.#log,
    });
    this.#electorRun = this.#elector.run(this.#stop.signal);
  }

  /**
   * Graceful shutdown: stops the queue (waiting for reconciles in flight), releases the lease when
   * configured, stops the prober and the informers.
   */
  async stop(): Promise<void> {
    this.#stop.abort();
    if (this.#electorRun) await this.#electorRun;
    else await this.#stopLeading();
    await this.#caches.stop();
    this.#log.info('stopped');
  }

  /**
   * Stops at once without releasing the lease or waiting for reconciles, as a crashed process would
   * (tests of failover and of crash recovery).
   */
  async kill(): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    session?.kill();
    this.#elector?.abandon();
    this.#stop.abort();
    await this.#caches.stop();
  }

  /** Resolves when no reconcile is queued or running (tests, benchmarks). */
  async idle(): Promise<void> {
    await this.#session?.idle();
  }

  #startLeading(): void {
    this.metrics.leader.set(1);
    this.#session = new LeaderSession({
      settings: this.#o.settings,
      reconcile: (key) => this.#reconcile(key),
      onResult: ({ key, durationMs, error, retryInMs }) => {
        const kind = parseKey(key).kind;
        const result = error === undefined ? 'ok' : error instanceof TerminalError ? 'terminal' : 'error';
        this.metrics.reconciles.inc({ kind, result });
        this.metrics.reconcileDuration.observe({ kind }, durationMs / 1000);
        if (error !== undefined) this.#log.warn({ key, err: error, retryInMs }, 'reconcile failed');
      },
      ...(this.#o.probe ? { probe: this.#o.probe } : {}),
      onHealth: (node, healthy, reason) => this.#onHealth(node, healthy, reason),
      targets: () => probeTargets(this.#caches.gateways(), this.#caches.nodes(), this.#caches.agentPods()),
      enqueueAll: () => this.#router.enqueueAll(),
      logger: this.#log,
    });
    this.#session.start();
  }

  async #stopLeading(): Promise<void> {
    this.metrics.leader.set(0);
    const session = this.#session;
    this.#session = undefined;
    await session?.stop();
  }

  async #reconcile(key: string): Promise<{ requeueAfterMs?: number } | undefined> {
    const ref = parseKey(key);
    const log = this.#log.child({ reconcileID: randomUUID(), key });
    if (ref.kind === 'EgressGateway') {
      const result = await this.#gatewayReconciler.reconcile(ref.name, log);
      if (result?.outcome) {
        const { droppedForeignIPs, freedIPs } = result.outcome;
        // IPs a policy brought from another gateway are released by that gateway, and an IP a policy let go
        // of may be what a policy of another gateway (overlapping pool) waits for: queue the others now.
        if (droppedForeignIPs || freedIPs) this.#router.enqueueGateways(ref.name);
      }
      return result?.requeueAfterMs !== undefined ? { requeueAfterMs: result.requeueAfterMs } : undefined;
    }
    await reconcilePolicy(
      {
        policy: (kind, name, namespace) => this.#caches.policy(kind, name, namespace),
        gateway: (name) => this.#caches.gateway(name),
        enqueueGateway: (name) => this.#session?.enqueue(gatewayKey(name)),
        writer: this.#writer,
        events: this.#events,
        fresh: this.#fresh,
        now: () => new Date(),
      },
      ref,
    );
    return undefined;
  }

  /** A gateway's policies' final statuses are stored: the failovers this completes are reported. */
  #timeFailovers(gateway: string, held: ReadonlyMap<string, string>, ready: ReadonlySet<string>): void {
    for (const done of this.#failovers.reconciled(gateway, held, ready)) {
      this.metrics.failoverDuration.observe(done.ms / 1000);
      this.#log.info({ node: done.node, ips: done.ips, ms: Math.round(done.ms) }, 'failover complete');
      this.#o.onFailover?.(done.node, done.ms);
    }
  }

  /** A node's "may hold IPs" changed: Events on its gateways, failover timing, every gateway queued. */
  #onHealth(node: string, healthy: boolean, reason: string | undefined): void {
    this.#log.info({ node, healthy, reason }, healthy ? 'node may hold egress IPs again' : 'node failed');
    const nodeObject =
      this.#caches.node(node) ?? (this.#deletedNode?.metadata?.name === node ? this.#deletedNode : undefined);
    for (const gw of this.#caches.gateways()) {
      if (!nodeObject || !gatewaySelects(gw, nodeObject)) continue;
      void (healthy
        ? this.#events.normal(gw, REASON.NodeRecovered, `node ${node} answers again; it may hold egress IPs`)
        : this.#events.warning(
            gw,
            REASON.NodeFailed,
            `node ${node} failed (${reason ?? 'not healthy'}); its egress IPs move to other nodes`,
          ));
    }
    if (healthy) this.#failovers.nodeRecovered(node);
    else this.#failovers.nodeFailed(node, this.#caches.policies());
    // Only the node's gateways, and a failed node's ahead of a resync: the other gateways' passes would hold
    // up the failover.
    if (nodeObject) this.#router.enqueueGatewaysOf(nodeObject, healthy ? 'normal' : 'urgent');
    else this.#router.enqueueGateways();
  }
}
