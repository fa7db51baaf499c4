/**
 * @module
 * `npm run generate`: writes crds/*.yaml (and the same files into charts/cloud-egress/crds/) from the TypeBox
 * schemas in src/api/.
 * `--check` writes nothing and exits 1 when a committed file differs.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderCrds } from './render-crds.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
let stale = 0;
// The Helm chart ships the same files (helm installs charts/<chart>/crds/ before the templates).
for (const out of ['crds', 'charts/cloud-egress/crds']) {
  const dir = join(root, out);
  await mkdir(dir, { recursive: true });
  for (const [file, text] of Object.entries(renderCrds())) {
    const path = join(dir, file);
    const old = await readFile(path, 'utf8').catch(() => '');
    if (old === text) continue;
    stale++;
    if (check) console.error(`${out}/${file} is stale: run npm run generate`);
    else {
      await writeFile(path, text);
      console.log(`wrote ${out}/${file}`);
    }
  }
}
if (check && stale > 0) process.exit(1);
