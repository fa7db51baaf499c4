/**
 * @module
 * The agent's Prometheus metrics (prom-client), in their own registry so tests can create several agents.
 * The per-egress-IP traffic counters are read from the kernel on scrape (one `nft -j list counters`).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SnatCounter } from './linux/nftables.ts';

/** The agent's metrics. */
export interface AgentMetrics {
  readonly registry: Registry;
  /** Seconds one sync took (decide, plan, program). */
  readonly syncDuration: Histogram<'result'>;
  /** Failed syncs. */
  readonly syncErrors: Counter;
  /** Kernel changes applied, by kind. */
  readonly changes: Counter<'kind'>;
  /** Elements in the agent's nftables sets and maps, by set role. */
  readonly nftElements: Gauge<'set'>;
  /** `ip rule`s the agent keeps. */
  readonly rules: Gauge;
  /** Egress IPs held on this node. */
  readonly egressIpsHeld: Gauge;
  /** Local pods steered through an egress IP. */
  readonly podsSteered: Gauge;
  /** Local pods whose policy has no usable egress IP (their traffic to its destinations is dropped). */
  readonly podsWithoutIp: Gauge;
  /** Unix time of the last successful sync. */
  readonly lastSuccess: Gauge;
  /** Cluster CIDRs (never sent through a gateway) by where they came from (`src/kube/cluster-cidrs.ts`). */
  readonly clusterCidrs: Gauge<'source'>;
  /** 1 for what listing ServiceCIDRs answered (`src/kube/service-cidr-api.ts`), 0 for the other states. */
  readonly serviceCidrApi: Gauge<'state'>;
  /** Half-open connections adopted during planned moves (`handover-flows.ts`). */
  readonly handoverFlowsAdopted: Counter;
  /** Connections, packets and bytes SNATed to each egress IP held here (read on scrape). */
  readonly snatConnections: Counter<'egress_ip'>;
  readonly snatPackets: Counter<'egress_ip'>;
  readonly snatBytes: Counter<'egress_ip'>;
}

/** Where the metrics read live values. */
export interface AgentMetricsSources {
  /** The SNAT counters of the egress IPs held on this node. */
  readonly snatCounters?: () => Promise<readonly SnatCounter[]>;
}

/**
 * Counters set from the kernel on each scrape: every egress IP held now, with its kernel counter (which
 * starts again at 0 when the IP comes back; Prometheus' `rate` handles the reset).
 */
function kernelCounter(
  name: string,
  help: string,
  registers: Registry[],
  read: (() => Promise<readonly SnatCounter[]>) | undefined,
  value: (c: SnatCounter) => number,
): Counter<'egress_ip'> {
  return new Counter({
    name,
    help,
    labelNames: ['egress_ip'],
    registers,
    async collect() {
      // A failed read leaves the last values (the scrape still answers; the next one reads again).
      const counters = await read?.().catch(() => undefined);
      if (!counters) return;
      this.reset();
      for (const c of counters) this.inc({ egress_ip: c.egressIp }, value(c));
    },
  });
}

/** Creates the metrics in a new registry. */
export function createAgentMetrics(sources: AgentMetricsSources = {}): AgentMetrics {
  const registry = new Registry();
  const registers = [registry];
  // One kernel read serves the three counters of one scrape.
  let pending: Promise<readonly SnatCounter[]> | undefined;
  const read = sources.snatCounters
    ? () => {
        pending ??= sources.snatCounters!().finally(() => {
          setImmediate(() => {
            pending = undefined;
          });
        });
        return pending;
      }
    : undefined;
  return {
    snatConnections: kernelCounter(
      'cloud_egress_agent_snat_connections_total',
      'Connections SNATed to each egress IP held on this node',
      registers,
      read,
      (c) => c.connections,
    ),
    snatPackets: kernelCounter(
      'cloud_egress_agent_snat_packets_total',
      'Packets sent with each egress IP held on this node as source',
      registers,
      read,
      (c) => c.packets,
    ),
    snatBytes: kernelCounter(
      'cloud_egress_agent_snat_bytes_total',
      'Bytes sent with each egress IP held on this node as source',
      registers,
      read,
      (c) => c.bytes,
    ),
    registry,
    syncDuration: new Histogram({
      name: 'cloud_egress_agent_sync_duration_seconds',
      help: 'Time to compute and program the dataplane, by result',
      labelNames: ['result'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    handoverFlowsAdopted: new Counter({
      name: 'cloud_egress_agent_handover_connections_adopted_total',
      help: 'Half-open TCP connections adopted during planned moves of an egress IP',
      registers,
    }),
    syncErrors: new Counter({
      name: 'cloud_egress_agent_sync_errors_total',
      help: 'Syncs that failed',
      registers,
    }),
    changes: new Counter({
      name: 'cloud_egress_agent_changes_total',
      help: 'Kernel changes applied, by kind',
      labelNames: ['kind'],
      registers,
    }),
    nftElements: new Gauge({
      name: 'cloud_egress_agent_nft_elements',
      help: 'Elements in the agent nftables sets and maps, by role',
      labelNames: ['set'],
      registers,
    }),
    rules: new Gauge({ name: 'cloud_egress_agent_ip_rules', help: 'ip rules the agent keeps', registers }),
    egressIpsHeld: new Gauge({
      name: 'cloud_egress_agent_egress_ips_held',
      help: 'Egress IPs held on this node',
      registers,
    }),
    podsSteered: new Gauge({
      name: 'cloud_egress_agent_pods_steered',
      help: 'Local pods sent through an egress IP',
      registers,
    }),
    podsWithoutIp: new Gauge({
      name: 'cloud_egress_agent_pods_without_egress_ip',
      help: 'Local pods whose policy has no usable egress IP (dropped to its destinations)',
      registers,
    }),
    lastSuccess: new Gauge({
      name: 'cloud_egress_agent_last_sync_success_timestamp_seconds',
      help: 'Unix time of the last successful sync',
      registers,
    }),
    clusterCidrs: new Gauge({
      name: 'cloud_egress_agent_cluster_cidrs',
      help: 'Cluster CIDRs that never go through a gateway, by source (configured, node-podcidr, servicecidr)',
      labelNames: ['source'],
      registers,
    }),
    serviceCidrApi: new Gauge({
      name: 'cloud_egress_agent_servicecidr_api',
      help: 'What listing networking.k8s.io/v1 ServiceCIDRs answered: 1 for the state (served, not-served, forbidden, off)',
      labelNames: ['state'],
      registers,
    }),
  };
}
