/**
 * @module
 * The container image's contents, checked without Docker: the Dockerfile copies package.json,
 * package-lock.json, src/ and providers/ and installs `npm ci --omit=dev`. This test lays out the same tree
 * (the production packages of package-lock.json only, linked from node_modules/) and runs the entry point
 * from it on Node 24, loading every provider, so a runtime import of a devDependency fails here first.
 */
import { cp, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runCommand } from '../harness/command.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The pinned Node 24 (a devDependency); the image's base provides the same major. */
const NODE = join(ROOT, 'node_modules', '.bin', 'node');

let app = '';

beforeAll(async () => {
  app = await mkdtemp(join(tmpdir(), 'cloud-egress-image-'));
  for (const part of ['package.json', 'package-lock.json', 'src', 'providers']) {
    await cp(join(ROOT, part), join(app, part), {
      recursive: true,
      filter: (source) => !source.endsWith('.test.ts'),
    });
  }
  const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; devOptional?: boolean }>;
  };
  // Top-level production packages; nested ones live inside their parents and come with them.
  for (const [path, info] of Object.entries(lock.packages)) {
    if (!path.startsWith('node_modules/') || path.indexOf('/node_modules/', 1) !== -1) continue;
    if (info.dev || info.devOptional) continue;
    const target = join(app, path);
    await mkdir(dirname(target), { recursive: true });
    await symlink(join(ROOT, path), target, 'dir');
  }
});

afterAll(async () => {
  if (app) await rm(app, { recursive: true, force: true });
});

test('the Dockerfile installs production dependencies and copies what the entry point needs', async () => {
  const dockerfile = await readFile(join(ROOT, 'Dockerfile'), 'utf8');
  expect(dockerfile).toMatch(/^FROM \$\{NODE_IMAGE\}/m);
  expect(dockerfile).toContain('ARG NODE_IMAGE=node:24-bookworm-slim');
  expect(dockerfile).toContain('npm ci --omit=dev');
  for (const pkg of ['nftables', 'iproute2', 'iputils-arping', 'procps', 'conntrack'])
    expect(dockerfile).toContain(pkg);
  expect(dockerfile).toMatch(/^USER 65532:65532$/m);
  expect(dockerfile).toContain('ENTRYPOINT ["node", "/app/src/cli/main.ts"]');
  for (const part of ['src', 'providers']) expect(dockerfile).toContain(`COPY ${part} ./${part}`);
});

test.each([
  ['controller', 'Usage: cloud-egress controller'],
  ['agent', 'Usage: cloud-egress agent'],
])('`node src/cli/main.ts %s` runs from the production tree', async (command, usage) => {
  const result = await runCommand(NODE, [join(app, 'src/cli/main.ts'), command, '--help'], {
    cwd: app,
    timeoutMs: 60_000,
  });
  expect(result.stdout).toContain(usage);
});

test('every registered provider loads from the production tree', async () => {
  const script = `
    const { PROVIDER_NAMES, providerFactory, ProviderUnavailableError } = await import(${JSON.stringify(
      join(app, 'src/provider/registry.ts'),
    )});
    const loaded = [];
    for (const name of PROVIDER_NAMES) {
      try { await providerFactory(name); loaded.push(name); }
      catch (err) { if (!(err instanceof ProviderUnavailableError)) throw err; }
    }
    console.log(JSON.stringify(loaded));`;
  const result = await runCommand(NODE, ['--input-type=module', '-e', script], {
    cwd: app,
    timeoutMs: 60_000,
  });
  const loaded = JSON.parse(result.stdout.trim()) as string[];
  expect(loaded).toEqual(expect.arrayContaining(['aws', 'azure', 'none', 'inmemory']));
});
