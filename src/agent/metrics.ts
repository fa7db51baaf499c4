/**
 * @module
 * The agent's Prometheus metrics (prom-client), in their own registry so tests can create several agents.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

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
}

/** Creates the metrics in a new registry. */
export function createAgentMetrics(): AgentMetrics {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    syncDuration: new Histogram({
      name: 'cloud_egress_agent_sync_duration_seconds',
      help: 'Time to compute and program the dataplane, by result',
      labelNames: ['result'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
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
  };
}
