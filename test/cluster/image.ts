/**
 * @module
 * The project's image, built here from the repository's own `Dockerfile` without Docker and without any
 * image from a registry: Debian's `buildah bud` (chroot isolation, overlay storage in the tool cache)
 * with `--build-arg NODE_IMAGE=` a base image made locally, standing in for `node:24-bookworm-slim`.
 *
 * ```
 * ensureBaseImage   debootstrap --variant=minbase bookworm (the machine's Debian mirror)
 *                   + Node from the npm `node` package in node_modules/ + npm from `npm pack npm@<pin>`
 *                   → buildah from scratch / copy / commit → oci-archive   (cache: image-base-<hash>/)
 * ensureImage       buildah bud --build-arg NODE_IMAGE=<base> -f Dockerfile <repository>
 *                   → docker-archive cloud-egress:box-<hash>               (cache: image-cloud-egress-<hash>/)
 * ensureImageWithout(binary)   the same image with one file deleted (the break tests)
 * ```
 *
 * The hashes cover what each step reads: the base recipe and versions; the Dockerfile, .dockerignore and every
 * file the .dockerignore lets into the build context. A change to src/ builds a new image on the next run
 * (buildah's layer cache keeps the apt and npm layers); an unchanged tree reuses the archive at once.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildLog, ensureCachedBuild } from '../control-plane/cached-build.ts';
import { runCommand } from '../harness/command.ts';
import { cacheRoot, toolCacheDir } from '../support/cache-dir.ts';
import { ensurePackages } from '../support/ensure-packages.ts';

/** The repository (the build context). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Debian release of the base image (the Dockerfile's default base is `node:24-bookworm-slim`). */
export const BASE_SUITE = 'bookworm';
/** npm in the base image (the Dockerfile's first stage runs `npm ci`). */
export const NPM_VERSION = '11.6.2';
/** The repository the box's image is named by (as the chart's `image.repository`). */
export const IMAGE_REPOSITORY = 'cloud-egress';

/** Raise when a recipe below changes. */
const RECIPE = 2;

/** The commands the image must carry for the agent (what the box's process agents find on the host). */
export const IMAGE_TOOLS = ['nft', 'ip', 'bridge', 'arping', 'conntrack', 'sysctl'] as const;

/** A built image. */
export interface BuiltImage {
  /** `cloud-egress:box-<hash>`, the reference pods use (`image.repository` + `image.tag`). */
  readonly ref: string;
  readonly repository: string;
  readonly tag: string;
  /** The docker-archive to import into each node's containerd. */
  readonly archive: string;
}

const stderrLog: BuildLog = (line) => process.stderr.write(`[image] ${line}\n`);

/** Debian packages the image build needs on the machine. */
const BUILD_TOOLS = [
  { command: 'buildah', pkg: 'buildah' },
  { command: 'debootstrap', pkg: 'debootstrap' },
] as const;

/** Where buildah keeps its images and layers (in the tool cache, never the machine's own storage). */
function buildahStore(): { root: string; runroot: string } {
  const base = join(cacheRoot(), 'buildah');
  return { root: join(base, 'storage'), runroot: join(base, 'run') };
}

/** Runs buildah on the cache's own storage, chroot isolation, the host's network for RUN steps. */
export async function buildah(
  args: readonly string[],
  options: { cwd?: string; check?: boolean; log?: BuildLog } = {},
): Promise<string> {
  const store = buildahStore();
  const result = await runCommand(
    'buildah',
    ['--root', store.root, '--runroot', store.runroot, '--storage-driver', 'overlay', ...args],
    {
      cwd: options.cwd,
      env: { ...process.env, BUILDAH_ISOLATION: 'chroot' },
      check: options.check,
      timeoutMs: 1_800_000,
      onOutput: options.log
        ? (chunk) => {
            for (const line of chunk.split('\n')) if (/STEP \d/.test(line)) options.log!(line.trim());
          }
        : undefined,
    },
  );
  return result.stdout.trim();
}

/** The machine's Debian mirror (the first `URIs:` or `deb` line of its apt sources). */
async function debianMirror(): Promise<string> {
  for (const file of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    const uris = /^URIs:\s*(\S+)/m.exec(text) ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+/m.exec(text);
    if (uris && !uris[1]!.includes('security')) return uris[1]!;
  }
  throw new Error(
    'no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list',
  );
}

/**
 * The machine's own CA certificates (`/usr/local/share/ca-certificates/*.crt`), which the base image trusts
 * as well, as an organisation's base image carries its trust store: the build's `npm ci` and `apt-get`
 * reach the registries the way the machine does.
 */
async function machineCaFiles(): Promise<string[]> {
  const dir = '/usr/local/share/ca-certificates';
  const entries = await readdir(dir).catch(() => [] as string[]);
  return entries
    .filter((e) => e.endsWith('.crt'))
    .sort()
    .map((e) => join(dir, e));
}

/** The Node binary of the pinned `node` devDependency. */
function nodeBinary(): string {
  return join(REPO_ROOT, 'node_modules', 'node', 'bin', 'node');
}

async function nodeVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'node_modules', 'node', 'package.json'), 'utf8'));
  return pkg.version as string;
}

async function sh(script: string): Promise<void> {
  await runCommand('sh', ['-euc', script], { timeoutMs: 1_800_000 });
}

/** The base image reference (in buildah's storage) for a recipe hash. */
function baseRef(hash: string): string {
  return `localhost/cloud-egress-node-base:${hash.slice(0, 12)}`;
}

/**
 * Builds (or finds) the stand-in for `node:24-bookworm-slim`: Debian minbase with Node and npm in
 * /usr/local, as the official image lays them out. Returns its reference in buildah's storage.
 */
export async function ensureBaseImage(log: BuildLog = stderrLog): Promise<string> {
  const missing = await ensurePackages(BUILD_TOOLS);
  if (missing.length > 0) throw new Error(`building the image needs ${missing.join(', ')}`);
  const node = await nodeVersion();
  const cas = await machineCaFiles();
  const stamp = createHash('sha256')
    .update(JSON.stringify({ RECIPE, BASE_SUITE, node, NPM_VERSION }))
    .update(Buffer.concat(await Promise.all(cas.map((f) => readFile(f)))))
    .digest('hex');
  const dir = toolCacheDir('image-base', stamp.slice(0, 12));
  const ref = baseRef(stamp);
  await ensureCachedBuild(
    {
      dir,
      stamp,
      files: [],
      data: ['base.oci.tar'],
      build: async (out) => {
        const started = Date.now();
        log(`building the base image (Debian ${BASE_SUITE} + Node ${node}) into ${dir}…`);
        const rootfs = join(out, 'rootfs');
        const mirror = await debianMirror();
        await runCommand(
          'debootstrap',
          ['--variant=minbase', '--include=ca-certificates,libstdc++6', BASE_SUITE, rootfs, mirror],
          { timeoutMs: 1_800_000 },
        );
        await runCommand('npm', ['pack', `npm@${NPM_VERSION}`, '--pack-destination', out, '--silent'], {
          cwd: out,
          timeoutMs: 300_000,
        });
        await sh(
          [
            `r=${JSON.stringify(rootfs)}`,
            'rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/*',
            'mkdir -p "$r/usr/local/bin" "$r/usr/local/lib/node_modules/npm"',
            `cp ${JSON.stringify(nodeBinary())} "$r/usr/local/bin/node"`,
            `tar -xzf ${JSON.stringify(join(out, `npm-${NPM_VERSION}.tgz`))} -C "$r/usr/local/lib/node_modules/npm" --strip-components=1`,
            'ln -s ../lib/node_modules/npm/bin/npm-cli.js "$r/usr/local/bin/npm"',
            'ln -s ../lib/node_modules/npm/bin/npx-cli.js "$r/usr/local/bin/npx"',
            ...cas.map((f) => `cp ${JSON.stringify(f)} "$r/usr/local/share/ca-certificates/"`),
            'chroot "$r" update-ca-certificates --fresh >/dev/null',
          ].join('\n'),
        );
        const container = await buildah(['from', 'scratch']);
        try {
          const mount = await buildah(['mount', container]);
          await sh(`cp -a ${JSON.stringify(rootfs)}/. ${JSON.stringify(mount)}/`);
          await buildah(['umount', container]);
          await buildah([
            'config',
            '--env',
            'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
            '--env',
            `NODE_VERSION=${node}`,
            // Node does not read the system's trust store by itself; npm ci in the build needs it.
            '--env',
            'NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt',
            '--cmd',
            'node',
            '--os',
            'linux',
            '--arch',
            'amd64',
            container,
          ]);
          await buildah(['commit', '--rm', container, ref]);
        } catch (err) {
          await buildah(['rm', container], { check: false });
          throw err;
        }
        await buildah(['push', ref, `oci-archive:${join(out, 'base.oci.tar')}`]);
        await rm(rootfs, { recursive: true, force: true });
        log(`built the base image in ${((Date.now() - started) / 1000).toFixed(0)} s`);
      },
    },
    log,
  );
  // The archive is the cache; buildah's storage may have been wiped since.
  if ((await buildah(['inspect', '--type', 'image', ref], { check: false })) === '') {
    const id = (await buildah(['pull', '--quiet', `oci-archive:${join(dir, 'base.oci.tar')}`]))
      .split('\n')
      .at(-1)!;
    await buildah(['tag', id, ref]);
  }
  return ref;
}

/** The pod sandbox image every node's containerd runs pods with (the chart's `agent.pauseImage` too). */
export const PAUSE_IMAGE = 'registry.k8s.io/pause:3.10';

/**
 * Builds (or finds) the sandbox image: `fixtures/pause.c` compiled statically with the machine's gcc, alone
 * in an image named {@link PAUSE_IMAGE}; returns its docker-archive.
 */
export async function ensurePauseImage(log: BuildLog = stderrLog): Promise<string> {
  const missing = await ensurePackages([...BUILD_TOOLS, { command: 'gcc', pkg: 'gcc' }]);
  if (missing.length > 0) throw new Error(`building the pause image needs ${missing.join(', ')}`);
  const source = join(REPO_ROOT, 'test', 'cluster', 'fixtures', 'pause.c');
  const stamp = createHash('sha256')
    .update(JSON.stringify({ RECIPE, PAUSE_IMAGE }))
    .update(await readFile(source))
    .digest('hex');
  const dir = toolCacheDir('image-pause', stamp.slice(0, 12));
  await ensureCachedBuild(
    {
      dir,
      stamp,
      files: [],
      data: ['image.tar'],
      build: async (out) => {
        log(`building ${PAUSE_IMAGE} from test/cluster/fixtures/pause.c`);
        await runCommand('gcc', ['-static', '-O2', '-o', join(out, 'pause'), source], { timeoutMs: 120_000 });
        const container = await buildah(['from', 'scratch']);
        try {
          await buildah(['copy', '--chmod', '0755', container, join(out, 'pause'), '/pause']);
          await buildah([
            'config',
            '--entrypoint',
            '["/pause"]',
            '--os',
            'linux',
            '--arch',
            'amd64',
            container,
          ]);
          await buildah(['commit', '--rm', container, `localhost/box-pause:${stamp.slice(0, 12)}`]);
        } catch (err) {
          await buildah(['rm', container], { check: false });
          throw err;
        }
        const local = `localhost/box-pause:${stamp.slice(0, 12)}`;
        await buildah(['push', local, `docker-archive:${join(out, 'image.tar')}:${PAUSE_IMAGE}`]);
        await buildah(['rmi', local], { check: false });
        await rm(join(out, 'pause'));
      },
    },
    log,
  );
  return join(dir, 'image.tar');
}

/** Every file of the build context, as the .dockerignore admits it (package files, src/, providers/, no tests). */
export async function contextFiles(root: string = REPO_ROOT): Promise<string[]> {
  const files = ['package.json', 'package-lock.json'];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of (await readdir(join(root, dir), { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (!entry.name.endsWith('.test.ts')) files.push(path);
    }
  };
  await walk('src');
  await walk('providers');
  return files;
}

/** The hash of the Dockerfile, the .dockerignore and the build context (and the base image's recipe). */
export async function contextHash(base: string, root: string = REPO_ROOT): Promise<string> {
  const hash = createHash('sha256').update(JSON.stringify({ RECIPE, base }));
  for (const file of ['Dockerfile', '.dockerignore', ...(await contextFiles(root))]) {
    hash
      .update(`${file}\0`)
      .update(await readFile(join(root, file)))
      .update('\0');
  }
  return hash.digest('hex');
}

/** Keeps the newest `keep` cache folders starting with `prefix` and removes the older ones. */
async function pruneOld(prefix: string, keep: number): Promise<void> {
  const root = cacheRoot();
  if (!existsSync(root)) return;
  const dirs = (await readdir(root)).filter((d) => d.startsWith(prefix) && !d.includes('.'));
  const dated = await Promise.all(dirs.map(async (d) => ({ d, at: (await stat(join(root, d))).mtimeMs })));
  for (const { d } of dated.sort((a, b) => b.at - a.at).slice(keep)) {
    await rm(join(root, d), { recursive: true, force: true });
  }
}

/**
 * Builds (or finds) the project's image from the Dockerfile at the repository's root and returns it as a
 * docker-archive, named `cloud-egress:box-<hash of the context>`.
 */
export async function ensureImage(log: BuildLog = stderrLog): Promise<BuiltImage> {
  const base = await ensureBaseImage(log);
  const hash = await contextHash(base);
  const tag = `box-${hash.slice(0, 12)}`;
  const ref = `${IMAGE_REPOSITORY}:${tag}`;
  const dir = toolCacheDir('image-cloud-egress', hash.slice(0, 12));
  await ensureCachedBuild(
    {
      dir,
      stamp: hash,
      files: [],
      data: ['image.tar'],
      build: async (out) => {
        const started = Date.now();
        log(`building ${ref} from the Dockerfile (buildah bud)…`);
        const local = `localhost/${ref}`;
        await buildah(
          [
            'bud',
            '--layers',
            '--network',
            'host',
            '--build-arg',
            `NODE_IMAGE=${base}`,
            '-t',
            local,
            '-f',
            'Dockerfile',
            '.',
          ],
          { cwd: REPO_ROOT, log },
        );
        await buildah(['push', local, `docker-archive:${join(out, 'image.tar')}:${ref}`]);
        log(`built ${ref} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
      },
    },
    log,
  );
  await pruneOld('image-cloud-egress-', 3);
  return { ref, repository: IMAGE_REPOSITORY, tag, archive: join(dir, 'image.tar') };
}

/**
 * The image with `path` (e.g. `/usr/sbin/nft`) deleted: what a Dockerfile that forgot a package would build.
 * Tagged `<tag>-without-<name>`.
 */
export async function ensureImageWithout(
  image: BuiltImage,
  path: string,
  log: BuildLog = stderrLog,
): Promise<BuiltImage> {
  const name = path.split('/').at(-1)!;
  const tag = `${image.tag}-without-${name}`;
  const ref = `${IMAGE_REPOSITORY}:${tag}`;
  const dir = toolCacheDir('image-cloud-egress', `${image.tag.slice(4)}-without-${name}`);
  await ensureCachedBuild(
    {
      dir,
      stamp: JSON.stringify({ RECIPE, image: image.ref, path }),
      files: [],
      data: ['image.tar'],
      build: async (out) => {
        log(`deriving ${ref} (${path} removed)`);
        await loadImage(image);
        const container = await buildah(['from', '--pull=never', `localhost/${image.ref}`]);
        try {
          const mount = await buildah(['mount', container]);
          const target = join(mount, path);
          if (!existsSync(target)) throw new Error(`${path} is not in ${image.ref}`);
          await rm(target);
          await buildah(['umount', container]);
          await buildah(['commit', container, `localhost/${ref}`]);
        } finally {
          await buildah(['rm', container], { check: false });
        }
        await buildah(['push', `localhost/${ref}`, `docker-archive:${join(out, 'image.tar')}:${ref}`]);
        await buildah(['rmi', `localhost/${ref}`], { check: false });
      },
    },
    log,
  );
  return { ref, repository: IMAGE_REPOSITORY, tag, archive: join(dir, 'image.tar') };
}

/** Makes sure buildah's storage holds `image` (as `localhost/<ref>`), loading it from its archive if not. */
async function loadImage(image: BuiltImage): Promise<void> {
  const local = `localhost/${image.ref}`;
  if ((await buildah(['inspect', '--type', 'image', local], { check: false })) !== '') return;
  // `pull --quiet` prints the loaded image's ID.
  const id = (await buildah(['pull', '--quiet', `docker-archive:${image.archive}`])).split('\n').at(-1)!;
  await buildah(['tag', id, local]);
}

/** The image's config as buildah reports it (Entrypoint, Cmd, User, Env, WorkingDir). */
export interface ImageConfig {
  readonly Entrypoint?: string[];
  readonly Cmd?: string[];
  readonly User?: string;
  readonly Env?: string[];
  readonly WorkingDir?: string;
  readonly ExposedPorts?: Record<string, unknown>;
}

/**
 * Opens the image (from its archive) and calls `inspect` with its config and its root file system mounted;
 * removes the working container afterwards.
 */
export async function withImageRootfs<T>(
  image: BuiltImage,
  inspect: (config: ImageConfig, rootfs: string) => Promise<T>,
): Promise<T> {
  await loadImage(image);
  const container = await buildah(['from', '--pull=never', `localhost/${image.ref}`]);
  try {
    const info = JSON.parse(await buildah(['inspect', '--type', 'container', container])) as {
      OCIv1?: { config?: ImageConfig };
    };
    const mount = await buildah(['mount', container]);
    return await inspect(info.OCIv1?.config ?? {}, mount);
  } finally {
    await buildah(['umount', container], { check: false });
    await buildah(['rm', container], { check: false });
  }
}

/** Paths of the image relative to its root, for messages. */
export function inImage(rootfs: string, path: string): string {
  return `/${relative(rootfs, path)}`;
}

if (import.meta.main) {
  await mkdir(cacheRoot(), { recursive: true });
  const image = await ensureImage();
  console.log(`${image.ref}\t${image.archive}`);
}
