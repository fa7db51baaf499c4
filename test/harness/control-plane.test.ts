/**
 * @module
 * The control-plane harness itself: pinned versions, identities and RBAC, kubectl and helm, and that no
 * process or port outlives a control plane, whether it is stopped, fails to start, or its owner is killed.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import { isAlive } from '../control-plane/file-lock.ts';
import { ETCD_VERSION, HELM_VERSION, KUBERNETES_VERSION } from '../control-plane/versions.ts';
import { eventually } from '../support/eventually.ts';
import { expectApiError } from './api-status.ts';
import { runCommand } from './command.ts';
import { type ServerInfo, startControlPlane } from './control-plane.ts';
import { isListening } from './ports.ts';
import { ServerExitedError } from './server-exited.ts';
import { useControlPlane } from './vitest.ts';

const kube = useControlPlane({ crds: false });

/** Pids of this process's children whose executable is `binary` (other test runs may use it too). */
async function childrenRunning(binary: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const status = await readFile(`/proc/${entry}/status`, 'utf8').catch(() => '');
    const parent = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
    if (cmdline.split('\0')[0] === binary && parent === process.pid) pids.push(Number(entry));
  }
  return pids;
}

async function expectGone(servers: readonly ServerInfo[]): Promise<void> {
  for (const server of servers) {
    expect(isAlive(server.pid), `pid ${server.pid} is still running`).toBe(false);
    for (const port of server.ports)
      expect(await isListening(port), `port ${port} is still open`).toBe(false);
  }
}

describe('versions', () => {
  test('the API server reports the pinned Kubernetes release', async () => {
    expect(await kube.controlPlane.serverVersion()).toBe(KUBERNETES_VERSION);
  });

  test('kubectl, etcd and helm are the pinned releases', async () => {
    const { binaries } = kube.controlPlane;
    const kubectl = JSON.parse((await kube.controlPlane.kubectl(['version', '-o', 'json'])).stdout);
    expect(kubectl.clientVersion.gitVersion).toBe(KUBERNETES_VERSION);
    expect(kubectl.serverVersion.gitVersion).toBe(KUBERNETES_VERSION);
    const etcd = (await runCommand(binaries.etcd, ['--version'])).stdout;
    expect(etcd).toContain(`etcd Version: ${ETCD_VERSION.slice(1)}`);
    const helm = (await kube.controlPlane.helm(['version', '--short'])).stdout;
    expect(helm).toMatch(new RegExp(`^${HELM_VERSION.replaceAll('.', '\\.')}\\b`));
  });
});

describe('identities', () => {
  test('a ServiceAccount token is refused until RBAC grants access, then limited to the grant', async () => {
    const { controlPlane, namespace } = kube;
    const account = { namespace, name: 'restricted' };
    const identity = await controlPlane.restrictedKubeConfig(account);
    expect(identity.username).toBe(`system:serviceaccount:${namespace}:restricted`);
    const asAccount = identity.kubeConfig.makeApiClient(CoreV1Api);

    const before = await expectApiError(() => asAccount.listNamespacedConfigMap({ namespace }));
    expect(before.code).toBe(403);
    expect(before.message).toContain(`User "system:serviceaccount:${namespace}:restricted" cannot list`);

    const rbac = controlPlane.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace,
      body: {
        metadata: { name: 'read-configmaps' },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: 'restricted-read-configmaps' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read-configmaps' },
        subjects: [{ kind: 'ServiceAccount', name: 'restricted', namespace }],
      },
    });
    await eventually(
      'the RoleBinding to take effect',
      async () => {
        await asAccount.listNamespacedConfigMap({ namespace });
        return true;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    const other = await controlPlane.newNamespace('other');
    expect((await expectApiError(() => asAccount.listNamespacedConfigMap({ namespace: other }))).code).toBe(
      403,
    );
    expect(
      (
        await expectApiError(() =>
          asAccount.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'x' } } }),
        )
      ).code,
    ).toBe(403);
  });

  test("kubectl runs as the restricted identity through that identity's kubeconfig file", async () => {
    const { controlPlane, namespace } = kube;
    const identity = await controlPlane.restrictedKubeConfig({ namespace, name: 'cli' });
    const refused = await controlPlane.kubectl(['get', 'pods', '-n', namespace], {
      kubeconfigPath: identity.kubeconfigPath,
      check: false,
    });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`"system:serviceaccount:${namespace}:cli" cannot list resource "pods"`);
    const canI = await controlPlane.kubectl(
      ['auth', 'can-i', 'list', 'pods', '-n', namespace, '--as', identity.username],
      {
        check: false,
      },
    );
    expect(canI.stdout.trim()).toBe('no');
  });
});

describe('tools', () => {
  test('kubectl applies manifests from standard input as the admin', async () => {
    const { controlPlane, namespace } = kube;
    const manifest = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\n  namespace: ${namespace}\ndata:\n  k: v\n`;
    await controlPlane.kubectl(['apply', '-f', '-'], { input: manifest });
    const read = await controlPlane.kubeConfig
      .makeApiClient(CoreV1Api)
      .readNamespacedConfigMap({ name: 'applied', namespace });
    expect(read.data).toEqual({ k: 'v' });
  });

  test('every test gets its own namespace', async () => {
    const core = kube.controlPlane.kubeConfig.makeApiClient(CoreV1Api);
    const namespace = await core.readNamespace({ name: kube.namespace });
    expect(namespace.metadata?.name).toMatch(/^test-/);
    expect(await core.listNamespacedConfigMap({ namespace: kube.namespace })).toMatchObject({ items: [] });
  });
});

describe('no leftovers', () => {
  test('after stop() the processes are gone, the ports closed and the folder removed', async () => {
    const controlPlane = await startControlPlane({ crds: false });
    const { etcd, apiserver } = controlPlane.processes;
    expect(isAlive(etcd.pid) && isAlive(apiserver.pid)).toBe(true);
    for (const port of [...etcd.ports, ...apiserver.ports]) expect(await isListening(port)).toBe(true);

    await controlPlane.stop();

    await expectGone([etcd, apiserver]);
    expect(existsSync(controlPlane.dir)).toBe(false);
  });

  test('a control plane that fails to start says why and leaves no process behind', async () => {
    const { binaries } = kube.controlPlane;
    const before = await childrenRunning(binaries.kubeApiserver);
    const etcdBefore = await childrenRunning(binaries.etcd);
    const failure = await startControlPlane({ crds: false, apiserverFlags: ['--no-such-flag'] }).catch(
      (e) => e,
    );
    expect(failure).toBeInstanceOf(ServerExitedError);
    expect(failure.message).toContain('unknown flag: --no-such-flag');
    expect(await childrenRunning(binaries.kubeApiserver)).toEqual(before);
    expect(await childrenRunning(binaries.etcd)).toEqual(etcdBefore);
  });

  test('when the process that started a control plane is killed, etcd and kube-apiserver die with it', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/hold-control-plane.ts', import.meta.url));
    const owner = spawn(process.execPath, [fixture], { stdio: ['ignore', 'pipe', 'inherit'] });
    const ownerExited = new Promise((resolve) => owner.once('exit', resolve));
    try {
      const [line] = await createInterface({ input: owner.stdout })
        [Symbol.asyncIterator]()
        .next()
        .then((r) => [r.value]);
      const started = JSON.parse(line as string) as { processes: Record<string, ServerInfo>; dir: string };
      const servers = Object.values(started.processes);
      expect(servers.every((s) => isAlive(s.pid))).toBe(true);

      owner.kill('SIGKILL');
      await ownerExited;
      await eventually(
        'etcd and kube-apiserver to die with their owner',
        async () => servers.every((s) => !isAlive(s.pid)),
        { timeoutMs: 10_000, intervalMs: 100 },
      );
      await expectGone(servers);
      await rm(started.dir, { recursive: true, force: true });
    } finally {
      owner.kill('SIGKILL');
    }
  });
});
