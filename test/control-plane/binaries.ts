/**
 * @module
 * Builds the test cluster's binaries from the Go module proxy, once per version, into the tool cache
 * (`toolCacheDir`): kube-apiserver, kubectl and etcd (the control plane) and kubelet, kube-proxy,
 * kube-scheduler and kube-controller-manager (the real nodes, test/cluster/) from the wrapper module in
 * `wrapper/`, and helm with `go install`. Later calls find them there and return at once. The wrapper's
 * cache folders carry a hash of its go.mod and go.sum, so checkouts with different pins never rebuild
 * each other's binaries.
 *
 * Run it by hand with `node test/control-plane/binaries.ts` (the integration tests' global set-up does
 * the same on first use). A cold build takes several minutes on two cores; builds run under `nice`.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommandError, runCommand } from '../harness/command.ts';
import { toolCacheDir } from '../support/cache-dir.ts';
import { type BuildLog, ensureCachedBuild } from './cached-build.ts';
import { ETCD_VERSION, HELM_VERSION, KUBERNETES_VERSION } from './versions.ts';

/** Paths of the built control-plane binaries. */
export interface ControlPlaneBinaries {
  readonly kubeApiserver: string;
  readonly kubectl: string;
  readonly etcd: string;
  readonly helm: string;
}

/** Paths of the built node binaries. */
export interface NodeBinaries {
  readonly kubelet: string;
  readonly kubeProxy: string;
  readonly kubeScheduler: string;
  readonly kubeControllerManager: string;
}

/** The wrapper Go module that pins Kubernetes and etcd. */
export const WRAPPER_DIR = fileURLToPath(new URL('./wrapper/', import.meta.url));

/** Raise this when the build recipe below changes, so caches built the old way are rebuilt. */
const RECIPE = 1;

const stderrLog: BuildLog = (line) => process.stderr.write(`[control-plane] ${line}\n`);

/** The environment every Go build runs with: local toolchain, static binaries, no paths or VCS stamped in. */
function goEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GOTOOLCHAIN: 'local',
    CGO_ENABLED: '0',
    GOFLAGS: '-trimpath -buildvcs=false',
    ...extra,
  };
}

/** `-ldflags` that make kube-apiserver's `/version` and `kubectl version` report the real release. */
export function kubeVersionLdflags(version: string): string {
  const [major, minor] = version.replace(/^v/, '').split('.');
  const packages = ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'];
  const vars = { gitVersion: version, gitMajor: major, gitMinor: minor, gitTreeState: 'clean' };
  const flags = packages.flatMap((pkg) =>
    Object.entries(vars).map(([name, value]) => `-X ${pkg}.${name}=${value}`),
  );
  return ['-s', '-w', ...flags].join(' ');
}

/** Builds run at a lower priority: the machines' cores are shared with running test suites. */
const NICE = existsSync('/usr/bin/nice') ? ['/usr/bin/nice', '-n', '10'] : [];

async function go(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<void> {
  try {
    const [file, ...prefix] = [...NICE, 'go'];
    await runCommand(file!, [...prefix, ...args], options);
  } catch (error) {
    if (error instanceof CommandError && error.result === undefined) {
      throw new Error('building the test control plane needs Go 1.25 or newer on PATH (`go` was not found)', {
        cause: error,
      });
    }
    throw error;
  }
}

async function timed(log: BuildLog, what: string, fn: () => Promise<void>): Promise<void> {
  const started = Date.now();
  log(`building ${what} (first run on this machine only; takes minutes)…`);
  await fn();
  log(`built ${what} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/** The hash of what a wrapper build depends on (recipe, flags, go.mod, go.sum). */
async function wrapperStamp(extra: Record<string, unknown>): Promise<string> {
  const sources = await Promise.all(['go.mod', 'go.sum'].map((f) => readFile(join(WRAPPER_DIR, f))));
  return createHash('sha256')
    .update(JSON.stringify({ RECIPE, ...extra }))
    .update(sources[0]!)
    .update(sources[1]!)
    .digest('hex');
}

/** The cache folder of a wrapper build: `<tool>-<Kubernetes version>-<stamp prefix>`. */
function wrapperCacheDir(tool: string, stamp: string): string {
  return toolCacheDir(tool, `${KUBERNETES_VERSION}-${stamp.slice(0, 12)}`);
}

/** Builds (or finds) kube-apiserver, kubectl and etcd; returns their folder. */
async function ensureKubeBinaries(log: BuildLog): Promise<string> {
  const ldflags = kubeVersionLdflags(KUBERNETES_VERSION);
  const stamp = await wrapperStamp({ ldflags, ETCD_VERSION });
  const dir = wrapperCacheDir('kube', stamp);
  await ensureCachedBuild(
    {
      dir,
      stamp,
      files: ['kube-apiserver', 'kubectl', 'etcd'],
      build: (out) =>
        timed(
          log,
          `kube-apiserver and kubectl ${KUBERNETES_VERSION}, etcd ${ETCD_VERSION} into ${dir}`,
          async () => {
            const options = {
              cwd: WRAPPER_DIR,
              env: goEnv({ GOFLAGS: '-trimpath -buildvcs=false -mod=readonly' }),
            };
            const kube = ['k8s.io/kubernetes/cmd/kube-apiserver', 'k8s.io/kubernetes/cmd/kubectl'];
            await go(['build', '-ldflags', ldflags, '-o', `${out}/`, ...kube], options);
            await go(
              ['build', '-ldflags', '-s -w', '-o', join(out, 'etcd'), 'go.etcd.io/etcd/server/v3'],
              options,
            );
          },
        ),
    },
    log,
  );
  return dir;
}

/** The node commands the wrapper module builds, by output file name. */
const NODE_COMMANDS = ['kubelet', 'kube-proxy', 'kube-scheduler', 'kube-controller-manager'] as const;

/** Builds (or finds) kubelet, kube-proxy, kube-scheduler and kube-controller-manager; returns their folder. */
async function ensureNodeBinaryDir(log: BuildLog): Promise<string> {
  const ldflags = kubeVersionLdflags(KUBERNETES_VERSION);
  const stamp = await wrapperStamp({ ldflags, NODE_COMMANDS });
  const dir = wrapperCacheDir('kube-node', stamp);
  await ensureCachedBuild(
    {
      dir,
      stamp,
      files: NODE_COMMANDS,
      build: (out) =>
        timed(log, `${NODE_COMMANDS.join(', ')} ${KUBERNETES_VERSION} into ${dir}`, () =>
          go(
            [
              'build',
              '-ldflags',
              ldflags,
              '-o',
              `${out}/`,
              ...NODE_COMMANDS.map((c) => `k8s.io/kubernetes/cmd/${c}`),
            ],
            {
              cwd: WRAPPER_DIR,
              env: goEnv({ GOFLAGS: '-trimpath -buildvcs=false -mod=readonly' }),
            },
          ),
        ),
    },
    log,
  );
  return dir;
}

/**
 * Makes sure the node binaries (kubelet, kube-proxy, kube-scheduler, kube-controller-manager) are built at the
 * pinned Kubernetes version and returns their paths; builds what is missing (once per machine).
 *
 * @throws {CommandError} when the build fails.
 */
export async function ensureNodeBinaries(log: BuildLog = stderrLog): Promise<NodeBinaries> {
  const dir = await ensureNodeBinaryDir(log);
  return {
    kubelet: join(dir, 'kubelet'),
    kubeProxy: join(dir, 'kube-proxy'),
    kubeScheduler: join(dir, 'kube-scheduler'),
    kubeControllerManager: join(dir, 'kube-controller-manager'),
  };
}

/** Builds (or finds) helm; returns its folder. */
async function ensureHelmBinary(log: BuildLog): Promise<string> {
  const dir = toolCacheDir('helm', HELM_VERSION);
  const pkg = 'helm.sh/helm/v3/internal/version';
  const ldflags = `-s -w -X ${pkg}.version=${HELM_VERSION} -X ${pkg}.gitTreeState=clean`;
  await ensureCachedBuild(
    {
      dir,
      stamp: JSON.stringify({ RECIPE, HELM_VERSION, ldflags }),
      files: ['helm'],
      build: (out) =>
        timed(log, `helm ${HELM_VERSION} into ${dir}`, () =>
          // `go install pkg@version` builds outside any module, from the module's own go.mod and go.sum.
          go(['install', '-ldflags', ldflags, `helm.sh/helm/v3/cmd/helm@${HELM_VERSION}`], {
            cwd: tmpdir(),
            env: goEnv({ GOBIN: out }),
          }),
        ),
    },
    log,
  );
  return dir;
}

/**
 * Makes sure kube-apiserver, kubectl, etcd and helm are built at their pinned versions and returns their
 * paths. Builds what is missing (once per machine; other processes wait on a lock meanwhile).
 *
 * @throws {CommandError} when a build fails (its message ends with the build's output).
 */
export async function ensureControlPlaneBinaries(log: BuildLog = stderrLog): Promise<ControlPlaneBinaries> {
  const kube = await ensureKubeBinaries(log);
  const helm = await ensureHelmBinary(log);
  return {
    kubeApiserver: join(kube, 'kube-apiserver'),
    kubectl: join(kube, 'kubectl'),
    etcd: join(kube, 'etcd'),
    helm: join(helm, 'helm'),
  };
}

if (import.meta.main) {
  const binaries = { ...(await ensureControlPlaneBinaries()), ...(await ensureNodeBinaries()) };
  for (const [name, path] of Object.entries(binaries)) console.log(`${name}\t${path}`);
}
