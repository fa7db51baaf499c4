/**
 * @module
 * The port of the node agent's `/healthz`, which the controller probes on each gateway node's InternalIP.
 * Shared by the controller's and the agent's configuration, so neither imports the other.
 */

/** Default port of the node agent's health endpoint (`--agent-health-port`, agent `--health-port`). */
export const DEFAULT_AGENT_HEALTH_PORT = 9796;
