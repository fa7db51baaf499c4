/**
 * @module
 * The model-based test's bounded runs in `npm test` (model.test.ts): fixed seeds, so every run of the suite
 * tries the same sequences; `npm run soak` tries others (soak.ts). docs/model-based-test.md records what ran
 * clean and what failed.
 */
import type { ModelRunSettings } from './model-run.ts';

/** A failure the model test found, replayed in every run of the suite once it was fixed. */
export interface ModelRegression extends ModelRunSettings {
  readonly cloud: 'inmemory' | 'localstack';
  /** What broke, and the test beside the fix. */
  readonly what: string;
}

/** The failures found so far (each one a replay of `npm run soak`'s failure line). */
export const REGRESSIONS: readonly ModelRegression[] = [
  {
    cloud: 'inmemory',
    seed: 1,
    path: '8',
    replayPath: ':',
    runs: 1,
    steps: 40,
    what:
      'a pass held in the cloud by a late write wrote a policy status decided before the policy moved to a ' +
      'missing gateway: the status named IPs nobody released (test/controller/stale-status.test.ts)',
  },
];

/** Per cloud: seed, runs and most steps per run. */
export const BOUNDED: { readonly inmemory: ModelRunSettings; readonly localstack: ModelRunSettings } = {
  inmemory: { seed: 1805, runs: 4, steps: 25 },
  localstack: { seed: 1806, runs: 1, steps: 15 },
};
