/**
 * @module
 * What the API server says about every egress IP of a world: an informer over the EgressPolicies (all
 * namespaces) and EgressGateways that keeps IP -> { node, state } from the policies' statuses, for the scale
 * benchmark to wait on (all Ready, none on a failed node) without polling thousands of objects.
 */
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { EgressGateway } from '../src/api/egress-gateway.ts';
import type { EgressPolicy } from '../src/api/egress-policy.ts';
import { type InformerEventType, listWatchFactory, ResilientInformer } from '../src/kube/informer.ts';
import { createKubeApi, WATCH_PATHS } from '../src/kube/kube-api.ts';

/** Where an IP is and in which state. */
export interface IpView {
  readonly node: string | undefined;
  readonly state: string | undefined;
}

/** See the module comment. */
export class AssignmentTracker {
  /** IP -> where it is, from every policy's status. */
  readonly ips = new Map<string, IpView>();
  /** Gateways that have a status. */
  readonly gatewaysWithStatus = new Set<string>();
  /** Policy key -> the IPs its status lists. */
  readonly #byPolicy = new Map<string, string[]>();
  /** Policy key -> the generation its Ready condition has seen is current. */
  readonly #observed = new Map<string, boolean>();
  readonly #informers: ResilientInformer<KubernetesObject>[];
  #waiters: (() => void)[] = [];

  constructor(kubeConfig: KubeConfig) {
    const { lists } = createKubeApi(kubeConfig);
    this.#informers = [
      new ResilientInformer({
        name: 'bench-policies',
        create: listWatchFactory({ path: WATCH_PATHS.policies, list: lists.policies }, { kubeConfig }),
        onEvent: (type, obj) => this.#onPolicy(type, obj as unknown as EgressPolicy),
      }),
      new ResilientInformer({
        name: 'bench-gateways',
        create: listWatchFactory({ path: WATCH_PATHS.gateways, list: lists.gateways }, { kubeConfig }),
        onEvent: (_type, obj) => {
          const gw = obj as unknown as EgressGateway;
          if (gw.status?.nodes) this.gatewaysWithStatus.add(gw.metadata.name);
          this.#wake();
        },
      }),
    ];
  }

  async start(): Promise<void> {
    await Promise.all(this.#informers.map((i) => i.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.#informers.map((i) => i.stop()));
  }

  /** IPs Ready. */
  ready(): number {
    let n = 0;
    for (const v of this.ips.values()) if (v.state === 'Ready') n++;
    return n;
  }

  /** Ready IPs per node. */
  readyPerNode(): Map<string, number> {
    const out = new Map<string, number>();
    for (const v of this.ips.values()) {
      if (v.state === 'Ready' && v.node) out.set(v.node, (out.get(v.node) ?? 0) + 1);
    }
    return out;
  }

  /** Ready IPs of policy `namespace/name`. */
  policyReady(key: string): number {
    return (this.#byPolicy.get(key) ?? []).filter((ip) => this.ips.get(ip)?.state === 'Ready').length;
  }

  /** Whether policy `namespace/name`'s Ready condition has seen its current generation. */
  policyObserved(key: string): boolean {
    return this.#observed.get(key) === true;
  }

  /** Whether every policy's conditions have seen its current generation. */
  allObserved(): boolean {
    for (const ok of this.#observed.values()) if (!ok) return false;
    return true;
  }

  /** Resolves once `check` holds (checked after every event), or rejects after `timeoutMs`. */
  async until(what: string, check: () => boolean, timeoutMs = 600_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  #onPolicy(type: InformerEventType, policy: EgressPolicy): void {
    const key = `${policy.metadata.namespace}/${policy.metadata.name}`;
    for (const ip of this.#byPolicy.get(key) ?? []) this.ips.delete(ip);
    if (type === 'delete') {
      this.#byPolicy.delete(key);
      this.#observed.delete(key);
    } else {
      const assignments = policy.status?.assignments ?? [];
      const ips: string[] = [];
      for (const a of assignments) {
        if (!a.ip) continue;
        ips.push(a.ip);
        this.ips.set(a.ip, { node: a.node, state: a.state });
      }
      this.#byPolicy.set(key, ips);
      const ready = policy.status?.conditions?.find((c) => c.type === 'Ready');
      this.#observed.set(key, ready?.observedGeneration === policy.metadata.generation);
    }
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}
