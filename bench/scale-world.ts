/**
 * @module
 * The scale world of `npm run bench controller-scale`, as a pure description ({@link scaleShape}) and its
 * building on a real API server ({@link buildScaleWorld}) and in the in-memory cloud
 * ({@link addScaleInstances}). Scale `k` = 4 is the full world of issue 20; `k` = 1 is a quarter of it.
 *
 * | part                | per k (k = 4: the full world)                                        |
 * |---------------------|----------------------------------------------------------------------|
 * | gateway `big`       | 10 nodes (capacity 600), 50 policies of 50 IPs: 250 IPs per node      |
 * | 50k - 1 small ones  | 240 nodes (~5 each, capacity 50), 1,200 policies of 2 or 3 IPs       |
 * | Nodes               | 250, Ready, no kubelet (status written here)                         |
 * | policies / IPs      | 1,250 EgressPolicies in 25 namespaces / 5,000 egress IPs             |
 * | Pods                | 12,500 bound Pods (50 a node, one of them the node's agent Pod)      |
 *
 * Gateway `i` owns the subnet 10.i.0.0/16: its nodes are 10.i.0.10 and up, its pool 10.i.1.0/24 (small)
 * or 10.0.64.0/18 (`big`).
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import pMap from 'p-map';
import type { InMemoryCloud } from '../providers/inmemory/index.ts';
import {
  createBoundPod,
  createCustomObject,
  createNode,
  egressGateway,
  egressPolicy,
} from '../test/controller/index.ts';

/** The label that puts a Node into a gateway. */
export const GATEWAY_LABEL = 'bench.cloudegress.io/gateway';
/** The namespace and labels of the agent Pods. */
export const AGENT_NAMESPACE = 'cloud-egress';
export const AGENT_SELECTOR = 'app=cloud-egress-agent';
/** The big gateway, whose nodes hold 250 IPs each. */
export const BIG = 'big';

/** One Node (and its cloud instance). */
export interface ScaleNode {
  readonly name: string;
  readonly gateway: string;
  readonly primaryIP: string;
  readonly subnet: string;
  readonly limit: number;
}

/** One EgressPolicy. */
export interface ScalePolicy {
  readonly name: string;
  readonly namespace: string;
  readonly gateway: string;
  readonly count: number;
}

/** The world at scale `k`. */
export interface ScaleShape {
  readonly k: number;
  readonly nodes: readonly ScaleNode[];
  readonly gateways: readonly { readonly name: string; readonly pool: string }[];
  readonly namespaces: readonly string[];
  readonly policies: readonly ScalePolicy[];
  readonly podsPerNode: number;
  /** Egress IPs all policies ask for. */
  readonly ips: number;
}

const ZONE = 'zone-a';

/** The world at scale `k` (see the module table). */
export function scaleShape(k: number): ScaleShape {
  const gateways: { name: string; pool: string }[] = [{ name: BIG, pool: '10.0.64.0/18' }];
  const smallCount = 50 * k - 1;
  for (let g = 1; g <= smallCount; g++) gateways.push({ name: `gw-${g}`, pool: `10.${g}.1.0/24` });
  const nodes: ScaleNode[] = [];
  for (let i = 0; i < 10 * k; i++) {
    nodes.push({
      name: `node-big-${i}`,
      gateway: BIG,
      primaryIP: `10.0.0.${10 + i}`,
      subnet: '10.0.0.0/16',
      limit: 600,
    });
  }
  const perGateway = new Map<number, number>();
  for (let j = 0; j < 240 * k; j++) {
    const g = 1 + (j % smallCount);
    const index = perGateway.get(g) ?? 0;
    perGateway.set(g, index + 1);
    nodes.push({
      name: `node-${j}`,
      gateway: `gw-${g}`,
      primaryIP: `10.${g}.0.${10 + index}`,
      subnet: `10.${g}.0.0/16`,
      limit: 50,
    });
  }
  const namespaces = Array.from({ length: 25 * k }, (_, i) => `ns-${i}`);
  const policies: ScalePolicy[] = [];
  for (let p = 0; p < 50 * k; p++) {
    policies.push({
      name: `big-${p}`,
      namespace: namespaces[p % namespaces.length]!,
      gateway: BIG,
      count: 50,
    });
  }
  for (let q = 0; q < 1200 * k; q++) {
    policies.push({
      name: `p-${q}`,
      namespace: namespaces[q % namespaces.length]!,
      gateway: `gw-${1 + (q % smallCount)}`,
      count: q < 100 * k ? 3 : 2,
    });
  }
  const ips = policies.reduce((sum, p) => sum + p.count, 0);
  return { k, nodes, gateways, namespaces, policies, podsPerNode: 50, ips };
}

/** The in-memory cloud's instances of the world's nodes. */
export function addScaleInstances(cloud: InMemoryCloud, shape: ScaleShape): void {
  for (const n of shape.nodes) {
    cloud.addInstance({ name: n.name, zone: ZONE, subnet: n.subnet, primaryIP: n.primaryIP, limit: n.limit });
  }
}

/** How long each kind took to create, in ms. */
export interface BuildTimes {
  readonly nodesMs: number;
  readonly gatewaysMs: number;
  readonly policiesMs: number;
  readonly podsMs: number;
}

const CONCURRENCY = 48;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/**
 * Creates the world's objects on the API server (Nodes with their Ready status, namespaces, gateways,
 * policies, Pods), `CONCURRENCY` requests at a time, and returns how long each kind took.
 */
export async function buildScaleWorld(kubeConfig: KubeConfig, shape: ScaleShape): Promise<BuildTimes> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const nodesMs = await timed(() =>
    pMap(
      shape.nodes,
      (n) =>
        createNode(core, {
          name: n.name,
          providerID: `inmemory:///${ZONE}/${n.name}`,
          zone: ZONE,
          labels: { [GATEWAY_LABEL]: n.gateway },
          address: n.primaryIP,
          ready: true,
        }),
      { concurrency: CONCURRENCY },
    ),
  );
  await pMap(
    [...shape.namespaces, AGENT_NAMESPACE],
    (name) => core.createNamespace({ body: { metadata: { name } } }),
    {
      concurrency: CONCURRENCY,
    },
  );
  const gatewaysMs = await timed(() =>
    pMap(
      shape.gateways,
      (g) =>
        createCustomObject(
          custom,
          egressGateway({
            name: g.name,
            spec: {
              nodeSelector: { matchLabels: { [GATEWAY_LABEL]: g.name } },
              ips: [g.pool],
              namespaceSelector: {},
            },
          }),
        ),
      { concurrency: CONCURRENCY },
    ),
  );
  const policiesMs = await timed(() =>
    pMap(
      shape.policies,
      (p) =>
        createCustomObject(
          custom,
          egressPolicy({
            name: p.name,
            namespace: p.namespace,
            spec: { gatewayName: p.gateway, count: p.count, podSelector: { matchLabels: { app: p.name } } },
          }),
        ),
      { concurrency: CONCURRENCY },
    ),
  );
  const pods = shape.nodes.flatMap((node, n) =>
    Array.from({ length: shape.podsPerNode }, (_, i) => {
      if (i === 0) {
        return {
          namespace: AGENT_NAMESPACE,
          name: `agent-${node.name}`,
          node: node.name,
          labels: { app: 'cloud-egress-agent' },
        };
      }
      const policy = shape.policies[(n * shape.podsPerNode + i) % shape.policies.length]!;
      return {
        namespace: policy.namespace,
        name: `pod-${node.name}-${i}`,
        node: node.name,
        labels: { app: policy.name },
      };
    }),
  );
  const podsMs = await timed(() =>
    pMap(pods, (pod) => createBoundPod(core, pod), { concurrency: CONCURRENCY }),
  );
  return { nodesMs, gatewaysMs, policiesMs, podsMs };
}
