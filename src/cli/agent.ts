#!/usr/bin/env node
/**
 * @module
 * `cloud-egress-agent [flags]` (the same as `cloud-egress agent [flags]`): a thin runnable entry for the node
 * agent. Parses flags and environment, runs the agent, and turns SIGTERM/SIGINT into a graceful stop (the
 * dataplane stays; `--cleanup` removes it).
 */
import { AgentConfigError, AgentHelpRequested, parseAgentConfig } from '../agent/agent-config.ts';
import { createLogger } from '../log.ts';

async function main(args: readonly string[]): Promise<number> {
  let config: ReturnType<typeof parseAgentConfig>;
  try {
    config = parseAgentConfig(args, process.env);
  } catch (err) {
    if (err instanceof AgentHelpRequested) {
      process.stdout.write(err.message);
      return 0;
    }
    if (err instanceof AgentConfigError) {
      process.stderr.write(`cloud-egress agent: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const logger = createLogger({ level: config.logLevel, name: 'cloud-egress-agent' });
  if (config.cleanup) {
    // Loaded on demand: cleanup needs no Kubernetes client.
    const { cleanupAgent } = await import('../agent/cleanup-agent.ts');
    await cleanupAgent(config, { logger });
    return 0;
  }
  const { runAgent } = await import('../agent/run-agent.ts');
  const agent = await runAgent(config, { logger });
  await new Promise<void>((resolve) => {
    const shutdown = () => {
      process.off('SIGTERM', shutdown);
      process.off('SIGINT', shutdown);
      agent.stop().then(resolve, resolve);
    };
    process.on('SIGTERM', shutdown);
    process.on('SIGINT', shutdown);
  });
  return 0;
}

const args = process.argv.slice(2);
main(args[0] === 'agent' ? args.slice(1) : args).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `cloud-egress agent: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
