/**
 * @module
 * `npm run soak`: the model-based test (model-run.ts) for as long as asked, outside vitest. Starts its own
 * kube-apiserver (and LocalStack for `--cloud localstack`), prints the seed first and, at the end, how many
 * runs and steps ran clean; a failure prints the seed, path and replay command, and exits 1. Flags:
 * soak-flags.ts.
 */
import { type LocalStack, startLocalStack } from '../../localstack/localstack.ts';
import { startControlPlane } from '../harness/control-plane.ts';
import { inMemoryModelCloud, localStackModelCloud, type ModelCloud } from './clouds.ts';
import { runModel } from './model-run.ts';
import { parseSoakFlags, SoakFlagError } from './soak-flags.ts';

let flags: ReturnType<typeof parseSoakFlags>;
try {
  flags = parseSoakFlags(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof SoakFlagError)) throw err;
  console.error(err.message);
  process.exit(2);
}
console.log(
  `soak: ${flags.cloud}, seed ${flags.seed}, ${flags.runs} runs of up to ${flags.steps} steps${flags.path ? `, path ${flags.path}` : ''}`,
);
const controlPlane = await startControlPlane();
let localstack: LocalStack | undefined;
let cloud: ModelCloud | undefined;
let failed = false;
try {
  if (flags.cloud === 'localstack') localstack = await startLocalStack();
  cloud = localstack ? await localStackModelCloud(localstack) : inMemoryModelCloud();
  const result = await runModel(controlPlane, cloud, flags);
  const { lost, late, stale } = result.lies;
  console.log(
    `soak: clean: ${result.runs} runs, ${result.steps} steps in all, seed ${flags.seed} (${flags.cloud}); ` +
      `lies told: ${lost} lost writes, ${late} late writes, ${stale} stale reads; ${Math.round(result.ms / 1000)} s`,
  );
} catch (err) {
  failed = true;
  console.error((err as Error).message);
} finally {
  await cloud?.close();
  await localstack?.stop();
  await controlPlane.stop();
}
process.exit(failed ? 1 : 0);
