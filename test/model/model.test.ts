/**
 * The model-based test (commands.ts, invariants.ts) in `npm test`: bounded and seeded, against the real
 * controller on a real kube-apiserver, on the in-memory cloud and, shorter, on LocalStack behind the fault
 * proxy. A failure names its seed and the command that replays it; `npm run soak` runs longer (soak.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../localstack/localstack.ts';
import { useControlPlane } from '../harness/vitest.ts';
import { BOUNDED, REGRESSIONS } from './bounded.ts';
import { inMemoryModelCloud, localStackModelCloud, type ModelCloud } from './clouds.ts';
import { runModel } from './model-run.ts';

const kube = useControlPlane({ namespacePerTest: false });

it(`in-memory cloud: ${BOUNDED.inmemory.runs} runs of up to ${BOUNDED.inmemory.steps} steps, seed ${BOUNDED.inmemory.seed}`, async () => {
  const result = await runModel(kube.controlPlane, inMemoryModelCloud(), BOUNDED.inmemory);
  expect(result.runs).toBe(BOUNDED.inmemory.runs);
}, 600_000);

for (const r of REGRESSIONS.filter((x) => x.cloud === 'inmemory')) {
  it(`in-memory cloud, seed ${r.seed} path ${r.path} again: ${r.what}`, async () => {
    const result = await runModel(kube.controlPlane, inMemoryModelCloud(), r);
    expect(result.runs).toBe(1);
  }, 120_000);
}

describe('on LocalStack', () => {
  let localstack: LocalStack;
  let cloud: ModelCloud;
  beforeAll(async () => {
    localstack = await startLocalStack();
    cloud = await localStackModelCloud(localstack);
  }, 900_000);
  afterAll(async () => {
    await cloud?.close();
    await localstack?.stop();
  });

  it(`aws through the fault proxy: ${BOUNDED.localstack.runs} run of up to ${BOUNDED.localstack.steps} steps, seed ${BOUNDED.localstack.seed}`, async () => {
    const result = await runModel(kube.controlPlane, cloud, BOUNDED.localstack);
    expect(result.runs).toBe(BOUNDED.localstack.runs);
  }, 600_000);
});
