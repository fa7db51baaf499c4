/**
 * @module
 * `npm run bench [filter]`: runs every `bench/*.bench.ts` (or those whose file name contains `filter`) and
 * prints one Markdown table, ready for BENCHMARKS.md.
 */
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bench, BenchResult } from './types.ts';

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2] ?? '';
const files = (await readdir(here)).filter((f) => f.endsWith('.bench.ts') && f.includes(filter)).sort();

const rows: BenchResult[] = [];
for (const file of files) {
  const mod = (await import(join(here, file))) as { default: Bench };
  process.stderr.write(`running ${file} ...\n`);
  rows.push(...(await mod.default()));
}

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(n < 10 ? 2 : 1));
console.log(`| what | median | unit | trials | target | ok | note |`);
console.log(`|---|---:|---|---:|---|---|---|`);
for (const r of rows) {
  const ok = r.ok === undefined ? '' : r.ok ? 'yes' : 'NO';
  console.log(
    `| ${r.name} | ${fmt(r.value)} | ${r.unit} | ${r.trials ?? ''} | ${r.target ?? ''} | ${ok} | ${r.note ?? ''} |`,
  );
}
console.log(`\nNode ${process.version}, ${new Date().toISOString()}`);
