/**
 * @module
 * Event routing: informer events to work-queue keys, and node or agent-Pod changes to the health prober's
 * targets. Level-triggered: an event only says "look again"; the reconcile decides what to do.
 *
 * | event                  | relevant fields (a change of another requeues nothing) | queued / done                          |
 * |------------------------|--------------------------------------------------------|----------------------------------------|
 * | EgressGateway          | generation, annotations, deletionTimestamp, finalizers | prober targets synced; the gateway;    |
 * |                        |                                                        | deleted: also its policies (they       |
 * |                        |                                                        | report GatewayNotFound); new, deleted  |
 * |                        |                                                        | or spec changed: the other gateways    |
 * |                        |                                                        | too (their pools may overlap)          |
 * | (Cluster)EgressPolicy  | generation, deletionTimestamp, finalizers              | its gateway, and the one it named      |
 * |                        |                                                        | before; no such gateway: the policy    |
 * |                        |                                                        | (not once deleted)                     |
 * | Node                   | labels, providerID, Ready, InternalIP,                 | prober targets synced; new, deleted,   |
 * |                        | deletionTimestamp, draining                            | labels, providerID or InternalIP       |
 * |                        |                                                        | changed: every gateway (a pool may hold|
 * |                        |                                                        | its address); else (Ready, draining,   |
 * |                        |                                                        | deleting): only the gateways of the    |
 * |                        |                                                        | node, urgent when it may no longer     |
 * |                        |                                                        | hold IPs ({@link nodeChangePriority}); |
 * |                        |                                                        | deleted: the prober fails it           |
 * | Namespace              | labels                                                 | every gateway (admission)              |
 * | agent Pod              | nodeName, deletionTimestamp                            | prober targets synced (restart grace)  |
 *
 * Every key is queued `normal` but those of a node that may no longer hold IPs: its IPs move, ahead of a resync.
 * A deletion always counts as a change. Status-only updates (the controller's own writes) change no relevant
 * field, so they requeue nothing.
 */
import type { KubernetesObject, V1Namespace, V1Node, V1Pod } from '@kubernetes/client-node';
import type { AnyEgressPolicy, EgressGateway } from '../api/index.ts';
import type { InformerEventType } from '../kube/informer.ts';
import { selectorMatches } from '../kube/label-selector.ts';
import { nodeDisruption, nodeLeaving } from '../kube/node-disruption.ts';
import { gatewayKey, nodeInternalIP, nodeReady, policyKey } from '../kube/objects.ts';
import type { ProbeTarget } from './health-prober.ts';
import type { Priority } from './work-queue.ts';

/** What the router reads and where it sends keys. */
export interface EventRoutingDeps {
  /** The gateways in the cache. */
  readonly gateways: () => readonly EgressGateway[];
  /** Whether gateway `name` is in the cache. */
  readonly hasGateway: (name: string) => boolean;
  /** The (Cluster)EgressPolicies in the cache. */
  readonly policies: () => readonly AnyEgressPolicy[];
  /** Queues a key (a no-op while this replica does not lead), `normal` unless told. */
  readonly enqueue: (key: string, priority?: Priority) => void;
  /** Hands the prober its targets afresh. */
  readonly syncProber: () => void;
  /** A Node was deleted (the informer has dropped it already). */
  readonly nodeDeleted: (node: V1Node) => void;
  /** An object was deleted: forget what was written of it. */
  readonly forget: (obj: KubernetesObject) => void;
}

/** True when `gateway` has a nodeSelector and it selects `node`. */
export function gatewaySelects(gateway: EgressGateway, node: V1Node): boolean {
  return (
    gateway.spec?.nodeSelector !== undefined &&
    selectorMatches(gateway.spec.nodeSelector, node.metadata?.labels)
  );
}

/**
 * The prober's targets: every node some gateway selects, with its address, Ready condition, whether its
 * agent Pod is being deleted (one of `agentPods`) and whether it is draining.
 */
export function probeTargets(
  gateways: readonly EgressGateway[],
  nodes: readonly V1Node[],
  agentPods: readonly V1Pod[],
): ProbeTarget[] {
  const restarting = new Set<string>();
  for (const pod of agentPods) {
    if (pod.metadata?.deletionTimestamp && pod.spec?.nodeName) restarting.add(pod.spec.nodeName);
  }
  return nodes
    .filter((n) => gateways.some((g) => gatewaySelects(g, n)))
    .map((n) => {
      const node = n.metadata?.name ?? '';
      return {
        node,
        address: nodeInternalIP(n),
        ready: nodeReady(n),
        agentRestarting: restarting.has(node),
        draining: nodeLeaving(n),
      };
    });
}

/**
 * The priority of the gateways of a node whose Ready, draining or deleting changed: `urgent` when the node may
 * no longer hold IPs (not Ready, draining, being deleted), so its IPs move before a resync's passes run;
 * `normal` when it may again.
 */
export function nodeChangePriority(node: V1Node): Priority {
  return nodeReady(node) && !nodeLeaving(node) ? 'normal' : 'urgent';
}

/**
 * The gateways a change of `node`'s health concerns: those that select it, and those with a policy whose status
 * names it (the cloud may hold their IPs there although the gateway no longer selects it).
 */
export function gatewaysOfNode(
  node: V1Node,
  gateways: readonly EgressGateway[],
  policies: readonly AnyEgressPolicy[],
): Set<string> {
  const name = node.metadata?.name;
  const out = new Set<string>();
  for (const gw of gateways) if (gatewaySelects(gw, node)) out.add(gw.metadata.name);
  for (const p of policies) {
    if (out.has(p.spec.gatewayName)) continue;
    if (p.status?.assignments?.some((a) => a.node === name)) out.add(p.spec.gatewayName);
  }
  return out;
}

/** Routes informer events; see the module table. */
export class EventRouter {
  readonly #d: EventRoutingDeps;
  /** Fingerprint of the relevant fields last seen, per object. */
  readonly #seen = new Map<string, string>();
  /** Gateway last seen for each policy, so a change of `spec.gatewayName` requeues the old gateway too. */
  readonly #policyGateway = new Map<string, string>();
  /** Generation last seen of each gateway, so a change of its spec requeues the others (pool overlaps). */
  readonly #gatewayGeneration = new Map<string, number | undefined>();

  constructor(deps: EventRoutingDeps) {
    this.#d = deps;
  }

  /** Queues every gateway and every policy (leadership gained, periodic resync). */
  enqueueAll(): void {
    this.enqueueGateways();
    for (const p of this.#d.policies()) this.#d.enqueue(policyKey(p));
  }

  /** Queues every gateway but `except`. */
  enqueueGateways(except?: string): void {
    for (const gw of this.#d.gateways()) {
      if (except === undefined || gw.metadata?.name !== except)
        this.#d.enqueue(gatewayKey(gw.metadata?.name ?? ''));
    }
  }

  /** Queues the gateways of `node` ({@link gatewaysOfNode}) that are in the cache, with `priority`. */
  enqueueGatewaysOf(node: V1Node, priority: Priority = 'normal'): void {
    for (const name of gatewaysOfNode(node, this.#d.gateways(), this.#d.policies())) {
      if (this.#d.hasGateway(name)) this.#d.enqueue(gatewayKey(name), priority);
    }
  }

  /** An EgressGateway event. */
  onGateway(type: InformerEventType, obj: KubernetesObject): void {
    const gw = obj as unknown as EgressGateway;
    const key = gatewayKey(gw.metadata.name);
    if (type === 'delete') {
      this.#d.forget(obj);
      for (const policy of this.#d.policies()) {
        if (policy.spec.gatewayName === gw.metadata.name) this.#d.enqueue(policyKey(policy));
      }
    }
    const relevant = [
      gw.metadata.generation,
      gw.metadata.annotations,
      gw.metadata.deletionTimestamp,
      gw.metadata.finalizers,
    ];
    if (!this.#changed(key, type, relevant)) return;
    // The prober's targets are the nodes some gateway selects: a gateway made (or re-pointed) after this
    // replica started to lead must be probed too, or its nodes count as healthy while they are Ready.
    this.#d.syncProber();
    this.#d.enqueue(key);
    const generation = gw.metadata.generation;
    const specChanged =
      type === 'delete' ||
      !this.#gatewayGeneration.has(key) ||
      this.#gatewayGeneration.get(key) !== generation;
    if (type === 'delete') this.#gatewayGeneration.delete(key);
    else this.#gatewayGeneration.set(key, generation);
    if (specChanged) this.enqueueGateways(gw.metadata.name);
  }

  /** An EgressPolicy or ClusterEgressPolicy event. */
  onPolicy(type: InformerEventType, obj: KubernetesObject): void {
    const policy = obj as unknown as AnyEgressPolicy;
    const key = policyKey(policy);
    if (type === 'delete') this.#d.forget(obj);
    const relevant = [
      policy.metadata.generation,
      policy.metadata.deletionTimestamp,
      policy.metadata.finalizers,
    ];
    if (!this.#changed(key, type, relevant)) return;
    const previous = this.#policyGateway.get(key);
    if (type === 'delete') this.#policyGateway.delete(key);
    else this.#policyGateway.set(key, policy.spec.gatewayName);
    if (previous && previous !== policy.spec.gatewayName) this.#d.enqueue(gatewayKey(previous));
    if (this.#d.hasGateway(policy.spec.gatewayName)) this.#d.enqueue(gatewayKey(policy.spec.gatewayName));
    else if (type !== 'delete') this.#d.enqueue(key);
  }

  /** A Node event. */
  onNode(type: InformerEventType, node: V1Node): void {
    const name = node.metadata?.name ?? '';
    if (type === 'delete') this.#d.nodeDeleted(node);
    const relevant = [
      node.metadata?.labels,
      node.spec?.providerID,
      nodeReady(node),
      nodeInternalIP(node),
      node.metadata?.deletionTimestamp,
      nodeDisruption(node),
    ];
    // Labels, providerID and address matter to every gateway (membership, the addresses no pool hands out).
    const wide = this.#changed(`NodeWide/${name}`, type, [
      node.metadata?.labels,
      node.spec?.providerID,
      nodeInternalIP(node),
    ]);
    if (!this.#changed(`Node/${name}`, type, relevant)) return;
    this.#d.syncProber();
    if (wide || type !== 'update') this.enqueueGateways();
    else this.enqueueGatewaysOf(node, nodeChangePriority(node));
  }

  /** A Namespace event. */
  onNamespace(type: InformerEventType, ns: V1Namespace): void {
    if (this.#changed(`Namespace/${ns.metadata?.name}`, type, ns.metadata?.labels)) this.enqueueGateways();
  }

  /** An agent Pod event. */
  onAgentPod(type: InformerEventType, pod: V1Pod): void {
    const relevant = [pod.spec?.nodeName, pod.metadata?.deletionTimestamp];
    if (this.#changed(`Pod/${pod.metadata?.namespace}/${pod.metadata?.name}`, type, relevant))
      this.#d.syncProber();
  }

  /** Whether the relevant fields changed since the last event about `key`; records them. */
  #changed(key: string, type: InformerEventType, relevant: unknown): boolean {
    if (type === 'delete') {
      this.#seen.delete(key);
      return true;
    }
    const fp = JSON.stringify(relevant);
    if (this.#seen.get(key) === fp) return false;
    this.#seen.set(key, fp);
    return true;
  }
}
