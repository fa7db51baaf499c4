/**
 * `cloud-egress controller` as a real process against a real kube-apiserver: the endpoints answer,
 * /readyz follows the caches, /metrics carries the controller's metrics, and SIGTERM shuts down gracefully,
 * releasing the leader lease.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { afterEach, expect, it } from 'vitest';
import { useControlPlane } from '../harness/vitest.ts';
import { eventually } from '../support/eventually.ts';

const kube = useControlPlane();
let child: ChildProcess | undefined;

afterEach(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
});

it('serves /healthz, /readyz and /metrics, and on SIGTERM releases the lease and exits 0', async () => {
  const namespace = kube.namespace;
  child = spawn(
    process.execPath,
    [
      'src/cli/main.ts',
      'controller',
      '--kubeconfig',
      kube.controlPlane.kubeconfigPath,
      '--provider',
      'inmemory',
      '--test-providers',
      '--metrics-bind-address',
      '127.0.0.1:0',
      '--health-probe-bind-address',
      '127.0.0.1:0',
      '--leader-election-namespace',
      namespace,
      '--identity',
      'cli-replica',
      '--log-level',
      'info',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '' } },
  );
  const logs: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not a log line
    }
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += String(chunk);
  });

  const endpoints = await eventually('endpoints logged', async () =>
    logs.find((l) => l['msg'] === 'endpoints listening'),
  );
  const metrics = `http://${endpoints['metrics']}/metrics`;
  const health = `http://${endpoints['health']}`;
  expect((await fetch(`${health}/healthz`)).status).toBe(200);
  await eventually('/readyz 200', async () => (await fetch(`${health}/readyz`)).status === 200);
  const text = await eventually('leader metric', async () => {
    const body = await (await fetch(metrics)).text();
    return body.includes('cloud_egress_leader 1') ? body : undefined;
  });
  expect(text).toContain('# TYPE cloud_egress_failover_duration_seconds histogram');
  expect(text).toContain('# TYPE cloud_egress_cloud_calls_total counter');
  await eventually('"became leader" logged with the identity', async () =>
    logs.some((l) => l['msg'] === 'became leader' && l['identity'] === 'cli-replica'),
  );

  const leases = kube.controlPlane.kubeConfig.makeApiClient(CoordinationV1Api);
  const held = await leases.readNamespacedLease({ name: 'cloud-egress-controller', namespace });
  expect(held.spec?.holderIdentity).toBe('cli-replica');

  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number | null];
  expect(code, stderr).toBe(0);
  const released = await leases.readNamespacedLease({ name: 'cloud-egress-controller', namespace });
  expect(released.spec?.holderIdentity ?? '').toBe('');
});

it('refuses a bad flag with a clear message and exit code 2', async () => {
  child = spawn(process.execPath, ['src/cli/main.ts', 'controller', '--probe-misses', 'many'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += String(chunk);
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  expect(code).toBe(2);
  expect(stderr).toContain('--probe-misses: "many" is not an integer from 1 to 100');
});
