/**
 * The flags of `npm run soak` (soak-flags.ts): defaults, a replay, and a clear error for each bad flag.
 */
import { describe, expect, it } from 'vitest';
import { parseSoakFlags, SoakFlagError } from './soak-flags.ts';

describe('npm run soak flags', () => {
  it('defaults: the in-memory cloud, a seed from the clock, 50 runs of up to 40 steps', () => {
    expect(parseSoakFlags([], 2 ** 31 + 7)).toEqual({
      cloud: 'inmemory',
      seed: 7,
      runs: 50,
      steps: 40,
      shrink: false,
    });
  });

  it('a replay as a failure prints it (--seed=N, for a negative seed too): seed, path and replay path, one run', () => {
    const flags = parseSoakFlags([
      '--cloud',
      'localstack',
      '--seed=-3',
      '--path',
      '8:1',
      '--replay-path',
      'AB',
    ]);
    expect(flags).toEqual({
      cloud: 'localstack',
      seed: -3,
      runs: 1,
      steps: 40,
      path: '8:1',
      replayPath: 'AB',
      shrink: false,
    });
  });

  it.each([
    [['--cloud', 'gcp'], '--cloud: "gcp" is not inmemory or localstack'],
    [['--seed', 'x'], '--seed: "x" is not an integer'],
    [['--runs', '0'], '--runs: "0" is not a whole number ≥ 1'],
    [['--steps', '2.5'], '--steps: "2.5" is not a whole number ≥ 1'],
    [['--colour'], "Unknown option '--colour'"],
  ])('%j is refused: %s', (argv, message) => {
    expect(() => parseSoakFlags(argv)).toThrow(SoakFlagError);
    expect(() => parseSoakFlags(argv)).toThrow(message);
  });
});
