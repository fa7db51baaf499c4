/**
 * @module
 * A lock file that keeps two processes (two vitest runs, a run and a manual build) from building the same
 * tool into the same cache folder at once. The file holds the owner's pid; a lock whose owner is gone is
 * stale and taken over.
 */
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** Options of {@link withFileLock}. */
export interface FileLockOptions {
  /** How often to look again while another process holds the lock. Default 1 s. */
  readonly pollMs?: number;
  /** Called once when the lock is held by another live process (pid given). */
  readonly onWait?: (ownerPid: number) => void;
}

/** Whether a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function ownerOf(path: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(await readFile(path, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function tryAcquire(path: string): Promise<boolean> {
  try {
    const handle = await open(path, 'wx');
    try {
      await handle.writeFile(String(process.pid));
    } finally {
      await handle.close();
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** Removes a lock whose owner died, unless another process replaced it meanwhile. */
async function breakStaleLock(path: string, stalePid: number): Promise<void> {
  const aside = `${path}.stale-${process.pid}`;
  try {
    await rename(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if ((await ownerOf(aside)) !== stalePid) {
    // A live process took the lock between our read and the rename: give it back.
    await rename(aside, path);
    return;
  }
  await unlink(aside);
}

/**
 * Runs `fn` while holding the lock file at `path`, waiting for any live holder first.
 * The lock is released when `fn` settles, whether it resolves or throws.
 */
export async function withFileLock<T>(
  path: string,
  fn: () => Promise<T>,
  options: FileLockOptions = {},
): Promise<T> {
  let told = false;
  let unreadable = 0;
  for (;;) {
    if (await tryAcquire(path)) break;
    const owner = await ownerOf(path);
    if (owner === undefined) {
      // Released just now, or its owner is between creating and writing it; an owner that died right
      // there leaves an empty file behind, which is stale after a few seconds.
      unreadable += 1;
      if (unreadable > 100) {
        await unlink(path).catch(() => {});
        unreadable = 0;
      }
      await sleep(50);
      continue;
    }
    if (owner === process.pid) throw new Error(`lock ${path} is already held by this process`);
    if (!isAlive(owner)) {
      await breakStaleLock(path, owner);
      continue;
    }
    if (!told) options.onWait?.(owner);
    told = true;
    await sleep(options.pollMs ?? 1000);
  }
  try {
    return await fn();
  } finally {
    if ((await ownerOf(path)) === process.pid) await unlink(path);
  }
}
