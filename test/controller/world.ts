/**
 * @module
 * A world for controller tests and benchmarks on a real API server: an in-memory cloud shared with the
 * controllers under test (through the provider-factory seam), Node objects whose providerIDs point into that
 * cloud, fake agent health endpoints on loopback addresses, and helpers to create and read the custom
 * resources and Events.
 */
import { createServer, type Server } from 'node:http';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CoreV1Api,
  type CoreV1Event,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Taint,
} from '@kubernetes/client-node';
import { afterEach, beforeEach } from 'vitest';
import { createInMemoryProviderFor, InMemoryCloud } from '../../providers/inmemory/index.ts';
import { FINALIZER } from '../../src/api/annotations.ts';
import type { EgressGateway } from '../../src/api/egress-gateway.ts';
import type { ClusterEgressPolicy, EgressPolicy } from '../../src/api/egress-policy.ts';
import type { Condition } from '../../src/api/schema-common.ts';
import { Controller } from '../../src/controller/controller.ts';
import type { ControllerSettings } from '../../src/controller/controller-settings.ts';
import type { ProviderMaker } from '../../src/controller/provider-pool.ts';
import { DEFAULT_RETURN_PATH } from '../../src/kube/return-path.ts';
import { createLogger, type Logger, silentLogger } from '../../src/log.ts';
import type { ApplyResult, CloudProvider, Plan } from '../../src/provider/contract.ts';
import type { ConformanceWorld } from '../conformance/cloud-provider.case.ts';
import { freePorts } from '../harness/ports.ts';
import { type ControlPlaneFixture, useControlPlane } from '../harness/vitest.ts';
import { createBoundPod, deleteBoundPod } from '../support/bound-pods.ts';
import {
  type CustomObjectRef,
  createCustomObject,
  deleteCustomObject,
  patchCustomObject,
  readCustomObject,
} from '../support/custom-objects.ts';
import { egressGateway } from '../support/egress-gateways.ts';
import { clusterEgressPolicy, egressPolicy } from '../support/egress-policies.ts';
import { createNode, setNodeReady } from '../support/nodes.ts';

/** Controller settings for tests: fast probes and leases, fast resync. */
export function testSettings(
  overrides: Partial<ControllerSettings> = {},
  lease?: { namespace: string },
): ControllerSettings {
  return {
    provider: 'auto',
    testProviders: true,
    providerSettings: { owner: 'test-cluster' },
    probe: { intervalMs: 0, misses: 3, dampingMs: 0, agentHealthPort: 0 },
    leaderElection: {
      enabled: lease !== undefined,
      name: 'cloud-egress-controller',
      namespace: lease?.namespace ?? 'default',
      releaseOnCancel: true,
      leaseDurationMs: 2000,
      renewDeadlineMs: 1500,
      retryPeriodMs: 200,
    },
    resyncPeriodMs: 60_000,
    concurrency: 4,
    handoverSettleMs: 100,
    agentReturnPath: DEFAULT_RETURN_PATH,
    agentClusterCidrDiscovery: true,
    ...overrides,
  };
}

/**
 * Fault injection for {@link ControllerWorld.startController}'s `wrap`: the provider with its `apply`
 * replaced by `apply`, which may call the provider's own (`inner.apply`) or not; reads pass through.
 */
export function interceptApply(
  apply: (plan: Plan, signal: AbortSignal | undefined, inner: CloudProvider) => Promise<ApplyResult>,
): (inner: CloudProvider) => CloudProvider {
  return (inner) => ({
    name: inner.name,
    capabilities: inner.capabilities,
    describeNode: (node, signal) => inner.describeNode(node, signal),
    listAssignments: (nodes, signal) => inner.listAssignments(nodes, signal),
    apply: (plan, signal) => apply(plan, signal, inner),
  });
}

/** A logger whose JSON lines the test can read. */
export function capturingLogger(name: string): { lines: string[]; logger: Logger } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'debug', name, destination }) };
}

/** A fake agent: answers GET /healthz with 200 while `up`. Bound on a loopback address. */
export class FakeAgent {
  up = true;
  readonly #server: Server;
  constructor(server: Server) {
    this.#server = server;
  }
  static async start(address: string, port: number): Promise<FakeAgent> {
    let agent: FakeAgent | undefined;
    const server = createServer((_req, res) => {
      res.statusCode = (agent?.up ?? true) ? 200 : 503;
      res.end();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => resolve());
    });
    agent = new FakeAgent(server);
    return agent;
  }
  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

/** One test's world; see the module comment. */
export class ControllerWorld {
  readonly cloud = new InMemoryCloud();
  readonly kubeConfig: KubeConfig;
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
  /** Label every node of this world carries, so gateways select only this world's nodes. */
  readonly label: string;
  readonly controllers: Controller[] = [];
  readonly agents: FakeAgent[] = [];
  readonly #nodes: string[] = [];
  readonly #agentPods: string[] = [];
  readonly #gateways: string[] = [];
  readonly #policies: CustomObjectRef[] = [];
  #agentPort = 0;
  #nextAgentAddress = 2;

  readonly namespace: string;

  constructor(kubeConfig: KubeConfig, namespace: string) {
    this.namespace = namespace;
    this.kubeConfig = kubeConfig;
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
    this.label = `egress-${namespace}`;
  }

  /** A provider maker over this world's cloud, optionally wrapped (fault injection). */
  providerMaker(wrap: (p: CloudProvider) => CloudProvider = (p) => p): ProviderMaker {
    return (_name, settings) => wrap(createInMemoryProviderFor(this.cloud, settings));
  }

  /** Starts a controller on this world. */
  async startController(
    options: {
      settings?: ControllerSettings;
      identity?: string;
      wrap?: (p: CloudProvider) => CloudProvider;
      /** Another provider maker (e.g. AWS on LocalStack); default the world's in-memory cloud. */
      maker?: ProviderMaker;
      onFailover?: (node: string, ms: number) => void;
      logger?: Logger;
    } = {},
  ): Promise<Controller> {
    const controller = new Controller({
      kubeConfig: this.kubeConfig,
      settings: options.settings ?? testSettings(),
      ...(options.identity ? { identity: options.identity } : {}),
      providerMaker: options.maker ?? this.providerMaker(options.wrap),
      logger: options.logger ?? silentLogger(),
      ...(options.onFailover ? { onFailover: options.onFailover } : {}),
    });
    this.controllers.push(controller);
    await controller.start();
    return controller;
  }

  /** The port fake agents listen on (the controller's `agentHealthPort`). */
  async agentPort(): Promise<number> {
    if (!this.#agentPort) this.#agentPort = (await freePorts(1))[0] ?? 0;
    return this.#agentPort;
  }

  /**
   * Adds a cloud instance and its Node (Ready, providerID `inmemory:///<zone>/<name>`). With `agent`, a fake
   * agent answers health probes on a loopback address that becomes the Node's InternalIP.
   */
  async addNode(spec: {
    name: string;
    zone: string;
    subnet: string;
    primaryIP: string;
    limit?: number;
    agent?: boolean;
    /** Labels of the Node besides the world's (e.g. to split the nodes between gateways). */
    labels?: Record<string, string>;
    /** The Node's `spec.podCIDR`. */
    podCIDR?: string;
  }): Promise<FakeAgent | undefined> {
    const name = `${this.namespace}-${spec.name}`;
    this.cloud.addInstance({ ...spec, name });
    let agent: FakeAgent | undefined;
    let address = spec.primaryIP;
    if (spec.agent) {
      address = `127.0.0.${this.#nextAgentAddress++}`;
      agent = await FakeAgent.start(address, await this.agentPort());
      this.agents.push(agent);
    }
    await this.addNodeObject({
      name: spec.name,
      providerID: `inmemory:///${spec.zone}/${name}`,
      zone: spec.zone,
      address,
      ...(spec.labels ? { labels: spec.labels } : {}),
      ...(spec.podCIDR ? { podCIDR: spec.podCIDR } : {}),
    });
    return agent;
  }

  /**
   * Creates a Ready Node (short `name`, carrying the world's label) with any providerID (e.g. an instance
   * in LocalStack) and InternalIP `address`.
   */
  async addNodeObject(node: {
    name: string;
    providerID: string;
    zone: string;
    address: string;
    labels?: Record<string, string>;
    podCIDR?: string;
  }): Promise<void> {
    const name = this.node(node.name);
    await createNode(this.core, {
      ...node,
      name,
      labels: { ...node.labels, [this.label]: 'true' },
      ready: true,
    });
    this.#nodes.push(name);
  }

  /**
   * Creates the Nodes `a` and `b` of a conformance world's cloud (in zone `zone-1`): their providerIDs and
   * primary IPs as InternalIP.
   */
  async addCloudNodes(cloud: Pick<ConformanceWorld, 'nodes' | 'primaryIP'>): Promise<void> {
    for (const short of ['a', 'b'] as const) {
      const node = cloud.nodes[short];
      await this.addNodeObject({
        name: short,
        providerID: node.ref.providerID,
        zone: 'zone-1',
        address: await cloud.primaryIP(node),
      });
    }
  }

  /** Creates the Node (short `name`) of a cloud instance: its providerID, zone and primary IP as InternalIP. */
  async addInstanceNode(
    name: string,
    instance: { ref: { providerID: string }; zone: string; primaryIP: string },
  ): Promise<void> {
    await this.addNodeObject({
      name,
      providerID: instance.ref.providerID,
      zone: instance.zone,
      address: instance.primaryIP,
    });
  }

  /** Full Node name of a short name. */
  node(short: string): string {
    return `${this.namespace}-${short}`;
  }

  /** Sets the Node's Ready condition (and InternalIP) through the status subresource. */
  async setNodeReady(short: string, options: { ready: boolean; address?: string }): Promise<void> {
    await setNodeReady(this.core, this.node(short), options);
  }

  async deleteNode(short: string): Promise<void> {
    await this.core.deleteNode({ name: this.node(short) });
  }

  /** Cordons (or uncordons) a Node, as `kubectl cordon` does. */
  async cordon(short: string, unschedulable = true): Promise<void> {
    await this.core.patchNode(
      { name: this.node(short), body: { spec: { unschedulable } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  /** Sets the Node's taints (all of them), as the Cluster Autoscaler and Karpenter write theirs. */
  async taint(short: string, taints: V1Taint[]): Promise<void> {
    await this.core.patchNode(
      { name: this.node(short), body: { spec: { taints } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  /** Sets (or, with null, removes) annotations of the Node. */
  async annotateNode(short: string, annotations: Record<string, string | null>): Promise<void> {
    await this.core.patchNode(
      { name: this.node(short), body: { metadata: { annotations } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  /** Labels of this world's agent Pods (the controller's `agentPods.labelSelector`). */
  get agentPodSelector(): string {
    return `app=agent-${this.namespace}`;
  }

  /** Creates an agent Pod bound to the node (as the DaemonSet would; no kubelet runs it). */
  async addAgentPod(short: string): Promise<string> {
    const name = `agent-${short}-${(this.#agentPods.length + 1).toString()}`;
    await createBoundPod(this.core, {
      namespace: this.namespace,
      name,
      node: this.node(short),
      labels: { app: `agent-${this.namespace}` },
      image: 'cloud-egress:test',
    });
    this.#agentPods.push(name);
    return name;
  }

  /** Deletes an agent Pod: Terminating until `force` (see {@link deleteBoundPod}). */
  async deleteAgentPod(name: string, options: { force?: boolean } = {}): Promise<void> {
    await deleteBoundPod(this.core, this.namespace, name, options);
  }

  /** Creates an EgressGateway selecting this world's nodes. */
  async createGateway(
    name: string,
    spec: Partial<EgressGateway['spec']> = {},
    annotations?: Record<string, string>,
  ): Promise<string> {
    const full = `${this.namespace}-${name}`;
    await createCustomObject(
      this.custom,
      egressGateway({
        name: full,
        spec: { nodeSelector: { matchLabels: { [this.label]: 'true' } }, ...spec },
        ...(annotations ? { annotations } : {}),
      }),
    );
    this.#gateways.push(full);
    return full;
  }

  /** Creates an EgressPolicy (in the world's namespace unless told); `podSelector` defaults to all pods. */
  async createPolicy(
    name: string,
    spec: Partial<EgressPolicy['spec']> & { gatewayName: string },
    namespace = this.namespace,
  ): Promise<void> {
    await createCustomObject(
      this.custom,
      egressPolicy({ name, namespace, spec: { podSelector: {}, ...spec } }),
    );
    this.#policies.push({ kind: 'EgressPolicy', name, namespace });
  }

  /** Creates a ClusterEgressPolicy over all pods of all namespaces unless told; returns its full name. */
  async createClusterPolicy(
    name: string,
    spec: Partial<ClusterEgressPolicy['spec']> & { gatewayName: string },
  ): Promise<string> {
    const full = `${this.namespace}-${name}`;
    await createCustomObject(
      this.custom,
      clusterEgressPolicy({ name: full, spec: { podSelector: {}, namespaceSelector: {}, ...spec } }),
    );
    this.#policies.push({ kind: 'ClusterEgressPolicy', name: full });
    return full;
  }

  /** The EgressPolicy, or undefined when it is gone. */
  async getPolicy(name: string, namespace = this.namespace): Promise<EgressPolicy | undefined> {
    return readCustomObject<EgressPolicy>(this.custom, { kind: 'EgressPolicy', name, namespace });
  }

  /** The ClusterEgressPolicy (full name), or undefined when it is gone. */
  async getClusterPolicy(name: string): Promise<ClusterEgressPolicy | undefined> {
    return readCustomObject<ClusterEgressPolicy>(this.custom, { kind: 'ClusterEgressPolicy', name });
  }

  /** The EgressGateway (full name). @throws {Error} when there is none. */
  async getGateway(name: string): Promise<EgressGateway> {
    const gateway = await readCustomObject<EgressGateway>(this.custom, { kind: 'EgressGateway', name });
    if (!gateway) throw new Error(`no EgressGateway ${name}`);
    return gateway;
  }

  /** Deletes the EgressGateway (full name), as a user would: its finalizer holds it until released. */
  async deleteGateway(name: string): Promise<void> {
    await deleteCustomObject(this.custom, { kind: 'EgressGateway', name });
  }

  /** Deletes the EgressPolicy, as a user would: its finalizer holds it until released. */
  async deletePolicy(name: string, namespace = this.namespace): Promise<void> {
    await deleteCustomObject(this.custom, { kind: 'EgressPolicy', name, namespace });
  }

  /** Merge-patches the EgressPolicy's spec. */
  async patchPolicySpec(
    name: string,
    spec: Partial<EgressPolicy['spec']>,
    namespace = this.namespace,
  ): Promise<void> {
    await patchCustomObject(this.custom, { kind: 'EgressPolicy', name, namespace }, { spec });
  }

  /** Merge-patches the EgressGateway (full name): `{ spec: ... }` or `{ metadata: { annotations } }`. */
  async patchGateway(name: string, body: object): Promise<void> {
    await patchCustomObject(this.custom, { kind: 'EgressGateway', name }, body);
  }

  /** Merge-patches the ClusterEgressPolicy's spec (full name). */
  async patchClusterPolicySpec(name: string, spec: Partial<ClusterEgressPolicy['spec']>): Promise<void> {
    await patchCustomObject(this.custom, { kind: 'ClusterEgressPolicy', name }, { spec });
  }

  /** Events about an object (cluster-scoped objects' events are in `default`). */
  async events(name: string, namespace = this.namespace): Promise<CoreV1Event[]> {
    const list = await this.core.listNamespacedEvent({
      namespace,
      fieldSelector: `involvedObject.name=${name}`,
    });
    return list.items;
  }

  /** The cloud's placement: IP -> instance name, for every owned secondary IP; throws on an IP held twice. */
  cloudPlacement(): Map<string, string> {
    const placement = new Map<string, string>();
    for (const inst of this.cloud.instances.values()) {
      for (const ip of inst.secondary.keys()) {
        if (placement.has(ip)) throw new Error(`${ip} is held by ${placement.get(ip)} and ${inst.name}`);
        placement.set(ip, inst.name);
      }
    }
    return placement;
  }

  /** Stops controllers and agents, strips finalizers and deletes what the test created. */
  async close(): Promise<void> {
    // A reconcile stuck in a provider call (fault injection) must not hang the teardown: kill after 5 s.
    await Promise.all(
      this.controllers.map(async (c) => {
        const stopped = await Promise.race([
          c.stop().then(
            () => true,
            () => true,
          ),
          sleep(5000).then(() => false),
        ]);
        if (!stopped) await c.kill();
      }),
    );
    await Promise.all(this.agents.map((a) => a.stop()));
    const quiet = async (call: () => Promise<unknown>) => {
      try {
        await call();
      } catch {
        // already gone
      }
    };
    const gateways = this.#gateways.map((name): CustomObjectRef => ({ kind: 'EgressGateway', name }));
    for (const ref of [...this.#policies, ...gateways]) {
      await quiet(() => deleteCustomObject(this.custom, ref, { stripFinalizers: true }));
    }
    for (const name of this.#nodes) await quiet(() => this.core.deleteNode({ name }));
    for (const name of this.#agentPods) await quiet(() => this.deleteAgentPod(name, { force: true }));
  }
}

/**
 * A control plane for the test file and a fresh {@link ControllerWorld} for each test on it (closed after the
 * test). Call at the top level of a test file; read `world` inside tests.
 */
export function useControllerWorld(): {
  readonly kube: ControlPlaneFixture;
  readonly world: ControllerWorld;
} {
  const kube = useControlPlane();
  let world: ControllerWorld | undefined;
  beforeEach(() => {
    world = new ControllerWorld(kube.controlPlane.kubeConfig, kube.namespace);
  });
  afterEach(async () => {
    await world?.close();
  });
  return {
    kube,
    get world(): ControllerWorld {
      if (!world) throw new Error('no world outside a test');
      return world;
    },
  };
}

/** The condition of `type` in an object's status, if any. */
export const conditionOf = (
  obj: { status?: { conditions?: { type: string }[] } } | undefined,
  type: string,
): Condition | undefined => obj?.status?.conditions?.find((c) => c.type === type) as Condition | undefined;

/** Whether `obj` carries the project's finalizer. */
export const hasFinalizer = (obj: { metadata: { finalizers?: string[] } } | undefined): boolean =>
  obj?.metadata.finalizers?.includes(FINALIZER) ?? false;
