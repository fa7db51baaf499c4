#!/usr/bin/env node
/**
 * @module
 * `cloud-egress <command>`: the entry point. Parses the command line once (`parseConfig`), runs the command,
 * and turns SIGTERM/SIGINT into a graceful shutdown.
 */
import { runAgent } from '../agent/run-agent.ts';
import { ConfigError, parseConfig } from '../config.ts';
import { runController } from '../controller/run-controller.ts';
import { createLogger } from '../log.ts';
import { runDoctor } from './doctor.ts';

/** Resolves on the first SIGTERM or SIGINT, after `stop` finished. */
function untilSignal(stop: () => Promise<void>): Promise<void> {
  return new Promise<void>((resolve) => {
    const shutdown = () => {
      process.off('SIGTERM', shutdown);
      process.off('SIGINT', shutdown);
      stop().then(resolve, resolve);
    };
    process.on('SIGTERM', shutdown);
    process.on('SIGINT', shutdown);
  });
}

async function main(): Promise<number> {
  let config: ReturnType<typeof parseConfig>;
  try {
    config = parseConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`cloud-egress: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  switch (config.command) {
    case 'help':
      process.stdout.write(config.text);
      return 0;
    case 'controller': {
      const running = await runController(config.controller);
      await untilSignal(() => running.stop());
      return 0;
    }
    case 'doctor':
      return runDoctor(config.doctor, {
        logger: createLogger({ level: config.doctor.logLevel, name: 'cloud-egress-doctor' }),
      });
    case 'agent': {
      const logger = createLogger({ level: config.agent.logLevel, name: 'cloud-egress-agent' });
      const running = await runAgent(config.agent, { logger });
      if (config.agent.cleanup) return 0;
      await untilSignal(() => running.stop());
      return 0;
    }
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `cloud-egress: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
