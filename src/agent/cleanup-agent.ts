/**
 * @module
 * `cloud-egress agent --cleanup`: removes everything the agent added on this node (its nftables table, the
 * egress IPs recorded in that table as its own, rules and routes tagged with its protocol, the tunnel
 * device) and nothing else. Needs no API server.
 */
import type { Logger } from '../log.ts';
import type { AgentConfig } from './agent-config.ts';
import { AgentSync } from './agent-sync.ts';
import type { Change } from './dataplane.ts';
import { LinuxDataplane } from './linux/linux-dataplane.ts';
import { commandRunner, type RunCommand } from './linux/run-command.ts';

/** Removes the agent's kernel state; returns the changes made. */
export async function cleanupAgent(
  config: Pick<AgentConfig, 'dataplane'>,
  deps: { readonly logger: Logger; readonly run?: RunCommand },
): Promise<readonly Change[]> {
  const dataplane = new LinuxDataplane({
    run: deps.run ?? commandRunner(),
    settings: config.dataplane,
    announce: false,
  });
  const changes = await new AgentSync({
    dataplane,
    settings: config.dataplane,
    logger: deps.logger,
  }).cleanup();
  deps.logger.info({ removed: changes.map((c) => c.kind) }, 'cleanup done');
  return changes;
}
