/**
 * @module
 * Build-once caching for test tools: a tool is built into a temporary folder next to its cache folder and
 * renamed into place only when complete, under a lock, with a stamp that records what it was built from.
 * A complete, matching cache folder is reused without taking the lock.
 */
import { access, constants, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { withFileLock } from './file-lock.ts';

/** Name of the file inside a cache folder that records what the folder was built from. */
export const STAMP_FILE = '.stamp';

/** One cached build. */
export interface CachedBuild {
  /** The cache folder (from `toolCacheDir`). */
  readonly dir: string;
  /** What the build depends on (versions, go.sum hash, flags); a different stamp means rebuild. */
  readonly stamp: string;
  /** Executables the folder must contain. */
  readonly files: readonly string[];
  /** Other files (archives, data) the folder must contain. */
  readonly data?: readonly string[];
  /** Builds the files into `outDir` (an empty temporary folder). */
  readonly build: (outDir: string) => Promise<void>;
}

/** Progress reporting of {@link ensureCachedBuild}. */
export type BuildLog = (line: string) => void;

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Whether `dir` holds a finished build with this stamp and all its files. */
export async function isBuilt(
  build: Pick<CachedBuild, 'dir' | 'stamp' | 'files' | 'data'>,
): Promise<boolean> {
  const stamp = await readFile(join(build.dir, STAMP_FILE), 'utf8').catch(() => undefined);
  if (stamp !== build.stamp) return false;
  for (const file of build.files) if (!(await isExecutable(join(build.dir, file)))) return false;
  for (const file of build.data ?? []) if (!(await exists(join(build.dir, file)))) return false;
  return true;
}

/** Removes `<dir>.tmp-<pid>` folders of builds that were killed midway (call while holding the lock). */
async function removeInterruptedBuilds(dir: string): Promise<void> {
  const prefix = `${basename(dir)}.tmp-`;
  for (const entry of await readdir(dirname(dir))) {
    if (entry.startsWith(prefix)) await rm(join(dirname(dir), entry), { recursive: true, force: true });
  }
}

/**
 * Makes sure `build.dir` holds a finished build, building it when it does not. Concurrent callers (other
 * processes) wait on `<dir>.lock` and then reuse the build; an interrupted build leaves only a temporary
 * folder that the next attempt removes.
 */
export async function ensureCachedBuild(build: CachedBuild, log: BuildLog): Promise<void> {
  if (await isBuilt(build)) return;
  await mkdir(dirname(build.dir), { recursive: true });
  await withFileLock(
    `${build.dir}.lock`,
    async () => {
      if (await isBuilt(build)) return;
      await removeInterruptedBuilds(build.dir);
      const tmp = `${build.dir}.tmp-${process.pid}`;
      await mkdir(tmp, { recursive: true });
      try {
        await build.build(tmp);
        await writeFile(join(tmp, STAMP_FILE), build.stamp);
        await rm(build.dir, { recursive: true, force: true });
        await rename(tmp, build.dir);
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    },
    { onWait: (pid) => log(`waiting for process ${pid}, which is building ${build.dir}`) },
  );
}
