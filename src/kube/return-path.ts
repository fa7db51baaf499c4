/**
 * @module
 * How replies to tunnelled pods reach them, the agent's `--return-path` (docs/agent.md, "The return path"). Shared
 * by the agent's configuration, which sets it up, and the controller's and the doctor's, whose preflight checks
 * depend on it (the AWS source/destination check), so neither imports the other.
 */

/**
 * `tunnel`, back through the tunnel to the pod's node (no change to the cloud network); `podNetwork`, routed by the
 * gateway over the pod network (a native-routing CNI such as the Amazon VPC CNI then needs the cloud's
 * source/destination check off).
 */
export type ReturnPath = 'tunnel' | 'podNetwork';

/** The values of {@link ReturnPath}. */
export const RETURN_PATHS: readonly ReturnPath[] = ['tunnel', 'podNetwork'];

/** The agent's default {@link ReturnPath} (agent `--return-path`, controller and doctor `--agent-return-path`). */
export const DEFAULT_RETURN_PATH: ReturnPath = 'tunnel';
