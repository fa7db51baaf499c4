/**
 * @module
 * The flags of `npm run soak` (soak.ts), parsed in this one place:
 *
 * ```
 * npm run soak -- [--cloud inmemory|localstack] [--seed=N] [--runs N] [--steps N]
 *                 [--path P --replay-path R] [--shrink]
 * ```
 *
 * Defaults: the in-memory cloud, a seed from the clock (printed), 50 runs of up to 40 steps. `--seed`,
 * `--path` and `--replay-path` together replay one failure (a failure prints them).
 */
import { parseArgs } from 'node:util';
import type { ModelRunSettings } from './model-run.ts';

/** What a soak runs. */
export interface SoakFlags extends ModelRunSettings {
  readonly cloud: 'inmemory' | 'localstack';
}

/** Thrown for a bad flag, with what it accepts. */
export class SoakFlagError extends Error {
  override readonly name = 'SoakFlagError';
}

/** The flags `npm run soak` takes (node:util parseArgs options). */
export const SOAK_OPTIONS = {
  cloud: { type: 'string' },
  seed: { type: 'string' },
  runs: { type: 'string' },
  steps: { type: 'string' },
  path: { type: 'string' },
  'replay-path': { type: 'string' },
  shrink: { type: 'boolean' },
} as const;

const count = (text: string | undefined, flag: string, fallback: number): number => {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new SoakFlagError(`--${flag}: "${text}" is not a whole number ≥ 1`);
  return n;
};

/** Parses `argv` (without node and the script). @throws SoakFlagError */
export function parseSoakFlags(argv: readonly string[], now = Date.now()): SoakFlags {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: SOAK_OPTIONS,
    }));
  } catch (err) {
    throw new SoakFlagError((err as Error).message, { cause: err });
  }
  const str = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  const cloud = str('cloud') ?? 'inmemory';
  if (cloud !== 'inmemory' && cloud !== 'localstack') {
    throw new SoakFlagError(`--cloud: "${cloud}" is not inmemory or localstack`);
  }
  const seedText = str('seed');
  const seed = seedText === undefined ? now % 2 ** 31 : Number(seedText);
  if (!Number.isInteger(seed)) throw new SoakFlagError(`--seed: "${seedText}" is not an integer`);
  const path = str('path');
  const replayPath = str('replay-path');
  return {
    cloud,
    seed,
    runs: count(str('runs'), 'runs', path ? 1 : 50),
    steps: count(str('steps'), 'steps', 40),
    ...(path ? { path } : {}),
    ...(replayPath ? { replayPath } : {}),
    shrink: values['shrink'] === true,
  };
}
