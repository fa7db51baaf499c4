/**
 * @module
 * A containerd root with the box's images already imported and unpacked, made once per set of images and
 * cached, from which every node's first boot starts (as cloud nodes boot from a machine image with the
 * pause and system images pre-pulled). Content blobs and unpacked layers never change once written, so a
 * node's copy hard-links them; only containerd's and the snapshotter's bolt databases are copied. A boot
 * then costs seconds instead of writing the 700 MB image twice per node.
 *
 * ```
 * ensureNodeTemplate(images)  containerd (no CRI, temporary state and socket) ─► ctr -n k8s.io images import …
 *                             ─► stop ─► cache: node-root-<hash>/root
 * seedContainerdRoot(root)    cp -al template/. root/, then every *.db copied for real
 * ```
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type BuildLog, ensureCachedBuild } from '../control-plane/cached-build.ts';
import { runCommand } from '../harness/command.ts';
import { whenExited } from '../harness/server-exited.ts';
import { ServerProcess } from '../harness/server-process.ts';
import { toolCacheDir } from '../support/cache-dir.ts';
import { eventually } from '../support/eventually.ts';

/** Raise when the recipe below changes. */
const RECIPE = 1;

const stderrLog: BuildLog = (line) => process.stderr.write(`[node-template] ${line}\n`);

/** The cache stamp of an image archive: its folder's own stamp (the archives are cached builds). */
async function archiveStamp(archive: string): Promise<string> {
  const dir = archive.slice(0, archive.lastIndexOf('/'));
  return readFile(join(dir, '.stamp'), 'utf8').catch(() => archive);
}

/** Builds (or finds) a containerd root holding `images` (docker-archives); returns it. */
export async function ensureNodeTemplate(
  images: readonly string[],
  log: BuildLog = stderrLog,
): Promise<string> {
  const { stdout: version } = await runCommand('containerd', ['--version']);
  const hash = createHash('sha256').update(JSON.stringify({ RECIPE, version: version.trim() }));
  for (const image of images) hash.update(await archiveStamp(image));
  const stamp = hash.digest('hex');
  const dir = toolCacheDir('node-root', stamp.slice(0, 12));
  await ensureCachedBuild(
    {
      dir,
      stamp,
      files: [],
      data: ['root/io.containerd.metadata.v1.bolt/meta.db'],
      build: async (out) => {
        const started = Date.now();
        log(`importing ${images.length} images into a node template (${dir})…`);
        const root = join(out, 'root');
        const state = join(out, 'state');
        const sock = join(out, 'containerd.sock');
        await mkdir(root, { recursive: true });
        const config = join(out, 'containerd.toml');
        await writeFile(
          config,
          [
            'version = 2',
            `root = ${JSON.stringify(root)}`,
            `state = ${JSON.stringify(state)}`,
            'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]',
            '[grpc]',
            `  address = ${JSON.stringify(sock)}`,
            '[ttrpc]',
            `  address = ${JSON.stringify(`${sock}.ttrpc`)}`,
            '[plugins."io.containerd.internal.v1.opt"]',
            `  path = ${JSON.stringify(join(out, 'opt'))}`,
            '',
          ].join('\n'),
        );
        const containerd = await ServerProcess.start('containerd', 'containerd', ['--config', config], {
          logPath: join(out, 'containerd.log'),
        });
        try {
          await eventually(
            'containerd for the node template to answer',
            async () =>
              (await runCommand('ctr', ['--address', sock, 'version'], { check: false })).code === 0,
            { timeoutMs: 60_000, intervalMs: 100, giveUp: whenExited(containerd) },
          );
          for (const image of images) {
            await runCommand('ctr', ['--address', sock, '-n', 'k8s.io', 'images', 'import', image], {
              timeoutMs: 600_000,
            });
          }
        } finally {
          await containerd.stop();
        }
        await rm(state, { recursive: true, force: true });
        await rm(join(out, 'opt'), { recursive: true, force: true });
        log(`node template ready in ${((Date.now() - started) / 1000).toFixed(0)} s`);
      },
    },
    log,
  );
  return join(dir, 'root');
}

/** Every `*.db` file under `dir`. */
async function databases(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'blobs' && entry.name !== 'snapshots') out.push(...(await databases(path)));
    } else if (entry.name.endsWith('.db')) out.push(path);
  }
  return out;
}

/** Fills an empty containerd root from the template: hard links, and real copies of the databases. */
export async function seedContainerdRoot(template: string, root: string): Promise<void> {
  await mkdir(root, { recursive: true });
  if ((await readdir(root)).length > 0) return;
  await runCommand('cp', ['-al', `${template}/.`, `${root}/`], { timeoutMs: 300_000 });
  for (const db of await databases(root)) {
    await runCommand('cp', ['--remove-destination', join(template, db.slice(root.length)), db]);
  }
}
