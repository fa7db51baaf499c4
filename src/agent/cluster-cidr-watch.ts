/**
 * @module
 * The agent's cluster CIDRs, kept level-triggered: the configured ones, plus (with discovery on) every Node's
 * pod CIDRs from the Node informer the agent already runs and every ServiceCIDR's CIDRs from an informer of
 * its own. Each sync reads {@link ClusterCidrWatch.current} from the informers' caches, so a Node or
 * ServiceCIDR event (which kicks a sync) is followed without a restart. The union is computed again only after
 * such an event ({@link ClusterCidrWatch.invalidate}; thousands of Nodes take milliseconds), not for every pod.
 *
 * ```
 * start ─► discovery off ─────────────────────────────► configured only          servicecidr_api{state="off"}
 *       └► probe (list ServiceCIDRs once) ─served─────► informer started, synced  {state="served"}
 *                                        ─404 / 403───► no informer; logged       {state="not-served|forbidden"}
 *                                        ─other error─► informer started (it retries like the others)
 * retry() (every resync) ─► not served yet? probe again; served now: informer started, `onChange`
 * current() ─► clusterCidrs(configured, nodes, ServiceCIDRs) (pure) ─► gauge cluster_cidrs{source}; logged
 *              when the union changes
 * ```
 */
import type { V1Node, V1ServiceCIDR } from '@kubernetes/client-node';
import {
  CLUSTER_CIDR_SOURCES,
  type ClusterCidrs,
  type ClusterCidrsBySource,
  clusterCidrs,
} from '../kube/cluster-cidrs.ts';
import type { ResilientInformer } from '../kube/informer.ts';
import {
  type probeServiceCidrs,
  SERVICE_CIDR_API_STATES,
  type ServiceCidrApiState,
  type ServiceCidrProbe,
} from '../kube/service-cidr-api.ts';
import type { Logger } from '../log.ts';
import type { AgentMetrics } from './metrics.ts';

/** What {@link ClusterCidrWatch} reads and writes. */
export interface ClusterCidrWatchOptions {
  /** `--cluster-cidr`. */
  readonly configured: readonly string[];
  /** Whether to discover (`--no-cluster-cidr-discovery` turns it off). */
  readonly discover: boolean;
  /** The Nodes in the agent's Node informer cache. */
  readonly nodes: () => readonly V1Node[];
  /** Lists ServiceCIDRs once (the probe). */
  readonly probe: () => ReturnType<typeof probeServiceCidrs>;
  /** A ServiceCIDR informer (not started) whose events call `onEvent` and kick a sync. */
  readonly informer: (onEvent: () => void) => ResilientInformer<V1ServiceCIDR>;
  /** Called when the informer started after a later probe (the caller kicks a sync). */
  readonly onChange: () => void;
  readonly metrics: Pick<AgentMetrics, 'clusterCidrs' | 'serviceCidrApi'>;
  readonly logger: Logger;
}

/** See the module comment. */
export class ClusterCidrWatch {
  readonly #o: ClusterCidrWatchOptions;
  #informer: ResilientInformer<V1ServiceCIDR> | undefined;
  #state: ServiceCidrApiState = 'off';
  #probing = false;
  #stopped = false;
  #last: string | undefined;
  #current: readonly string[] = [];
  #dirty = true;

  constructor(options: ClusterCidrWatchOptions) {
    this.#o = options;
  }

  /** What listing ServiceCIDRs answered last. */
  get serviceCidrApi(): ServiceCidrApiState {
    return this.#state;
  }

  /** Probes the ServiceCIDR API and, when served, starts its informer (resolves once it synced). */
  async start(): Promise<void> {
    if (!this.#o.discover) {
      this.#setState('off');
      this.#o.logger.info(
        { configured: this.#o.configured },
        'cluster CIDR discovery off: only the configured CIDRs and the node IPs bypass the gateways',
      );
      return;
    }
    await this.#probeAndWatch();
  }

  /** When ServiceCIDRs were not served, asks again; a newly served API starts the informer. */
  async retry(): Promise<void> {
    if (!this.#o.discover || this.#state === 'served' || this.#probing || this.#stopped) return;
    if (await this.#probeAndWatch()) this.#o.onChange();
  }

  /** Makes the next {@link current} compute the union again: call it on every Node event. */
  invalidate(): void {
    this.#dirty = true;
  }

  /**
   * The cluster CIDRs (configured plus discovered) as of the last Node or ServiceCIDR event; sets the gauge and
   * logs the union when it changed. The same array while nothing changed.
   */
  current(): readonly string[] {
    if (!this.#dirty) return this.#current;
    this.#dirty = false;
    const result: ClusterCidrs = this.#o.discover
      ? clusterCidrs({
          configured: this.#o.configured,
          nodes: this.#o.nodes(),
          serviceCidrs: this.#informer?.list() ?? [],
        })
      : clusterCidrs({ configured: this.#o.configured, nodes: [], serviceCidrs: [] });
    const key = JSON.stringify(result.bySource);
    if (key !== this.#last) {
      this.#last = key;
      this.#current = result.cidrs;
      this.#record(result.bySource);
      this.#o.logger.info({ cidrs: result.cidrs, bySource: result.bySource }, 'cluster CIDRs');
    }
    return this.#current;
  }

  /** Stops the ServiceCIDR informer. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#informer?.stop();
  }

  /** True when the informer was started by this call. */
  async #probeAndWatch(): Promise<boolean> {
    this.#probing = true;
    try {
      // Only a definite answer (404, 403) skips the informer; other failures are left to its own retries.
      const probe: ServiceCidrProbe | undefined = await this.#o.probe().catch((err: unknown) => {
        this.#o.logger.warn({ err }, 'listing ServiceCIDRs failed; the informer retries');
        return undefined;
      });
      if (probe && probe.state !== 'served') {
        if (probe.state !== this.#state) {
          this.#o.logger.warn(
            { state: probe.state, reason: probe.message },
            'Service CIDRs are not discovered: only the configured CIDRs, the Nodes pod CIDRs and the node IPs bypass the gateways',
          );
        }
        this.#setState(probe.state);
        return false;
      }
      if (this.#stopped) return false;
      const informer = this.#o.informer(() => this.invalidate());
      this.#informer = informer; // stop() stops it even while it starts
      await informer.start();
      this.#setState('served');
      this.invalidate();
      this.#o.logger.info({ serviceCidrs: informer.list().length }, 'watching ServiceCIDRs');
      return true;
    } finally {
      this.#probing = false;
    }
  }

  #setState(state: ServiceCidrApiState): void {
    this.#state = state;
    for (const s of SERVICE_CIDR_API_STATES)
      this.#o.metrics.serviceCidrApi.set({ state: s }, s === state ? 1 : 0);
  }

  #record(bySource: ClusterCidrsBySource): void {
    for (const s of CLUSTER_CIDR_SOURCES) this.#o.metrics.clusterCidrs.set({ source: s }, bySource[s].length);
  }
}
