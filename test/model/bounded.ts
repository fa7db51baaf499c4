/**
 * @module
 * The model-based test's bounded runs in `npm test` (model.test.ts): fixed seeds, so every run of the suite
 * tries the same sequences; `npm run soak` tries others (soak.ts). BENCHMARKS.md records what ran clean.
 */
import type { ModelRunSettings } from './model-run.ts';

/** Per cloud: seed, runs and most steps per run. */
export const BOUNDED: { readonly inmemory: ModelRunSettings; readonly localstack: ModelRunSettings } = {
  inmemory: { seed: 1805, runs: 4, steps: 25 },
  localstack: { seed: 1806, runs: 1, steps: 15 },
};
