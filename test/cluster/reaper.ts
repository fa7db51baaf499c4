/**
 * @module
 * What a killed test run leaves behind: node processes outside the test process's tree (containerd's shims
 * and the pods' containers are reparented to init), their cgroups, the box's namespaces and CNI cache
 * entries, mounts of its folder, kubelet's kernel settings. Each real-node box registers its prefix with its
 * pid and folder; the next box removes the leftovers of every registered box whose process is gone, and
 * only those.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { commandRunner } from '../../src/agent/linux/run-command.ts';
import { isAlive } from '../control-plane/file-lock.ts';
import { namespacesWithPrefix } from '../e2e/topology.ts';
import { runCommand } from '../harness/command.ts';
import { KernelTunables, removeCniCache } from './kubelet-node.ts';

const REGISTRY = '/run/cloud-egress-real-boxes';
const CGROUPS = '/sys/fs/cgroup';

/** Records that this process runs the box `prefix` with its files in `dir`; returns the function that unregisters it. */
export async function registerBox(prefix: string, dir: string): Promise<() => Promise<void>> {
  await mkdir(REGISTRY, { recursive: true });
  const entry = join(REGISTRY, prefix);
  await writeFile(entry, `${process.pid}\n${dir}\n`);
  return () => rm(entry, { force: true });
}

async function cgroupDirs(prefix: string): Promise<string[]> {
  const out: string[] = [];
  for (const h of await readdir(CGROUPS).catch(() => [] as string[])) {
    for (const d of await readdir(join(CGROUPS, h)).catch(() => [] as string[])) {
      if (d.startsWith(`${prefix}-`)) out.push(join(CGROUPS, h, d));
    }
  }
  return out;
}

async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (e.isDirectory()) out.push(...(await tree(join(dir, e.name))));
  }
  out.push(dir);
  return out;
}

/** Removes the leftovers of every registered box whose process has ended. Returns their prefixes. */
export async function reapDeadBoxes(): Promise<string[]> {
  const reaped: string[] = [];
  for (const prefix of await readdir(REGISTRY).catch(() => [] as string[])) {
    const [pidText, dir] = (await readFile(join(REGISTRY, prefix), 'utf8').catch(() => '0')).split('\n');
    const pid = Number(pidText);
    if (pid > 0 && isAlive(pid)) continue;
    const dirs = await cgroupDirs(prefix);
    for (let round = 0; round < 20; round++) {
      let killed = 0;
      for (const dir of dirs.filter((d) => d.includes('/pids/'))) {
        for (const cg of await tree(dir)) {
          for (const line of (await readFile(join(cg, 'cgroup.procs'), 'utf8').catch(() => '')).split('\n')) {
            if (!line.trim()) continue;
            killed++;
            try {
              process.kill(Number(line), 'SIGKILL');
            } catch {
              // gone
            }
          }
        }
      }
      if (killed === 0) break;
      await sleep(100);
    }
    for (const dir of dirs)
      for (const cg of await tree(dir)) if (existsSync(cg)) await rmdir(cg).catch(() => {});
    for (const ns of await namespacesWithPrefix(`${prefix}-`)) {
      await commandRunner()('ip', ['netns', 'del', ns]).catch(() => {});
    }
    await removeCniCache(`${prefix}-pods`);
    if (dir) {
      const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
        .split('\n')
        .map((line) => line.split(' ')[4] ?? '')
        .filter((point) => point.startsWith(`${dir}/`))
        .sort((a, b) => b.length - a.length);
      for (const point of mounts) await runCommand('umount', ['-l', point], { check: false });
    }
    await rm(join(REGISTRY, prefix), { force: true });
    reaped.push(prefix);
  }
  await KernelTunables.restoreIfUnused();
  return reaped;
}
