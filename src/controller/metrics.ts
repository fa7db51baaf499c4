/**
 * @module
 * The controller's Prometheus metrics (prom-client), on a registry of its own so several controllers can
 * live in one process (tests). Names and labels are listed in docs/controller.md.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { CloudProvider } from '../provider/contract.ts';
import { isProviderError } from '../provider/contract.ts';
import type { GatewayNodeView } from './decide-gateway-status.ts';

/** The metrics of one controller. */
export class ControllerMetrics {
  readonly registry = new Registry();
  readonly reconciles = new Counter({
    name: 'cloud_egress_reconcile_total',
    help: 'Reconciles by kind and result (ok, error, terminal).',
    labelNames: ['kind', 'result'] as const,
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'cloud_egress_reconcile_duration_seconds',
    help: 'Duration of reconciles by kind.',
    labelNames: ['kind'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly cloudCalls = new Counter({
    name: 'cloud_egress_cloud_calls_total',
    help: 'Provider calls by provider, operation (describeNode, listAssignments, apply) and result (ok or the error kind).',
    labelNames: ['provider', 'op', 'result'] as const,
    registers: [this.registry],
  });
  readonly cloudCallDuration = new Histogram({
    name: 'cloud_egress_cloud_call_duration_seconds',
    help: 'Duration of provider calls by provider and operation.',
    labelNames: ['provider', 'op'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly cloudDisagreements = new Counter({
    name: 'cloud_egress_cloud_disagreements_total',
    help: 'IPs a read of the cloud showed otherwise than written, by gateway and kind (missing: not where the cloud had acknowledged it; unexpected: held where nothing placed it).',
    labelNames: ['gateway', 'kind'] as const,
    registers: [this.registry],
  });
  readonly failoverDuration = new Histogram({
    name: 'cloud_egress_failover_duration_seconds',
    help: 'From a gateway node detected failed to all of its egress IPs Ready on other nodes.',
    buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30],
    registers: [this.registry],
  });
  readonly plannedMoves = new Counter({
    name: 'cloud_egress_planned_moves_total',
    help: 'Egress IPs moved off leaving nodes (cordoned, drained, chosen by an autoscaler, being deleted) before they went, by gateway; failovers are not counted.',
    labelNames: ['gateway'] as const,
    registers: [this.registry],
  });
  readonly plannedMoveDuration = new Histogram({
    name: 'cloud_egress_planned_move_duration_seconds',
    help: 'From the start of a reconcile pass that moves IPs off leaving nodes to its final status written (the agents switch then), by gateway.',
    labelNames: ['gateway'] as const,
    buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30],
    registers: [this.registry],
  });
  readonly strandedIPs = new Gauge({
    name: 'cloud_egress_gateway_stranded_ips',
    help: 'Egress IPs that stay on leaving nodes of a gateway because no node that stays can take them: the drain would end in a failover.',
    labelNames: ['gateway'] as const,
    registers: [this.registry],
  });
  readonly nodesLeaving = new Gauge({
    name: 'cloud_egress_gateway_nodes_leaving',
    help: 'Healthy nodes of a gateway that are leaving on purpose (they take no new egress IPs).',
    labelNames: ['gateway'] as const,
    registers: [this.registry],
  });
  readonly ips = new Gauge({
    name: 'cloud_egress_ips',
    help: 'Egress IPs of policies by gateway and state (Pending, Assigned, Ready, Failed).',
    labelNames: ['gateway', 'state'] as const,
    registers: [this.registry],
  });
  readonly capacity = new Gauge({
    name: 'cloud_egress_gateway_capacity_ips',
    help: "Egress IPs a gateway's healthy nodes can hold in all (interface limits).",
    labelNames: ['gateway'] as const,
    registers: [this.registry],
  });
  readonly used = new Gauge({
    name: 'cloud_egress_gateway_used_ips',
    help: "Egress IPs held on a gateway's nodes.",
    labelNames: ['gateway'] as const,
    registers: [this.registry],
  });
  readonly nodesHealthy = new Gauge({
    name: 'cloud_egress_gateway_nodes_healthy',
    help: 'Nodes of a gateway that may hold egress IPs.',
    labelNames: ['gateway'] as const,
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: 'cloud_egress_leader',
    help: '1 while this replica holds the leader lease.',
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Sets the gauges of gateway `name` after its reconcile: its policies' IPs by `state`, its healthy
   * nodes and what they can hold, the IPs `held` on its nodes, its leaving nodes and the `stranded` IPs.
   */
  recordGateway(
    name: string,
    nodes: readonly GatewayNodeView[],
    held: ReadonlyMap<string, string>,
    states: Readonly<Record<string, number>>,
    stranded = 0,
  ): void {
    for (const [state, n] of Object.entries(states)) this.ips.set({ gateway: name, state }, n);
    const healthy = nodes.filter((n) => n.healthy);
    this.nodesLeaving.set({ gateway: name }, healthy.filter((n) => n.leaving).length);
    this.strandedIPs.set({ gateway: name }, stranded);
    this.nodesHealthy.set({ gateway: name }, healthy.length);
    this.capacity.set(
      { gateway: name },
      healthy.reduce((sum, n) => sum + (n.network ? n.network.ownedIPs.length + n.network.freeSlots : 0), 0),
    );
    this.used.set({ gateway: name }, held.size);
  }

  /** Wraps `provider` so that every call is counted and timed. */
  instrument(provider: CloudProvider): CloudProvider {
    const timed = async <T>(op: string, fn: () => Promise<T>, resultOf: (value: T) => string): Promise<T> => {
      const end = this.cloudCallDuration.startTimer({ provider: provider.name, op });
      try {
        const value = await fn();
        this.cloudCalls.inc({ provider: provider.name, op, result: resultOf(value) });
        return value;
      } catch (err) {
        this.cloudCalls.inc({
          provider: provider.name,
          op,
          result: isProviderError(err) ? err.kind : 'error',
        });
        throw err;
      } finally {
        end();
      }
    };
    return {
      name: provider.name,
      capabilities: provider.capabilities,
      describeNode: (node, signal) =>
        timed(
          'describeNode',
          () => provider.describeNode(node, signal),
          () => 'ok',
        ),
      listAssignments: (nodes, signal) =>
        timed(
          'listAssignments',
          () => provider.listAssignments(nodes, signal),
          () => 'ok',
        ),
      apply: (plan, signal) =>
        timed(
          'apply',
          () => provider.apply(plan, signal),
          (result) => {
            const failed = result.outcomes.find((o) => !o.ok);
            return failed && !failed.ok ? failed.error.kind : 'ok';
          },
        ),
      ...(provider.preflight
        ? {
            preflight: (nodes, signal, cluster) =>
              timed(
                'preflight',
                () => provider.preflight!(nodes, signal, cluster),
                () => 'ok',
              ),
          }
        : {}),
    };
  }
}
