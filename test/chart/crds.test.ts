/**
 * @module
 * The chart's CRDs are byte-for-byte the generated ones in crds/ (`npm run generate` writes both), so a
 * `helm install` never installs an older or newer schema than the code expects.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { CHART_DIR } from './chart.ts';

const GENERATED = fileURLToPath(new URL('../../crds/', import.meta.url));
const SHIPPED = join(CHART_DIR, 'crds');

test('charts/cloud-egress/crds/ holds exactly the files of crds/, byte for byte (run npm run generate)', async () => {
  const generated = (await readdir(GENERATED)).filter((f) => f.endsWith('.yaml')).sort();
  const shipped = (await readdir(SHIPPED)).sort();
  expect(generated.length).toBeGreaterThan(0);
  expect(shipped).toEqual(generated);
  for (const file of generated) {
    const [want, got] = await Promise.all([readFile(join(GENERATED, file)), readFile(join(SHIPPED, file))]);
    expect(got.equals(want), `charts/cloud-egress/crds/${file} differs from crds/${file}`).toBe(true);
  }
});
