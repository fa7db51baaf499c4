/**
 * @module
 * One model-based run set: `runs` random sequences of up to `steps` commands (commands.ts), each on a fresh
 * {@link ModelSystem}, from `seed`; every sequence ends with a settle. On failure the error names the seed,
 * the path and the replay path, and the command that replays exactly that sequence
 * (`npm run soak -- --cloud … --seed … --path … --replay-path …`).
 */
import fc from 'fast-check';
import type { ControlPlane } from '../harness/control-plane.ts';
import type { LiesTold, ModelCloud } from './clouds.ts';
import { emptyModel, modelCommands } from './commands.ts';
import { ModelSystem } from './system.ts';

/** How much to run, and what to replay. */
export interface ModelRunSettings {
  readonly seed: number;
  readonly runs: number;
  /** Most commands per run. */
  readonly steps: number;
  /** fast-check's path of a failure to replay (with its seed). */
  readonly path?: string;
  /** fast-check's replay path of the commands (with seed and path). */
  readonly replayPath?: string;
  /** Shrink a failure to a shorter sequence (each try is a run on a real API server: slow). */
  readonly shrink?: boolean;
}

/** What a run set did. */
export interface ModelRunResult {
  readonly runs: number;
  /** Commands run in all. */
  readonly steps: number;
  /** Lies the cloud told in all, by kind. */
  readonly lies: LiesTold;
  readonly ms: number;
}

/** `--cloud` of the replay command for a cloud. */
export const cloudFlag = (cloud: ModelCloud) => (cloud.name === 'inmemory' ? 'inmemory' : 'localstack');

/** Runs the set; see the module comment. @throws Error with the replay command when an invariant broke. */
export async function runModel(
  controlPlane: ControlPlane,
  cloud: ModelCloud,
  settings: ModelRunSettings,
): Promise<ModelRunResult> {
  const started = performance.now();
  const toldBefore = cloud.told();
  let steps = 0;
  let runs = 0;
  const property = fc.asyncProperty(
    fc.commands(modelCommands(), {
      maxCommands: settings.steps,
      size: 'max',
      ...(settings.replayPath ? { replayPath: settings.replayPath } : {}),
    }),
    async (commands) => {
      const system = await ModelSystem.start(controlPlane, cloud);
      try {
        await fc.asyncModelRun(() => ({ model: emptyModel(), real: system }), commands);
        system.log.push('Settle (end of run)');
        await system.settle();
      } catch (err) {
        throw new Error(`${(err as Error).message}\n  steps: ${system.log.join(' → ')}`, { cause: err });
      } finally {
        steps += system.log.length;
        runs++;
        await system.close();
      }
    },
  );
  const details = await fc.check(property, {
    seed: settings.seed,
    numRuns: settings.runs,
    endOnFailure: !settings.shrink,
    ...(settings.path ? { path: settings.path } : {}),
  });
  if (details.failed) {
    const replay = /replayPath="([^"]+)"/.exec(String(details.counterexample?.[0]))?.[1];
    const command = [
      'npm run soak --',
      `--cloud ${cloudFlag(cloud)}`,
      `--seed=${details.seed}`,
      `--path ${details.counterexamplePath}`,
      `--steps ${settings.steps}`,
      ...(replay ? [`--replay-path '${replay}'`] : []),
    ].join(' ');
    throw new Error(
      `model run on ${cloud.name} failed (seed ${details.seed}); replay: ${command}\n` +
        `${details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)}\n` +
        fc.defaultReportMessage(details),
      { cause: details.errorInstance },
    );
  }
  const told = cloud.told();
  const lies = {
    lost: told.lost - toldBefore.lost,
    late: told.late - toldBefore.late,
    stale: told.stale - toldBefore.stale,
  };
  return { runs, steps, lies, ms: Math.round(performance.now() - started) };
}
