/**
 * @module
 * The Helm chart under test: the pinned helm binary (built from the Go module proxy by
 * test/control-plane/binaries.ts), `helm lint` / `helm template` runs with caches in a temporary folder,
 * and the rendered manifests as parsed objects.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { ensureControlPlaneBinaries } from '../control-plane/binaries.ts';
import { type CommandResult, runCommand } from '../harness/command.ts';

/** The chart's folder. */
export const CHART_DIR = fileURLToPath(new URL('../../charts/cloud-egress/', import.meta.url));

/** The example values files, one per provider (charts/cloud-egress/ci/<provider>-values.yaml). */
export const CI_VALUES = ['aws', 'gcp', 'azure', 'none', 'auto'].map((provider) => ({
  provider,
  file: join(CHART_DIR, 'ci', `${provider}-values.yaml`),
}));

/** One rendered Kubernetes object (loosely typed: tests look into it). */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  // biome-ignore lint/suspicious/noExplicitAny: rendered YAML, inspected by the tests
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly [key: string]: any };
  // biome-ignore lint/suspicious/noExplicitAny: rendered YAML, inspected by the tests
  readonly [key: string]: any;
}

/** How to render: values files, `--set` pairs, release and namespace. */
export interface RenderOptions {
  readonly valuesFiles?: readonly string[];
  readonly set?: Readonly<Record<string, string>>;
  readonly release?: string;
  readonly namespace?: string;
}

/** `-f`/`--set` arguments for `options`. */
export function valuesArgs(options: RenderOptions): string[] {
  return [
    ...(options.valuesFiles ?? []).flatMap((f) => ['--values', f]),
    ...Object.entries(options.set ?? {}).flatMap(([k, v]) => ['--set', `${k}=${v}`]),
  ];
}

/** Runs the pinned helm with throw-away caches (no cluster needed). */
export async function helm(
  args: readonly string[],
  options: { check?: boolean } = {},
): Promise<CommandResult> {
  const { helm: binary } = await ensureControlPlaneBinaries();
  const home = await mkdtemp(join(tmpdir(), 'cloud-egress-helm-'));
  try {
    return await runCommand(binary, args, {
      env: {
        ...process.env,
        HELM_CACHE_HOME: join(home, 'cache'),
        HELM_CONFIG_HOME: join(home, 'config'),
        HELM_DATA_HOME: join(home, 'data'),
      },
      check: options.check,
      timeoutMs: 60_000,
    });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** Parses a multi-document YAML stream into its (non-empty) objects. */
export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors[0]!.message}`);
      return doc.toJS() as Manifest | null;
    })
    .filter((m): m is Manifest => m !== null && typeof m === 'object');
}

/** `helm template` of the chart; the rendered objects. */
export async function renderChart(options: RenderOptions = {}): Promise<Manifest[]> {
  const result = await helm([
    'template',
    options.release ?? 'cloud-egress',
    CHART_DIR,
    '--namespace',
    options.namespace ?? 'cloud-egress',
    ...valuesArgs(options),
  ]);
  return parseManifests(result.stdout);
}

/** The one object of `kind` whose name ends with `suffix`; throws when there is not exactly one. */
export function findOne(manifests: readonly Manifest[], kind: string, suffix = ''): Manifest {
  const found = manifests.filter((m) => m.kind === kind && m.metadata.name.endsWith(suffix));
  if (found.length !== 1) {
    throw new Error(`expected one ${kind} named *${suffix}, found ${found.map((m) => m.metadata.name)}`);
  }
  return found[0]!;
}

/** A Deployment's or DaemonSet's container by name. */
// biome-ignore lint/suspicious/noExplicitAny: rendered YAML
export function container(workload: Manifest, name: string): any {
  // biome-ignore lint/suspicious/noExplicitAny: rendered YAML
  const c = workload.spec.template.spec.containers.find((x: any) => x.name === name);
  if (!c) throw new Error(`${workload.kind} ${workload.metadata.name} has no container ${name}`);
  return c;
}
