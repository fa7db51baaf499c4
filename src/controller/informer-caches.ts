/**
 * @module
 * The controller's informers and typed reads of their caches: EgressGateways, EgressPolicies,
 * ClusterEgressPolicies, Nodes, Namespaces, and (with `agentPods` set) the agent Pods. Every replica runs
 * them, leader or not, so a standby takes over with warm caches. Events go to the handlers given.
 */
import type { KubeConfig, KubernetesObject, V1Namespace, V1Node, V1Pod } from '@kubernetes/client-node';
import type { AnyEgressPolicy, EgressGateway } from '../api/index.ts';
import { type InformerEventType, listWatchFactory, ResilientInformer } from '../kube/informer.ts';
import { type KubeLists, WATCH_PATHS } from '../kube/kube-api.ts';
import type { Logger } from '../log.ts';
import type { ControllerSettings } from './controller-settings.ts';

/** Read access to the caches, as a gateway reconcile needs it. */
export interface ObjectCaches {
  gateway(name: string): EgressGateway | undefined;
  gateways(): readonly EgressGateway[];
  policies(): readonly AnyEgressPolicy[];
  nodes(): readonly V1Node[];
  namespace(name: string): V1Namespace | undefined;
}

type Handler<T> = (type: InformerEventType, obj: T) => void;

/** Where each informer's events go. */
export interface InformerHandlers {
  readonly onGateway: Handler<KubernetesObject>;
  readonly onPolicy: Handler<KubernetesObject>;
  readonly onNode: Handler<V1Node>;
  readonly onNamespace: Handler<V1Namespace>;
  readonly onAgentPod: Handler<V1Pod>;
}

/** Options of {@link InformerCaches}. */
export interface InformerCachesOptions {
  readonly kubeConfig: KubeConfig;
  readonly lists: KubeLists;
  readonly agentPods: ControllerSettings['agentPods'];
  readonly handlers: InformerHandlers;
  readonly logger: Logger;
}

/** See the module comment. */
export class InformerCaches implements ObjectCaches {
  readonly #informers: {
    gateways: ResilientInformer<KubernetesObject>;
    policies: ResilientInformer<KubernetesObject>;
    clusterPolicies: ResilientInformer<KubernetesObject>;
    nodes: ResilientInformer<V1Node>;
    namespaces: ResilientInformer<V1Namespace>;
  };
  /**
   * Only with `agentPods`: tells a planned agent restart from a failure. Not needed to act, so
   * {@link start} neither waits for it nor counts it in {@link synced} (without it, restarts get no grace).
   */
  readonly #agentPods: ResilientInformer<V1Pod> | undefined;
  readonly #log: Logger;

  constructor(options: InformerCachesOptions) {
    const { lists, handlers, agentPods } = options;
    this.#log = options.logger;
    const informer = <T extends KubernetesObject>(
      name: string,
      path: string,
      list: () => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>,
      onEvent: Handler<T>,
      labelSelector?: string,
    ) =>
      new ResilientInformer<T>({
        name,
        create: listWatchFactory<T>(
          { path, list: list as never, ...(labelSelector ? { labelSelector } : {}) },
          { kubeConfig: options.kubeConfig },
        ),
        onEvent,
        logger: options.logger,
      });
    this.#informers = {
      gateways: informer('gateways', WATCH_PATHS.gateways, lists.gateways, handlers.onGateway),
      policies: informer('policies', WATCH_PATHS.policies, lists.policies, handlers.onPolicy),
      clusterPolicies: informer(
        'clusterPolicies',
        WATCH_PATHS.clusterPolicies,
        lists.clusterPolicies,
        handlers.onPolicy,
      ),
      nodes: informer('nodes', WATCH_PATHS.nodes, lists.nodes, handlers.onNode),
      namespaces: informer('namespaces', WATCH_PATHS.namespaces, lists.namespaces, handlers.onNamespace),
    };
    this.#agentPods = agentPods
      ? informer(
          'agentPods',
          WATCH_PATHS.pods(agentPods.namespace),
          () => lists.agentPods(agentPods.namespace, agentPods.labelSelector),
          handlers.onAgentPod,
          agentPods.labelSelector,
        )
      : undefined;
  }

  /** True once every informer (but the agent Pods') has listed. */
  get synced(): boolean {
    return Object.values(this.#informers).every((i) => i.synced);
  }

  /** Starts the informers; resolves once all (but the agent Pods') have listed. */
  async start(): Promise<void> {
    this.#agentPods
      ?.start()
      .catch((err: unknown) =>
        this.#log.warn({ err }, 'agent Pods not watched: agent restarts get no grace'),
      );
    await Promise.all(Object.values(this.#informers).map((i) => i.start()));
  }

  /** Stops every informer. */
  async stop(): Promise<void> {
    await Promise.all([...Object.values(this.#informers), this.#agentPods].map((i) => i?.stop()));
  }

  /** EgressGateway `name`. */
  gateway(name: string): EgressGateway | undefined {
    return this.#informers.gateways.get(name) as unknown as EgressGateway | undefined;
  }

  /** Every EgressGateway. */
  gateways(): EgressGateway[] {
    return this.#informers.gateways.list() as unknown as EgressGateway[];
  }

  /** The policy of `kind` (`EgressPolicy` or `ClusterEgressPolicy`) named so. */
  policy(kind: string, name: string, namespace?: string): AnyEgressPolicy | undefined {
    return (kind === 'EgressPolicy'
      ? this.#informers.policies.get(name, namespace)
      : this.#informers.clusterPolicies.get(name)) as unknown as AnyEgressPolicy | undefined;
  }

  /** Every EgressPolicy, then every ClusterEgressPolicy. */
  policies(): AnyEgressPolicy[] {
    return [
      ...this.#informers.policies.list(),
      ...this.#informers.clusterPolicies.list(),
    ] as unknown as AnyEgressPolicy[];
  }

  /** Node `name`. */
  node(name: string): V1Node | undefined {
    return this.#informers.nodes.get(name);
  }

  /** Every Node. */
  nodes(): readonly V1Node[] {
    return this.#informers.nodes.list();
  }

  /** Namespace `name`. */
  namespace(name: string): V1Namespace | undefined {
    return this.#informers.namespaces.get(name);
  }

  /** The agent Pods (none without `agentPods`). */
  agentPods(): readonly V1Pod[] {
    return this.#agentPods?.list() ?? [];
  }
}
