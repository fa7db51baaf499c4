/**
 * docs/model-based-test.md against the model test it describes: the soak's flags, the seeds `npm test` runs
 * and the failures it replays.
 */
import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { BOUNDED, REGRESSIONS } from './bounded.ts';
import { SOAK_OPTIONS } from './soak-flags.ts';

const doc = await readFile(new URL('../../docs/model-based-test.md', import.meta.url), 'utf8');

it('names every flag of npm run soak', () => {
  for (const flag of Object.keys(SOAK_OPTIONS)) expect(doc, flag).toContain(`--${flag}`);
});

it('states the bounded runs of npm test as bounded.ts has them', () => {
  for (const [cloud, s] of Object.entries(BOUNDED)) {
    expect(doc, cloud).toContain(`| ${cloud} | ${s.seed} | ${s.runs} | ${s.steps} |`);
  }
});

it('lists every failure npm test replays, with its seed and path', () => {
  for (const r of REGRESSIONS) expect(doc).toContain(`--seed=${r.seed} --path ${r.path}`);
});
