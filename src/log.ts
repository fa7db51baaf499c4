/**
 * @module
 * Structured logging with pino: JSON lines, object first then message, child loggers per component
 * and per reconcile (`reconcileID`, key, provider).
 */
import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/** Log levels accepted by `--log-level`. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
/** A log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Creates the process's root logger. */
export function createLogger(options: {
  level: LogLevel;
  name: string;
  destination?: NodeJS.WritableStream;
}): Logger {
  return pino(
    { name: options.name, level: options.level, base: { pid: process.pid } },
    options.destination ?? process.stdout,
  );
}

/** A logger that drops everything (tests, benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
