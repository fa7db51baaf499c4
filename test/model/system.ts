/**
 * @module
 * The system the model-based test drives in one run: a controller (the real one, in this process) on a real
 * API server and a {@link ModelCloud}; two tenant namespaces (`tenant=a`, `tenant=b`); three Nodes; the
 * gateways `g1` and `g2` and the policies the commands create. It takes a {@link Snapshot} for the invariants
 * and waits for quiescence.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { EgressGateway } from '../../src/api/egress-gateway.ts';
import type { AnyEgressPolicy, EgressPolicySpec } from '../../src/api/egress-policy.ts';
import { GROUP, KIND_NAMES, VERSION } from '../../src/api/group.ts';
import type { Controller } from '../../src/controller/controller.ts';
import { ControllerWorld, testSettings } from '../controller/world.ts';
import type { ControlPlane } from '../harness/control-plane.ts';
import {
  type CustomObjectRef,
  deleteCustomObject,
  patchCustomObject,
  readCustomObject,
} from '../support/custom-objects.ts';
import { eventually } from '../support/eventually.ts';
import type { ModelCloud } from './clouds.ts';
import { holderViolations, quiescenceViolations, type Snapshot, safetyViolations } from './invariants.ts';

/** A gateway of the model and which tenants it admits. */
export type GatewayId = 'g1' | 'g2';
export type Tenants = 'all' | 'a' | 'b';
/** What a policy asks for: a count, or one IP of its gateway's pool (by index). */
export type Want = { readonly count: number } | { readonly ip: number };

/** How long quiescence may take before the run fails. */
const QUIET_TIMEOUT_MS = 30_000;

/** One run's system; see the module comment. */
export class ModelSystem {
  readonly #cloud: ModelCloud;
  readonly #world: ControllerWorld;
  readonly #core: CoreV1Api;
  readonly #custom: CustomObjectsApi;
  readonly #tenants: Record<'a' | 'b', string>;
  readonly #deleted = new Set<string>();
  readonly #goneIPs = new Map<string, string>();
  readonly #cordoned = new Set<string>();
  readonly #notReady = new Set<string>();
  #controller: Controller | undefined;
  /** The snapshot of the last check, for the invariants between two steps. */
  #previous: Snapshot | undefined;
  /** A lie was told since the last quiescence (a lost release or a late write may hold an IP for a while). */
  #lied = false;
  /** The commands run so far, for the failure message. */
  readonly log: string[] = [];

  private constructor(cloud: ModelCloud, world: ControllerWorld, tenants: Record<'a' | 'b', string>) {
    this.#cloud = cloud;
    this.#world = world;
    this.#core = world.kubeConfig.makeApiClient(CoreV1Api);
    this.#custom = world.kubeConfig.makeApiClient(CustomObjectsApi);
    this.#tenants = tenants;
  }

  /** A fresh system: namespaces, Nodes and a running controller. */
  static async start(controlPlane: ControlPlane, cloud: ModelCloud): Promise<ModelSystem> {
    await cloud.reset();
    const namespace = await controlPlane.newNamespace('model');
    const tenants = {
      a: await controlPlane.newNamespace(`${namespace}-a`, { tenant: 'a' }),
      b: await controlPlane.newNamespace(`${namespace}-b`, { tenant: 'b' }),
    };
    const world = new ControllerWorld(controlPlane.kubeConfig, namespace);
    for (const node of cloud.nodes) {
      await world.addNodeObject({
        name: node.short,
        providerID: node.providerID,
        zone: 'zone-1',
        address: node.address,
      });
    }
    const system = new ModelSystem(cloud, world, tenants);
    await system.startController();
    return system;
  }

  /** Controller settings of the model: Node Ready only, no resync within a run, fast verification. */
  static settings() {
    return testSettings({ resyncPeriodMs: 600_000, verification: { firstMs: 100, maxMs: 800 } });
  }

  async startController(): Promise<void> {
    this.#controller = await this.#world.startController({
      settings: ModelSystem.settings(),
      maker: this.#cloud.maker,
    });
  }

  /** Stops the controller (gracefully, or at once as a crash would) and starts a new one. */
  async restartController(crash: boolean): Promise<void> {
    const old = this.#controller;
    if (old) {
      if (crash) await old.kill();
      else await old.stop();
      this.#world.controllers.splice(this.#world.controllers.indexOf(old), 1);
    }
    await this.startController();
  }

  gatewayName(id: GatewayId): string {
    return `${this.#world.namespace}-${id}`;
  }

  #selector(tenants: Tenants) {
    return tenants === 'all' ? {} : { matchLabels: { tenant: tenants } };
  }

  /** Waits until an object deleted earlier is gone (its finalizer released), as a user recreating it would. */
  async #whenGone(ref: CustomObjectRef): Promise<void> {
    await eventually(
      `${ref.kind} ${ref.name} gone before it is created again`,
      async () => (await readCustomObject(this.#custom, ref)) === undefined,
      { timeoutMs: QUIET_TIMEOUT_MS },
    );
  }

  async createGateway(id: GatewayId, tenants: Tenants): Promise<void> {
    await this.#whenGone({ kind: 'EgressGateway', name: this.gatewayName(id) });
    const pool = this.#cloud.pools[id === 'g1' ? 0 : 1];
    await this.#world.createGateway(id, { ips: [...pool], namespaceSelector: this.#selector(tenants) });
    this.#deleted.delete(`EgressGateway/${this.gatewayName(id)}`);
  }

  async setGatewayTenants(id: GatewayId, tenants: Tenants): Promise<void> {
    // A merge patch: null drops the old matchLabels ({} admits every namespace).
    const namespaceSelector = tenants === 'all' ? { matchLabels: null } : this.#selector(tenants);
    await patchCustomObject(
      this.#custom,
      { kind: 'EgressGateway', name: this.gatewayName(id) },
      { spec: { namespaceSelector } },
    );
  }

  async deleteGateway(id: GatewayId): Promise<void> {
    await this.#world.deleteGateway(this.gatewayName(id));
    this.#deleted.add(`EgressGateway/${this.gatewayName(id)}`);
  }

  #spec(gateway: GatewayId, want: Want): Partial<EgressPolicySpec> & { gatewayName: string } {
    const gatewayName = this.gatewayName(gateway);
    if ('count' in want) return { gatewayName, count: want.count };
    return { gatewayName, egressIPs: [this.#cloud.pools[gateway === 'g1' ? 0 : 1][want.ip]!] };
  }

  async createPolicy(name: string, tenant: 'a' | 'b', gateway: GatewayId, want: Want): Promise<void> {
    await this.#whenGone({ kind: 'EgressPolicy', name, namespace: this.#tenants[tenant] });
    await this.#world.createPolicy(name, this.#spec(gateway, want), this.#tenants[tenant]);
    this.#deleted.delete(`EgressPolicy/${this.#tenants[tenant]}/${name}`);
  }

  async editPolicy(name: string, tenant: 'a' | 'b', gateway: GatewayId, want: Want): Promise<void> {
    const spec = this.#spec(gateway, want);
    // Merge patch: the field not asked for is dropped (count and egressIPs are exclusive).
    const body = { ...spec, ...('count' in spec ? { egressIPs: null } : { count: null }) };
    await patchCustomObject(
      this.#custom,
      { kind: 'EgressPolicy', name, namespace: this.#tenants[tenant] },
      { spec: body },
    );
  }

  async deletePolicy(name: string, tenant: 'a' | 'b'): Promise<void> {
    const namespace = this.#tenants[tenant];
    const key = `EgressPolicy/${namespace}/${name}`;
    const before = await this.#world.getPolicy(name, namespace);
    for (const a of before?.status?.assignments ?? []) if (a.ip) this.#goneIPs.set(a.ip, key);
    await deleteCustomObject(this.#custom, { kind: 'EgressPolicy', name, namespace });
    this.#deleted.add(key);
  }

  async setNodeReady(short: string, ready: boolean): Promise<void> {
    await this.#world.setNodeReady(short, { ready });
    if (ready) this.#notReady.delete(short);
    else this.#notReady.add(short);
  }

  async cordon(short: string, cordoned: boolean): Promise<void> {
    await this.#world.cordon(short, cordoned);
    if (cordoned) this.#cordoned.add(short);
    else this.#cordoned.delete(short);
  }

  /** Has the cloud tell a lie; see lying-cloud.case.ts. */
  lie(tell: (lies: ModelCloud['lies']) => void): void {
    this.#lied = true;
    tell(this.#cloud.lies);
  }

  /** The world now: the cloud read first, so an IP it holds is named by a status written before. */
  async snapshot(): Promise<Snapshot> {
    const cloud = new Map<string, string[]>();
    for (const [short, ips] of await this.#cloud.holdings()) {
      for (const ip of ips) cloud.set(ip, [...(cloud.get(ip) ?? []), this.#world.node(short)]);
    }
    const list = async (kind: 'EgressPolicy' | 'ClusterEgressPolicy' | 'EgressGateway') => {
      const { plural } = KIND_NAMES[kind];
      const answer = (await this.#custom.listClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural,
      })) as {
        items: (AnyEgressPolicy | EgressGateway)[];
      };
      return answer.items;
    };
    const mine = new Set(Object.values(this.#tenants));
    const policies = (await list('EgressPolicy')).filter((p) => mine.has(p.metadata.namespace ?? ''));
    const prefix = `${this.#world.namespace}-`;
    const gateways = (await list('EgressGateway')).filter((g) => g.metadata.name?.startsWith(prefix));
    const namespaces = new Map<string, Record<string, string>>();
    for (const ns of mine) {
      namespaces.set(ns, (await this.#core.readNamespace({ name: ns })).metadata?.labels ?? {});
    }
    return {
      cloud,
      policies: policies as AnyEgressPolicy[],
      gateways: gateways as EgressGateway[],
      namespaces,
      deleted: this.#deleted,
      goneIPs: this.#lied ? new Map() : this.#goneIPs,
      eligibleNodes: this.#cloud.nodes.filter(
        (n) => !this.#notReady.has(n.short) && !this.#cordoned.has(n.short),
      ).length,
      perNode: this.#cloud.perNode,
      poolSize: this.#cloud.pools[0].length,
    };
  }

  /** What must hold after every step, and since the step before; throws naming the violations. */
  async checkSafety(): Promise<void> {
    const now = await this.snapshot();
    const violations = [...safetyViolations(now), ...this.#sincePrevious(now)];
    if (violations.length > 0) throw new Error(`after ${this.log.at(-1)}: ${violations.join('; ')}`);
  }

  /** The invariants between the last snapshot checked and `now`, which becomes the last. */
  #sincePrevious(now: Snapshot): string[] {
    const out = this.#previous ? holderViolations(this.#previous, now) : [];
    this.#previous = now;
    return out;
  }

  /**
   * Quiescence: no new lies (those told still land), then the quiescence invariants holding twice, 300 ms
   * apart; throws naming the violations of the last look after {@link QUIET_TIMEOUT_MS}.
   */
  async settle(): Promise<void> {
    this.#cloud.lies.clear();
    await this.#cloud.lies.settled();
    const deadline = performance.now() + QUIET_TIMEOUT_MS;
    let last: string[] = [];
    let quietSince: number | undefined;
    for (;;) {
      const now = await this.snapshot();
      last = quiescenceViolations(now);
      const held = this.#sincePrevious(now);
      if (held.length > 0) throw new Error(`while settling after ${this.log.at(-1)}: ${held.join('; ')}`);
      if (last.length === 0) {
        quietSince ??= performance.now();
        if (performance.now() - quietSince >= 300) break;
      } else quietSince = undefined;
      if (performance.now() > deadline) {
        throw new Error(`not quiet ${QUIET_TIMEOUT_MS} ms after ${this.log.at(-1)}: ${last.join('; ')}`);
      }
      await sleep(100);
    }
    this.#lied = false;
    this.#goneIPs.clear();
  }

  /** Stops the controller and deletes what the run created. */
  async close(): Promise<void> {
    await this.#world.close();
    for (const ns of Object.values(this.#tenants)) {
      try {
        await this.#core.deleteNamespace({ name: ns });
      } catch {
        // already gone
      }
    }
  }
}
