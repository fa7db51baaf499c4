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
  type V1Node,
} from '@kubernetes/client-node';
import { createInMemoryProviderFor, InMemoryCloud } from '../../providers/inmemory/index.ts';
import { FINALIZER } from '../../src/api/annotations.ts';
import type { EgressGateway } from '../../src/api/egress-gateway.ts';
import type { ClusterEgressPolicy, EgressPolicy } from '../../src/api/egress-policy.ts';
import {
  API_VERSION,
  CLUSTER_EGRESS_POLICY,
  EGRESS_GATEWAY,
  EGRESS_POLICY,
  GROUP,
  VERSION,
} from '../../src/api/group.ts';
import { Controller } from '../../src/controller/controller.ts';
import type { ControllerSettings } from '../../src/controller/controller-settings.ts';
import type { ProviderMaker } from '../../src/controller/provider-pool.ts';
import { createLogger, type Logger, silentLogger } from '../../src/log.ts';
import type { CloudProvider } from '../../src/provider/contract.ts';
import { freePorts } from '../harness/ports.ts';
import { createBoundPod, deleteBoundPod } from '../support/bound-pods.ts';

/** Controller settings for tests: fast probes and leases, fast resync. */
export function testSettings(
  overrides: Partial<ControllerSettings> = {},
  lease?: { namespace: string },
): ControllerSettings {
  return {
    provider: 'auto',
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
    ...overrides,
  };
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
  readonly #policies: { kind: 'EgressPolicy' | 'ClusterEgressPolicy'; name: string; namespace?: string }[] =
    [];
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
    await this.addNodeObject(spec.name, `inmemory:///${spec.zone}/${name}`, spec.zone, address);
    return agent;
  }

  /** Creates a Ready Node with any providerID (e.g. an instance in LocalStack). */
  async addNodeObject(short: string, providerID: string, zone: string, address: string): Promise<void> {
    const name = this.node(short);
    await this.core.createNode({
      body: {
        metadata: { name, labels: { [this.label]: 'true', 'topology.kubernetes.io/zone': zone } },
        spec: { providerID },
      },
    });
    this.#nodes.push(name);
    await this.setNodeReady(short, true, address);
  }

  /** Full Node name of a short name. */
  node(short: string): string {
    return `${this.namespace}-${short}`;
  }

  /** Sets the Node's Ready condition (and InternalIP) through the status subresource. */
  async setNodeReady(short: string, ready: boolean, address?: string): Promise<void> {
    const name = this.node(short);
    const node = await this.core.readNode({ name });
    const now = new Date();
    const body: V1Node = {
      ...node,
      status: {
        ...node.status,
        conditions: [
          {
            type: 'Ready',
            status: ready ? 'True' : 'False',
            reason: ready ? 'KubeletReady' : 'NodeStatusUnknown',
            lastHeartbeatTime: now,
            lastTransitionTime: now,
          },
        ],
        ...(address ? { addresses: [{ type: 'InternalIP', address }] } : {}),
      },
    };
    await this.core.replaceNodeStatus({ name, body });
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
  async deleteAgentPod(name: string, force = false): Promise<void> {
    await deleteBoundPod(this.core, this.namespace, name, force);
  }

  /** Creates an EgressGateway selecting this world's nodes. */
  async createGateway(
    name: string,
    spec: Partial<EgressGateway['spec']> = {},
    annotations?: Record<string, string>,
  ): Promise<string> {
    const full = `${this.namespace}-${name}`;
    await this.custom.createClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: EGRESS_GATEWAY.plural,
      body: {
        apiVersion: API_VERSION,
        kind: 'EgressGateway',
        metadata: { name: full, ...(annotations ? { annotations } : {}) },
        spec: { nodeSelector: { matchLabels: { [this.label]: 'true' } }, ...spec },
      },
    });
    this.#gateways.push(full);
    return full;
  }

  async createPolicy(
    name: string,
    spec: Partial<EgressPolicy['spec']> & { gatewayName: string },
    namespace = this.namespace,
  ): Promise<void> {
    await this.custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: EGRESS_POLICY.plural,
      namespace,
      body: {
        apiVersion: API_VERSION,
        kind: 'EgressPolicy',
        metadata: { name },
        spec: { podSelector: {}, ...spec },
      },
    });
    this.#policies.push({ kind: 'EgressPolicy', name, namespace });
  }

  async createClusterPolicy(
    name: string,
    spec: Partial<ClusterEgressPolicy['spec']> & { gatewayName: string },
  ): Promise<string> {
    const full = `${this.namespace}-${name}`;
    await this.custom.createClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: CLUSTER_EGRESS_POLICY.plural,
      body: {
        apiVersion: API_VERSION,
        kind: 'ClusterEgressPolicy',
        metadata: { name: full },
        spec: { podSelector: {}, namespaceSelector: {}, ...spec },
      },
    });
    this.#policies.push({ kind: 'ClusterEgressPolicy', name: full });
    return full;
  }

  async getPolicy(name: string, namespace = this.namespace): Promise<EgressPolicy | undefined> {
    try {
      return (await this.custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: EGRESS_POLICY.plural,
        namespace,
        name,
      })) as EgressPolicy;
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  }

  async getGateway(name: string): Promise<EgressGateway> {
    return (await this.custom.getClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: EGRESS_GATEWAY.plural,
      name,
    })) as EgressGateway;
  }

  async deletePolicy(name: string, namespace = this.namespace): Promise<void> {
    await this.custom.deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: EGRESS_POLICY.plural,
      namespace,
      name,
    });
  }

  async patchPolicySpec(
    name: string,
    spec: Partial<EgressPolicy['spec']>,
    namespace = this.namespace,
  ): Promise<void> {
    await this.custom.patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, plural: EGRESS_POLICY.plural, namespace, name, body: { spec } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
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
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    const strip = { metadata: { finalizers: [] } };
    const quiet = async (call: () => Promise<unknown>) => {
      try {
        await call();
      } catch {
        // already gone
      }
    };
    for (const p of this.#policies) {
      if (p.kind === 'EgressPolicy') {
        const ref = {
          group: GROUP,
          version: VERSION,
          plural: EGRESS_POLICY.plural,
          namespace: p.namespace!,
          name: p.name,
        };
        await quiet(() => this.custom.patchNamespacedCustomObject({ ...ref, body: strip }, merge));
        await quiet(() => this.custom.deleteNamespacedCustomObject(ref));
      } else {
        const ref = { group: GROUP, version: VERSION, plural: CLUSTER_EGRESS_POLICY.plural, name: p.name };
        await quiet(() => this.custom.patchClusterCustomObject({ ...ref, body: strip }, merge));
        await quiet(() => this.custom.deleteClusterCustomObject(ref));
      }
    }
    for (const name of this.#gateways) {
      const ref = { group: GROUP, version: VERSION, plural: EGRESS_GATEWAY.plural, name };
      await quiet(() => this.custom.patchClusterCustomObject({ ...ref, body: strip }, merge));
      await quiet(() => this.custom.deleteClusterCustomObject(ref));
    }
    for (const name of this.#nodes) await quiet(() => this.core.deleteNode({ name }));
    for (const name of this.#agentPods) await quiet(() => this.deleteAgentPod(name, true));
  }
}

/** Whether `obj` carries the project's finalizer. */
export const hasFinalizer = (obj: { metadata: { finalizers?: string[] } } | undefined): boolean =>
  obj?.metadata.finalizers?.includes(FINALIZER) ?? false;
