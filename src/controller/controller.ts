/**
 * @module
 * The controller: informers, leader election, the work queue, the health prober and the periodic resync,
 * wired to the gateway and policy reconcilers.
 *
 * ```
 *  informers (always, so a standby has warm caches) ──events──┐
 *  health prober (leader only) ──node failed/recovered────────┤
 *  resync timer (leader only) ──every gateway, every period───┼──► work queue (leader only) ──► reconcilers
 *  leader elector: started leading ─► queue + prober + resync, every object queued
 *                  stopped leading  ─► queue drained and stopped, prober stopped
 * ```
 *
 * Keys: `EgressGateway/<name>` (the unit of scheduling), `EgressPolicy/<ns>/<name>` and
 * `ClusterEgressPolicy/<name>` (only to report a missing gateway; otherwise handed to the gateway).
 */
import { randomUUID } from 'node:crypto';
import type { KubeConfig, KubernetesObject, V1Namespace, V1Node, V1Pod } from '@kubernetes/client-node';
import { REASON } from '../api/conditions.ts';
import type { AnyEgressPolicy, EgressGateway } from '../api/index.ts';
import { listWatchFactory, ResilientInformer } from '../kube/informer.ts';
import { createKubeApi, type KubeApi, type KubeLists, WATCH_PATHS } from '../kube/kube-api.ts';
import { selectorMatches } from '../kube/label-selector.ts';
import { gatewayKey, nodeDraining, nodeInternalIP, nodeReady, parseKey, policyKey } from '../kube/objects.ts';
import { type Logger, silentLogger } from '../log.ts';
import type { ControllerSettings } from './controller-settings.ts';
import { EventRecorder } from './events.ts';
import { FailoverTracker } from './failover-tracker.ts';
import { FreshObjects } from './fresh-objects.ts';
import { GatewayReconciler } from './gateway-reconciler.ts';
import { HealthProber } from './health-prober.ts';
import { LeaderElector } from './leader-election.ts';
import { ControllerMetrics } from './metrics.ts';
import { ObjectWriter } from './object-writer.ts';
import { reconcilePolicy } from './policy-reconciler.ts';
import { type ProviderMaker, ProviderPool, registryProviderMaker } from './provider-pool.ts';
import { TerminalError, WorkQueue } from './work-queue.ts';

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

const fingerprint = (obj: unknown) => JSON.stringify(obj);

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
  readonly #informers: {
    gateways: ResilientInformer<KubernetesObject>;
    policies: ResilientInformer<KubernetesObject>;
    clusterPolicies: ResilientInformer<KubernetesObject>;
    nodes: ResilientInformer<V1Node>;
    namespaces: ResilientInformer<V1Namespace>;
  };
  /**
   * Only with `settings.agentPods`: tells a planned agent restart from a failure. Not needed to act, so the
   * controller neither waits for it nor counts it in `ready` (without it, restarts get no grace).
   */
  readonly #agentPods: ResilientInformer<V1Pod> | undefined;
  readonly #seen = new Map<string, string>();
  /** Gateway last seen for each policy, so a change of `spec.gatewayName` requeues the old gateway too. */
  readonly #policyGateway = new Map<string, string>();
  readonly #failovers = new FailoverTracker();
  #queue: WorkQueue | undefined;
  #prober: HealthProber | undefined;
  #resync: ReturnType<typeof setInterval> | undefined;
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
      context: { logger: this.#log.child({ component: 'provider' }) },
      wrap: (p) => this.metrics.instrument(p),
      describeTtlMs: Math.max(1000, options.settings.resyncPeriodMs),
    });
    const lists = this.#api.lists;
    const informer = <T extends KubernetesObject>(
      name: string,
      path: string,
      list: () => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>,
      onEvent: (type: 'add' | 'update' | 'delete', obj: T) => void,
      labelSelector?: string,
    ) =>
      new ResilientInformer<T>({
        name,
        create: listWatchFactory<T>(
          { path, list: list as never, ...(labelSelector ? { labelSelector } : {}) },
          { kubeConfig: options.kubeConfig },
        ),
        onEvent,
        logger: this.#log,
      });
    const agentPods = options.settings.agentPods;
    this.#informers = {
      gateways: informer('gateways', WATCH_PATHS.gateways, lists.gateways, (t, o) => this.#onGateway(t, o)),
      policies: informer('policies', WATCH_PATHS.policies, lists.policies, (t, o) => this.#onPolicy(t, o)),
      clusterPolicies: informer(
        'clusterPolicies',
        WATCH_PATHS.clusterPolicies,
        lists.clusterPolicies,
        (t, o) => this.#onPolicy(t, o),
      ),
      nodes: informer('nodes', WATCH_PATHS.nodes, lists.nodes, (t, o) => this.#onNode(t, o)),
      namespaces: informer('namespaces', WATCH_PATHS.namespaces, lists.namespaces, (t, o) =>
        this.#onNamespace(t, o),
      ),
    };
    this.#agentPods = agentPods
      ? informer(
          'agentPods',
          WATCH_PATHS.pods(agentPods.namespace),
          () => lists.agentPods(agentPods.namespace, agentPods.labelSelector),
          (t, o) => this.#onAgentPod(t, o),
          agentPods.labelSelector,
        )
      : undefined;
    const informers = this.#informers;
    this.#gatewayReconciler = new GatewayReconciler({
      caches: {
        gateway: (name) => informers.gateways.get(name) as unknown as EgressGateway | undefined,
        policies: () =>
          [...informers.policies.list(), ...informers.clusterPolicies.list()] as unknown as AnyEgressPolicy[],
        nodes: () => informers.nodes.list(),
        namespace: (name) => informers.namespaces.get(name),
      },
      writer: this.#writer,
      events: this.#events,
      providers: this.#providers,
      fresh: this.#fresh,
      metrics: this.metrics,
      providerChoice: options.settings.provider,
      baseSettings: options.settings.providerSettings,
      healthy: (node, ready) => (this.#prober ? this.#prober.healthy(node, ready) : ready),
      now: () => new Date(),
    });
  }

  /** True once every informer has listed (the controller can act on a complete picture). */
  get ready(): boolean {
    return Object.values(this.#informers).every((i) => i.synced);
  }

  /** True while this replica leads (always, with leader election off, once started). */
  get leading(): boolean {
    return this.#queue !== undefined;
  }

  /** Starts informers, then campaigns for leadership (or leads at once when election is off). */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    this.#agentPods
      ?.start()
      .catch((err: unknown) =>
        this.#log.warn({ err }, 'agent Pods not watched: agent restarts get no grace'),
      );
    await Promise.all(Object.values(this.#informers).map((i) => i.start()));
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
    await Promise.all([...Object.values(this.#informers), this.#agentPods].map((i) => i?.stop()));
    this.#log.info('stopped');
  }

  /**
   * Stops at once without releasing the lease or waiting for reconciles, as a crashed process would
   * (tests of failover and of crash recovery).
   */
  async kill(): Promise<void> {
    const queue = this.#queue;
    this.#queue = undefined;
    void queue?.stop();
    this.#prober?.stop();
    this.#prober = undefined;
    if (this.#resync) clearInterval(this.#resync);
    this.#elector?.abandon();
    this.#stop.abort();
    await Promise.all([...Object.values(this.#informers), this.#agentPods].map((i) => i?.stop()));
  }

  /** Resolves when no reconcile is queued or running (tests, benchmarks). */
  async idle(): Promise<void> {
    await this.#queue?.idle();
  }

  #startLeading(): void {
    this.metrics.leader.set(1);
    const settings = this.#o.settings;
    this.#queue = new WorkQueue({
      concurrency: settings.concurrency,
      reconcile: (key) => this.#reconcile(key),
      onResult: ({ key, durationMs, error, retryInMs }) => {
        const kind = parseKey(key).kind;
        const result = error === undefined ? 'ok' : error instanceof TerminalError ? 'terminal' : 'error';
        this.metrics.reconciles.inc({ kind, result });
        this.metrics.reconcileDuration.observe({ kind }, durationMs / 1000);
        if (error !== undefined) this.#log.warn({ key, err: error, retryInMs }, 'reconcile failed');
      },
    });
    this.#prober = new HealthProber({
      intervalMs: settings.probe.intervalMs,
      ...(settings.probe.timeoutMs !== undefined ? { timeoutMs: settings.probe.timeoutMs } : {}),
      port: settings.probe.agentHealthPort,
      misses: settings.probe.misses,
      dampingMs: settings.probe.dampingMs,
      ...(settings.agentPods ? { restartGraceMs: settings.probe.restartGraceMs ?? 0 } : {}),
      ...(this.#o.probe ? { probe: this.#o.probe } : {}),
      onChange: (node, healthy, state) => this.#onHealth(node, healthy, state.reason),
      logger: this.#log,
    });
    this.#syncProber();
    this.#resync = setInterval(() => this.#enqueueAll(), settings.resyncPeriodMs);
    this.#resync.unref?.();
    this.#enqueueAll();
  }

  async #stopLeading(): Promise<void> {
    this.metrics.leader.set(0);
    if (this.#resync) clearInterval(this.#resync);
    this.#resync = undefined;
    this.#prober?.stop();
    this.#prober = undefined;
    const queue = this.#queue;
    this.#queue = undefined;
    await queue?.stop();
  }

  #enqueueAll(): void {
    for (const gw of this.#informers.gateways.list()) this.#queue?.add(gatewayKey(gw.metadata?.name ?? ''));
    for (const p of [...this.#informers.policies.list(), ...this.#informers.clusterPolicies.list()]) {
      this.#queue?.add(policyKey(p as unknown as AnyEgressPolicy));
    }
  }

  #policies(): AnyEgressPolicy[] {
    return [
      ...this.#informers.policies.list(),
      ...this.#informers.clusterPolicies.list(),
    ] as unknown as AnyEgressPolicy[];
  }

  #enqueueGateways(): void {
    for (const gw of this.#informers.gateways.list()) this.#queue?.add(gatewayKey(gw.metadata?.name ?? ''));
  }

  async #reconcile(key: string): Promise<{ requeueAfterMs?: number } | undefined> {
    const ref = parseKey(key);
    const log = this.#log.child({ reconcileID: randomUUID(), key });
    if (ref.kind === 'EgressGateway') {
      const result = await this.#gatewayReconciler.reconcile(ref.name, log);
      if (result?.outcome) {
        for (const done of this.#failovers.reconciled(ref.name, result.outcome.held, result.outcome.ready)) {
          this.metrics.failoverDuration.observe(done.ms / 1000);
          this.#log.info({ node: done.node, ips: done.ips, ms: Math.round(done.ms) }, 'failover complete');
          this.#o.onFailover?.(done.node, done.ms);
        }
        // IPs a policy brought from another gateway are released by that gateway: queue the others now.
        if (result.outcome.droppedForeignIPs) {
          for (const gw of this.#informers.gateways.list()) {
            if (gw.metadata?.name !== ref.name) this.#queue?.add(gatewayKey(gw.metadata?.name ?? ''));
          }
        }
      }
      return result?.requeueAfterMs !== undefined ? { requeueAfterMs: result.requeueAfterMs } : undefined;
    }
    await reconcilePolicy(
      {
        policy: (kind, name, namespace) =>
          (kind === 'EgressPolicy'
            ? this.#informers.policies.get(name, namespace)
            : this.#informers.clusterPolicies.get(name)) as unknown as AnyEgressPolicy | undefined,
        gateway: (name) => this.#informers.gateways.get(name) as unknown as EgressGateway | undefined,
        enqueueGateway: (name) => this.#queue?.add(gatewayKey(name)),
        writer: this.#writer,
        events: this.#events,
        fresh: this.#fresh,
        now: () => new Date(),
      },
      ref,
    );
    return undefined;
  }

  /** Relevant parts only: status-only updates (our own writes) do not requeue. */
  #changed(key: string, type: string, relevant: unknown): boolean {
    if (type === 'delete') {
      this.#seen.delete(key);
      return true;
    }
    const fp = fingerprint(relevant);
    if (this.#seen.get(key) === fp) return false;
    this.#seen.set(key, fp);
    return true;
  }

  #onGateway(type: string, obj: KubernetesObject): void {
    const gw = obj as unknown as EgressGateway;
    const key = gatewayKey(gw.metadata.name);
    if (type === 'delete') {
      this.#fresh.forget(obj);
      for (const p of [...this.#informers.policies.list(), ...this.#informers.clusterPolicies.list()]) {
        const policy = p as unknown as AnyEgressPolicy;
        if (policy.spec.gatewayName === gw.metadata.name) this.#queue?.add(policyKey(policy));
      }
    }
    const relevant = [
      gw.metadata.generation,
      gw.metadata.annotations,
      gw.metadata.deletionTimestamp,
      gw.metadata.finalizers,
    ];
    if (this.#changed(key, type, relevant)) this.#queue?.add(key);
  }

  #onPolicy(type: string, obj: KubernetesObject): void {
    const policy = obj as unknown as AnyEgressPolicy;
    const key = policyKey(policy);
    if (type === 'delete') this.#fresh.forget(obj);
    const relevant = [
      policy.metadata.generation,
      policy.metadata.deletionTimestamp,
      policy.metadata.finalizers,
    ];
    if (!this.#changed(key, type, relevant)) return;
    const previous = this.#policyGateway.get(key);
    if (type === 'delete') this.#policyGateway.delete(key);
    else this.#policyGateway.set(key, policy.spec.gatewayName);
    if (previous && previous !== policy.spec.gatewayName) this.#queue?.add(gatewayKey(previous));
    if (this.#informers.gateways.get(policy.spec.gatewayName))
      this.#queue?.add(gatewayKey(policy.spec.gatewayName));
    else if (type !== 'delete') this.#queue?.add(key);
  }

  #onNode(type: string, node: V1Node): void {
    const name = node.metadata?.name ?? '';
    if (type === 'delete') {
      // The informer has dropped it already: the health change names the node from here.
      this.#deletedNode = node;
      this.#prober?.deleted(name);
      this.#deletedNode = undefined;
    }
    const relevant = [
      node.metadata?.labels,
      node.spec?.providerID,
      nodeReady(node),
      nodeInternalIP(node),
      node.metadata?.deletionTimestamp,
      nodeDraining(node),
    ];
    if (!this.#changed(`Node/${name}`, type, relevant)) return;
    this.#syncProber();
    this.#enqueueGateways();
  }

  #onNamespace(type: string, ns: V1Namespace): void {
    if (this.#changed(`Namespace/${ns.metadata?.name}`, type, ns.metadata?.labels)) this.#enqueueGateways();
  }

  #onAgentPod(type: string, pod: V1Pod): void {
    const relevant = [pod.spec?.nodeName, pod.metadata?.deletionTimestamp];
    if (this.#changed(`Pod/${pod.metadata?.namespace}/${pod.metadata?.name}`, type, relevant))
      this.#syncProber();
  }

  /** Nodes where an agent Pod is being deleted. */
  #restartingAgents(): Set<string> {
    const nodes = new Set<string>();
    for (const pod of this.#agentPods?.list() ?? []) {
      if (pod.metadata?.deletionTimestamp && pod.spec?.nodeName) nodes.add(pod.spec.nodeName);
    }
    return nodes;
  }

  /** Probes every node some gateway selects. */
  #syncProber(): void {
    if (!this.#prober) return;
    const gateways = this.#informers.gateways.list() as unknown as EgressGateway[];
    const restarting = this.#restartingAgents();
    const targets = this.#informers.nodes
      .list()
      .filter((n) => gateways.some((g) => matchesGateway(g, n)))
      .map((n) => {
        const node = n.metadata?.name ?? '';
        return {
          node,
          address: nodeInternalIP(n),
          ready: nodeReady(n),
          agentRestarting: restarting.has(node),
          draining: nodeDraining(n),
        };
      });
    this.#prober.sync(targets);
  }

  #onHealth(node: string, healthy: boolean, reason: string | undefined): void {
    this.#log.info({ node, healthy, reason }, healthy ? 'node may hold egress IPs again' : 'node failed');
    const nodeObject =
      this.#informers.nodes.get(node) ??
      (this.#deletedNode?.metadata?.name === node ? this.#deletedNode : undefined);
    for (const gw of this.#informers.gateways.list() as unknown as EgressGateway[]) {
      if (!nodeObject || !matchesGateway(gw, nodeObject)) continue;
      void (healthy
        ? this.#events.normal(gw, REASON.NodeRecovered, `node ${node} answers again; it may hold egress IPs`)
        : this.#events.warning(
            gw,
            REASON.NodeFailed,
            `node ${node} failed (${reason ?? 'not healthy'}); its egress IPs move to other nodes`,
          ));
    }
    if (healthy) this.#failovers.nodeRecovered(node);
    else this.#failovers.nodeFailed(node, this.#policies());
    this.#enqueueGateways();
  }
}

function matchesGateway(gateway: EgressGateway, node: V1Node): boolean {
  return (
    gateway.spec?.nodeSelector !== undefined &&
    selectorMatches(gateway.spec.nodeSelector, node.metadata?.labels)
  );
}
