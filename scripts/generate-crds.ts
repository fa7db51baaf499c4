/**
 * @module
 * `npm run generate`: writes crds/*.yaml from the TypeBox schemas in src/api/.
 * `--check` writes nothing and exits 1 when a committed file differs.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderCrds } from './render-crds.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const dir = join(root, 'crds');
await mkdir(dir, { recursive: true });
let stale = 0;
for (const [file, text] of Object.entries(renderCrds())) {
  const path = join(dir, file);
  const old = await readFile(path, 'utf8').catch(() => '');
  if (old === text) continue;
  stale++;
  if (check) console.error(`crds/${file} is stale: run npm run generate`);
  else {
    await writeFile(path, text);
    console.log(`wrote crds/${file}`);
  }
}
if (check && stale > 0) process.exit(1);
