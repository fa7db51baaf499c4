/**
 * @module
 * `cloud-egress agent`: watches policies, nodes, namespaces, ServiceCIDRs (cluster-cidr-watch.ts) and this
 * node's pods (field selector `spec.nodeName`, never a cluster-wide pod list), and keeps the kernel in line
 * through {@link AgentSync}.
 * Serves `/healthz` (200 once the caches are synced and the last sync succeeded; the controller probes it
 * to decide whether a gateway node is healthy) and `/metrics`. With `--cleanup` it removes everything the
 * agent added on this node and returns.
 *
 * ```
 * informer event ─► kick (coalesced, 20 ms) ─► sync ─ok──► healthy
 *   (a pod event first updates the pod store,   │fail
 *    so the sync looks at that pod alone)       └─► unhealthy, retry after capped jittered backoff
 * a planned move under way here (handingOver) ─► half-open connections adopted every 100 ms until it ends
 * every resyncMs ─► pod store refilled from the informer's cache, cached kernel state and decision
 *                   forgotten, sync (every pod looked at again; repairs drift); an unserved ServiceCIDR
 *                   API asked again
 * stop ─► informers and server stop; the dataplane stays (a restart must not cut traffic)
 * ```
 */
import {
  CoreV1Api,
  type KubeConfig,
  type KubernetesObject,
  type V1Namespace,
  type V1Node,
  type V1Pod,
  type V1ServiceCIDR,
} from '@kubernetes/client-node';
import type { AnyEgressPolicy } from '../api/index.ts';
import { backoffDelay } from '../kube/backoff.ts';
import { type HttpEndpoint, serveHttp } from '../kube/http-server.ts';
import { type InformerEventType, listWatchFactory, ResilientInformer } from '../kube/informer.ts';
import { createKubeApi, WATCH_PATHS } from '../kube/kube-api.ts';
import { loadKubeConfig } from '../kube/kube-config.ts';
import { probeServiceCidrs } from '../kube/service-cidr-api.ts';
import type { Logger } from '../log.ts';
import type { AgentConfig } from './agent-config.ts';
import type { AgentInputs, NodeIdentity } from './agent-inputs.ts';
import { AgentSync } from './agent-sync.ts';
import { cleanupAgent } from './cleanup-agent.ts';
import { ClusterCidrWatch } from './cluster-cidr-watch.ts';
import { HandoverAdopter } from './handover-adopter.ts';
import { namespaceLabels, podKey, toLocalPod, toNodeAddress } from './k8s-inputs.ts';
import { deviceOf, gateway6Of, gatewayOf, readMtu } from './linux/iproute.ts';
import { LinuxDataplane } from './linux/linux-dataplane.ts';
import { NftSession } from './linux/nft-session.ts';
import { procSysReader, procSysWriter, type SysctlReader, type SysctlWriter } from './linux/proc-sys.ts';
import { type CommandLine, commandRunner } from './linux/run-command.ts';
import { LocalPodStore } from './local-pods.ts';
import { createAgentMetrics } from './metrics.ts';

/** What the agent needs from outside. */
export interface AgentDeps {
  readonly logger: Logger;
  /**
   * How every command starts (`ip`, `nft`, `conntrack`, the long-lived `nft -i`): one line for all, so that no
   * write can land in another namespace than the rest; default: as is, in this process's network namespace.
   */
  readonly commandLine?: CommandLine;
  /** Writes kernel settings; default: files under `config.procSys` (this process's network namespace). */
  readonly sysctl?: SysctlWriter;
  /** Reads kernel settings; default as {@link sysctl}. */
  readonly sysctlRead?: SysctlReader;
  /** Default: from `config.kubeconfig`, else in-cluster, else `~/.kube/config`. */
  readonly kubeConfig?: KubeConfig;
}

/** A running agent. */
export interface RunningAgent {
  /** `host:port` of `/healthz` and `/metrics` (empty for `--cleanup`). */
  readonly healthAddress: string;
  /** Resolves after the first successful sync (at once for `--cleanup`). */
  readonly firstSync: Promise<void>;
  /** Stops watching and serving; the dataplane is left in place. */
  stop(): Promise<void>;
}

/**
 * How often the half-open connections of a planned move are adopted while it is under way: a connection
 * opened during the move waits at most this long, after the cloud moves the IP, to flow again.
 */
export const HANDOVER_ADOPT_INTERVAL_MS = 100;

/** Thrown when the agent cannot start (no node IP, no interface...). */
export class AgentStartError extends Error {
  override readonly name = 'AgentStartError';
}

/**
 * The agent's Linux dataplane for `config`: commands, the `nft -i` session and kernel settings (under
 * `config.procSys`) in this process's network namespace unless `deps` binds them elsewhere.
 */
export function agentDataplane(
  config: Pick<AgentConfig, 'dataplane' | 'announce' | 'procSys'>,
  deps: Pick<AgentDeps, 'logger' | 'commandLine' | 'sysctl' | 'sysctlRead'>,
): LinuxDataplane {
  return new LinuxDataplane({
    run: commandRunner(deps.commandLine),
    settings: config.dataplane,
    announce: config.announce,
    logger: deps.logger,
    session: new NftSession(deps.commandLine ? { line: deps.commandLine } : {}),
    sysctl: deps.sysctl ?? procSysWriter(config.procSys),
    sysctlRead: deps.sysctlRead ?? procSysReader(config.procSys),
  });
}

/** Runs the agent; see the module comment. */
export async function runAgent(config: AgentConfig, deps: AgentDeps): Promise<RunningAgent> {
  const run = commandRunner(deps.commandLine);
  const log = deps.logger;

  if (config.cleanup) {
    await cleanupAgent(config, { logger: log, run });
    return { healthAddress: '', firstSync: Promise.resolve(), stop: async () => {} };
  }

  const kc =
    deps.kubeConfig ??
    loadKubeConfig(config.kubeconfig ? { kind: 'file', path: config.kubeconfig } : { kind: 'default' });
  const lists = createKubeApi(kc).lists;
  const core = kc.makeApiClient(CoreV1Api);
  const fieldSelector = `spec.nodeName=${config.nodeName}`;
  let kick: () => void = () => {};
  // Node events also change the discovered pod CIDRs (set once the watch exists; it starts out to compute).
  let onNodeEvent: () => void = () => {};
  // The informer's events keep it, from the first list on: a sync after one pod event looks at that pod.
  const pods = new LocalPodStore();
  const onPodEvent = (type: InformerEventType, pod: V1Pod) =>
    type === 'delete' ? pods.delete(podKey(pod)) : pods.set(podKey(pod), toLocalPod(pod));
  const informer = <T extends KubernetesObject>(
    name: string,
    path: string,
    list: () => Promise<unknown>,
    options: { fieldSelector?: string; onEvent?: (type: InformerEventType, obj: T) => void } = {},
  ) =>
    new ResilientInformer<T>({
      name,
      create: listWatchFactory<T>(
        {
          path,
          list: list as never,
          ...(options.fieldSelector ? { fieldSelector: options.fieldSelector } : {}),
        },
        { kubeConfig: kc },
      ),
      onEvent: (type, obj) => {
        options.onEvent?.(type, obj);
        kick();
      },
      logger: log,
    });
  const informers = {
    policies: informer<KubernetesObject>('egresspolicies', WATCH_PATHS.policies, lists.policies),
    clusterPolicies: informer<KubernetesObject>(
      'clusteregresspolicies',
      WATCH_PATHS.clusterPolicies,
      lists.clusterPolicies,
    ),
    nodes: informer<V1Node>('nodes', WATCH_PATHS.nodes, lists.nodes, { onEvent: () => onNodeEvent() }),
    namespaces: informer<V1Namespace>('namespaces', WATCH_PATHS.namespaces, lists.namespaces),
    pods: informer<V1Pod>('pods', '/api/v1/pods', () => core.listPodForAllNamespaces({ fieldSelector }), {
      fieldSelector,
      onEvent: onPodEvent,
    }),
  };
  await Promise.all(Object.values(informers).map((i) => i.start()));

  const nodes = () =>
    informers.nodes
      .list()
      .map(toNodeAddress)
      .filter((n) => n !== undefined);
  const nodeIp = config.nodeIp ?? nodes().find((n) => n.name === config.nodeName)?.ip;
  if (!nodeIp) {
    await Promise.all(Object.values(informers).map((i) => i.stop()));
    throw new AgentStartError(`node ${config.nodeName} has no InternalIP; pass --node-ip`);
  }
  const iface = config.iface ?? (await deviceOf(run, nodeIp));
  if (!iface) {
    await Promise.all(Object.values(informers).map((i) => i.stop()));
    throw new AgentStartError(`no interface holds the node IP ${nodeIp}; pass --interface`);
  }
  const mtu = await readMtu(run, iface);
  let egress: NodeIdentity['egress'];
  if (config.egressIface !== undefined && config.egressIface !== iface) {
    const gateway =
      config.egressGateway ?? (await gatewayOf(run, config.egressIface, config.dataplane.routeProtocol));
    if (!gateway) {
      await Promise.all(Object.values(informers).map((i) => i.stop()));
      throw new AgentStartError(
        `the egress interface ${config.egressIface} has no default route and no subnet; pass --egress-gateway`,
      );
    }
    const gateway6 = await gateway6Of(run, config.egressIface, config.dataplane.routeProtocol);
    if (!gateway6) {
      deps.logger.info(
        { iface: config.egressIface },
        'the egress interface has no IPv6 default route: IPv6 egress IPs there leave by the main IPv6 routes',
      );
    }
    egress = { iface: config.egressIface, gateway, ...(gateway6 ? { gateway6 } : {}) };
  }

  const dataplane = agentDataplane(config, deps);
  const metrics = createAgentMetrics({ snatCounters: () => dataplane.snatCounters() });
  const sync = new AgentSync({ dataplane, settings: config.dataplane, metrics, logger: log });
  const adopter = new HandoverAdopter({
    adopt: (ips) => dataplane.adoptHandoverFlows(ips),
    intervalMs: HANDOVER_ADOPT_INTERVAL_MS,
    logger: log,
    onAdopted: (count) => metrics.handoverFlowsAdopted.inc(count),
    tracking: (on) => dataplane.handoverTracking(on),
  });
  const cidrs = new ClusterCidrWatch({
    configured: config.clusterCidrs,
    discover: config.discoverClusterCidrs,
    nodes: () => informers.nodes.list(),
    probe: () => probeServiceCidrs(lists.serviceCIDRs),
    informer: (onEvent) =>
      informer<V1ServiceCIDR>('servicecidrs', WATCH_PATHS.serviceCIDRs, lists.serviceCIDRs, { onEvent }),
    onChange: () => kick(),
    metrics,
    logger: log,
  });
  onNodeEvent = () => cidrs.invalidate();
  await cidrs.start();

  const inputs = (): AgentInputs => ({
    node: { name: config.nodeName, ip: nodeIp, iface, mtu, ...(egress ? { egress } : {}) },
    policies: [...informers.policies.list(), ...informers.clusterPolicies.list()] as AnyEgressPolicy[],
    nodes: nodes(),
    pods,
    namespaceLabels: namespaceLabels(informers.namespaces.list()),
    clusterCidrs: cidrs.current(),
  });

  let healthy = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;
  let failures = 0;
  let resolveFirst: () => void = () => {};
  const firstSync = new Promise<void>((r) => {
    resolveFirst = r;
  });
  const schedule = (ms: number) => {
    if (stopped || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void once();
    }, ms);
  };
  const once = async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      const outcome = await sync.sync(inputs());
      adopter.update(outcome.result.handingOver);
      healthy = true;
      failures = 0;
      resolveFirst();
    } catch (err) {
      healthy = false;
      failures++;
      const retryMs = backoffDelay(failures, { baseMs: 200, maxMs: 10_000, jitter: 0.3 });
      log.error({ err, retryMs }, 'dataplane sync failed');
      sync.resync();
      setTimeout(() => schedule(0), retryMs).unref();
    } finally {
      running = false;
      if (again) {
        again = false;
        schedule(0);
      }
    }
  };
  kick = () => schedule(20);
  const resync = setInterval(() => {
    pods.replace(informers.pods.list().map((p) => [podKey(p), toLocalPod(p)] as const));
    sync.resync();
    kick();
    cidrs.invalidate();
    cidrs.retry().catch((err: unknown) => log.warn({ err }, 'ServiceCIDR discovery retry failed'));
  }, config.resyncMs);
  kick();

  let server: HttpEndpoint;
  try {
    server = await serveHttp(`${config.healthHost ?? nodeIp}:${config.healthPort}`, {
      '/healthz': async () =>
        healthy
          ? { status: 200, contentType: 'text/plain', body: 'ok\n' }
          : { status: 503, contentType: 'text/plain', body: 'dataplane not programmed\n' },
      '/metrics': async () => ({
        status: 200,
        contentType: metrics.registry.contentType,
        body: await metrics.registry.metrics(),
      }),
    });
  } catch (err) {
    stopped = true;
    clearInterval(resync);
    await Promise.all([...Object.values(informers), cidrs].map((i) => i.stop()));
    await adopter.stop();
    throw new AgentStartError(`cannot serve /healthz: ${(err as Error).message}`, { cause: err });
  }
  log.info({ node: config.nodeName, nodeIp, iface, egress, health: server.address }, 'agent started');

  return {
    healthAddress: server.address,
    firstSync,
    async stop() {
      stopped = true;
      clearInterval(resync);
      if (timer) clearTimeout(timer);
      await Promise.all([...Object.values(informers), cidrs].map((i) => i.stop()));
      await adopter.stop();
      await server.close();
      await dataplane.close();
    },
  };
}
