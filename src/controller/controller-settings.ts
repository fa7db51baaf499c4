/**
 * @module
 * What the controller is configured with: {@link ControllerConfig} (the process: API server, logging,
 * endpoints, identity) and {@link ControllerSettings} (what the `Controller` itself runs with).
 * `parseConfig` in src/config.ts builds them from the command line and the environment once and hands them
 * down; nothing in src/controller reads flags or the environment itself.
 */
import type { KubeSource } from '../kube/kube-config.ts';
import type { ReturnPath } from '../kube/return-path.ts';
import type { LogLevel } from '../log.ts';
import type { ProviderSettings } from '../provider/contract.ts';
import type { ProviderChoice } from './decide-provider.ts';
import type { LeaderElectionTimings } from './leader-election.ts';
import type { VerificationTimings } from './verification-schedule.ts';

/** Configuration of the `controller` command. */
export interface ControllerConfig {
  readonly kube: KubeSource;
  readonly logLevel: LogLevel;
  /** `host:port` of `/metrics`. */
  readonly metricsAddress: string;
  /** `host:port` of `/healthz` and `/readyz` (may equal `metricsAddress`: one server). */
  readonly healthAddress: string;
  /** This replica's identity in the leader lease. */
  readonly identity: string;
  readonly settings: ControllerSettings;
}

/** The settings a `Controller` runs with. */
export interface ControllerSettings {
  /** `--provider`. */
  readonly provider: ProviderChoice;
  /** `--test-providers`: allow test-only providers (`inmemory`); otherwise a gateway using one is ProviderUnknown. */
  readonly testProviders?: boolean;
  /** Provider settings from flags (owner, region, endpoint, interface, interfaceTag). */
  readonly providerSettings: ProviderSettings;
  readonly probe: {
    readonly intervalMs: number;
    /** `--probe-timeout`; unset = the interval. */
    readonly timeoutMs?: number;
    readonly misses: number;
    readonly dampingMs: number;
    readonly agentHealthPort: number;
    /** `--agent-restart-grace`: how long a node whose agent Pod is being deleted keeps its IPs; 0 = none. */
    readonly restartGraceMs?: number;
  };
  /**
   * `--handover-settle`: in a planned move, how long the agents get to program both gateways before the cloud
   * call, and the cloud's data plane to follow it before the agents switch; default {@link DEFAULT_HANDOVER_SETTLE_MS}.
   */
  readonly handoverSettleMs?: number;
  /** Where the agent Pods are (`--agent-pod-namespace`, `--agent-pod-selector`); unset: no restart grace. */
  readonly agentPods?: { readonly namespace: string; readonly labelSelector: string };
  readonly leaderElection: LeaderElectionTimings & {
    readonly enabled: boolean;
    readonly name: string;
    readonly namespace: string;
    readonly releaseOnCancel: boolean;
  };
  /** Every gateway is reconciled against the cloud this often (drift repair). */
  readonly resyncPeriodMs: number;
  /** When a gateway is read again after a write to verify it (verification-schedule.ts); default 250 ms to 4 s. */
  readonly verification?: VerificationTimings;
  /** Gateways reconciled at once. */
  readonly concurrency: number;
  /** A gateway's preflight checks run at most this often (preflight-gate.ts); default 10 minutes. */
  readonly preflightIntervalMs?: number;
  /**
   * `--cluster-cidr`: the CIDRs the agents are given (the chart's `agent.clusterCIDRs`); the cluster CIDRs check of
   * the `Preflight` condition counts them with the discovered ones (cluster-checks.ts). Default none.
   */
  readonly clusterCidrs?: readonly string[];
  /**
   * `--agent-return-path`: how the agents return replies to tunnelled pods (the chart's `agent.returnPath`); the
   * provider's preflight judges with it (the AWS source/destination check). Default the agent's, `tunnel`.
   */
  readonly agentReturnPath: ReturnPath;
  /**
   * False with `--agent-no-cluster-cidr-discovery` (the chart's `agent.discoverClusterCIDRs: false`): the agents do
   * not discover cluster CIDRs, so the cluster CIDRs check counts only the typed ones.
   */
  readonly agentClusterCidrDiscovery: boolean;
}

/** Default of {@link ControllerSettings.handoverSettleMs}. */
export const DEFAULT_HANDOVER_SETTLE_MS = 2000;
