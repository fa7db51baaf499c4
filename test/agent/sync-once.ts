/**
 * @module
 * One agent sync in this process's network namespace, as the agent process does it: `cloud-egress agent`
 * flags on the command line (parsed by the agent's own parser, dataplane built as `runAgent` builds it),
 * the decision's inputs as JSON on stdin (no API server); with `--cleanup`, the cleanup instead. Prints `{"changes":[...]}` and exits 0, or prints
 * `{"error":"..."}` and exits 1. The proc-sys test runs it under `ip netns exec` + `unshare -m`.
 */
import { parseAgentConfig } from '../../src/agent/agent-config.ts';
import type { AgentInputs } from '../../src/agent/agent-inputs.ts';
import { AgentSync } from '../../src/agent/agent-sync.ts';
import { agentDataplane } from '../../src/agent/run-agent.ts';
import { silentLogger } from '../../src/log.ts';

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const raw = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const inputs: AgentInputs = { ...raw, namespaceLabels: new Map(Object.entries(raw.namespaceLabels ?? {})) };
const config = parseAgentConfig(process.argv.slice(2), {});
const logger = silentLogger();
const dataplane = agentDataplane(config, { logger });
try {
  const agentSync = new AgentSync({ dataplane, settings: config.dataplane, logger });
  const changes = config.cleanup ? await agentSync.cleanup() : (await agentSync.sync(inputs)).changes;
  process.stdout.write(`${JSON.stringify({ changes: changes.map((c) => c.kind) })}\n`);
} catch (err) {
  const cause = (err as Error).cause as Error | undefined;
  process.stdout.write(`${JSON.stringify({ error: `${(err as Error).message}`, cause: cause?.name })}\n`);
  process.exitCode = 1;
} finally {
  await dataplane.close();
}
