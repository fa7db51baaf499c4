/**
 * @module
 * The user docs against the code they describe, so they cannot drift: every metric the controller and the
 * agent register is in docs/metrics.md and the Grafana dashboard queries only metrics that exist; every
 * condition reason is in docs/troubleshooting.md, with what the Preflight condition reads of the cluster; every flag of
 * the controller's and the doctor's `--help` is in their docs' tables; the EKS quick start's IAM policy grants every EC2 action the
 * AWS provider calls and no other, the GKE custom role every permission of the GCP provider's calls and no
 * other, and the AKS quick start's role every Azure action of the calls the Azure provider makes and no other;
 * every `--set` in the quick starts is a value of the chart; every test the error-behaviour tables of
 * docs/azure.md and docs/gcp.md name exists.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { ACTIONS_BY_CALL, ALL_ACTIONS } from '../../providers/azure/permissions.ts';
import { ALL_PERMISSIONS, CALL_PERMISSIONS } from '../../providers/gcp/permissions.ts';
import { createAgentMetrics } from '../../src/agent/metrics.ts';
import { REASON } from '../../src/api/conditions.ts';
import { CONTROLLER_HELP, DOCTOR_HELP } from '../../src/config.ts';
import { AWS_NODE_PODS } from '../../src/controller/cluster-facts.ts';
import { ControllerMetrics } from '../../src/controller/metrics.ts';
import { PREFLIGHT_MESSAGE_MAX } from '../../src/controller/preflight-gate.ts';
import { DISRUPTION_KEYS } from '../../src/kube/node-disruption.ts';
import { PROVIDERS } from '../../src/provider/registry.ts';
import { CHART_DIR } from './chart.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFile(join(ROOT, path), 'utf8');
const QUICK_STARTS = ['docs/quickstart-eks.md', 'docs/quickstart-gke.md', 'docs/quickstart-aks.md'];

/** Names of the project's own metrics (prom-client's default process metrics left out). */
async function projectMetrics(): Promise<string[]> {
  const controller = await new ControllerMetrics().registry.getMetricsAsJSON();
  const agent = await createAgentMetrics().registry.getMetricsAsJSON();
  return [...controller, ...agent].map((m) => m.name).sort();
}

describe('metrics', () => {
  test('docs/metrics.md lists every metric the controller and the agent register', async () => {
    const doc = await read('docs/metrics.md');
    const names = await projectMetrics();
    expect(names.length).toBeGreaterThan(10);
    for (const name of names) expect(doc, name).toContain(`\`${name}\``);
  });

  test('the Grafana dashboard queries only metrics that exist', async () => {
    const dashboard = JSON.parse(await read('docs/grafana-dashboard.json')) as {
      panels: { targets?: { expr: string }[] }[];
    };
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(15);
    const known = new Set(await projectMetrics());
    const used = new Set(
      exprs
        .flatMap((e) => e.match(/\bcloud_egress_[a-z_]+/g) ?? [])
        .map((n) => n.replace(/_(bucket|sum|count)$/, '')),
    );
    for (const name of used) expect(known.has(name), `${name} is not a metric`).toBe(true);
    for (const name of [
      'cloud_egress_failover_duration_seconds',
      'cloud_egress_cloud_call_duration_seconds',
    ]) {
      expect(used.has(name), `the dashboard shows ${name}`).toBe(true);
    }
  });
});

test("the chart's cloud.provider offers auto and every registered provider that is not test-only", async () => {
  const schema = JSON.parse(await read('charts/cloud-egress/values.schema.json')) as {
    properties: { cloud: { properties: { provider: { enum: string[] } } } };
  };
  const offered = PROVIDERS.filter((p) => !p.testOnly).map((p) => p.name);
  expect(schema.properties.cloud.properties.provider.enum).toEqual(['auto', ...offered]);
});

test('docs/maintenance.md names every taint and annotation that makes a node leave', async () => {
  const doc = await read('docs/maintenance.md');
  expect(DISRUPTION_KEYS.length).toBeGreaterThan(5);
  for (const key of DISRUPTION_KEYS) expect(doc, key).toContain(key);
});

test('docs/troubleshooting.md explains every condition and event reason', async () => {
  const doc = await read('docs/troubleshooting.md');
  for (const reason of Object.values(REASON)) expect(doc, reason).toContain(`\`${reason}\``);
});

/** The flags a help text names (`--name`), `--help` left out. */
const flagsOf = (help: string) =>
  [...new Set([...help.matchAll(/--[a-z][a-z-]+/g)].map((m) => m[0]))].filter((f) => f !== '--help');

test("docs/controller.md's table has every flag of `cloud-egress controller --help`", async () => {
  const doc = await read('docs/controller.md');
  const table = doc.slice(doc.indexOf('## Flags'), doc.indexOf('## Metrics'));
  const flags = flagsOf(CONTROLLER_HELP);
  expect(flags.length).toBeGreaterThan(25);
  for (const flag of flags) expect(table, flag).toMatch(new RegExp(`^\\| \`${flag}[ \`]`, 'm'));
});

test("docs/troubleshooting.md's doctor table has every flag of `cloud-egress doctor --help`", async () => {
  const doc = await read('docs/troubleshooting.md');
  const section = doc.slice(doc.indexOf('## Preflight'), doc.indexOf('## Common problems'));
  const table = section.split('\n').filter((l) => l.startsWith('| `--'));
  const flags = flagsOf(DOCTOR_HELP);
  expect(flags).toContain('--cluster-cidr');
  expect(flags).toContain('--agent-return-path');
  for (const flag of flags) expect(table.join('\n'), flag).toMatch(new RegExp(`\`${flag}[ \`]`));
});

test('docs/troubleshooting.md says what the Preflight condition reads of the cluster and where its message is cut', async () => {
  const doc = await read('docs/troubleshooting.md');
  const section = doc.slice(doc.indexOf('## Preflight'), doc.indexOf('## Common problems'));
  expect(section).toContain(`\`${AWS_NODE_PODS.labelSelector}\` pods of \`${AWS_NODE_PODS.namespace}\``);
  expect(section).toContain(`cut at ${PREFLIGHT_MESSAGE_MAX} characters`);
  // The chart grants those lists (test/chart/render.test.ts checks the rules themselves).
  const rbac = await readFile(join(CHART_DIR, 'templates/controller-rbac.yaml'), 'utf8');
  expect(rbac).toContain(`namespace: ${AWS_NODE_PODS.namespace}`);
  expect(rbac).toContain(AWS_NODE_PODS.labelSelector);
});

test('the EKS quick start grants exactly the EC2 actions the AWS provider calls', async () => {
  const api = await read('providers/aws/ec2-api.ts');
  const called = new Set([...api.matchAll(/new (\w+)Command\(/g)].map((m) => `ec2:${m[1]}`));
  expect(called.size).toBeGreaterThan(5);
  const doc = await read('docs/quickstart-eks.md');
  const policy = doc.slice(
    doc.indexOf('cat > cloud-egress-policy.json'),
    doc.indexOf('aws iam create-policy'),
  );
  const granted = new Set([...policy.matchAll(/"(ec2:\w+)"(?!\s*:)/g)].map((m) => m[1])); // not condition keys
  expect([...granted].sort()).toEqual([...called].sort());
  for (const action of called) expect(doc, `${action} in the permissions table`).toContain(`\`${action}\``);
});

test('the AWS policies let the ownership claims be written where the provider writes them: on subnets', async () => {
  // providers/aws/subnet-claims.ts tags the subnet (`Resources: [subnetId]`), never the ENI.
  const claims = await read('providers/aws/subnet-claims.ts');
  expect(claims).toMatch(/createTags\(\s*\{\s*Resources: \[subnetId\]/);
  for (const file of ['docs/quickstart-eks.md', 'docs/aws.md']) {
    const doc = await read(file);
    const tagging = [
      ...doc.matchAll(/"Action": \["ec2:CreateTags", "ec2:DeleteTags"\],\s*"Resource": "([^"]+)"/g),
    ];
    expect(tagging.length, `a CreateTags/DeleteTags statement in ${file}`).toBeGreaterThan(0);
    for (const [, resource] of tagging) expect(resource, file).toMatch(/:subnet\/\*$/);
  }
});

test('the GKE custom role grants exactly the permissions of the Compute Engine calls the GCP provider makes', async () => {
  // Every SDK call of the narrow seam (`<collection>.<method>(`), each with its permission (permissions.ts).
  const client = await read('providers/gcp/client.ts');
  const calls = new Set(
    [...client.matchAll(/\b(instances|zoneOperations|subnetworks)\.(\w+)\(/g)]
      .map((m) => `${m[1]}.${m[2]}`)
      .filter((call) => !call.endsWith('.close')),
  );
  expect(calls.size).toBeGreaterThan(4);
  for (const call of calls) expect(CALL_PERMISSIONS, `${call} in permissions.ts`).toHaveProperty([call]);
  const needed = [...new Set([...calls].flatMap((call) => CALL_PERMISSIONS[call] ?? []))].sort();
  expect(needed).toEqual(ALL_PERMISSIONS);

  const quickStart = await read('docs/quickstart-gke.md');
  const role = quickStart.slice(
    quickStart.indexOf('cat > cloud-egress-role.yaml'),
    quickStart.indexOf('\nEOF\n'),
  );
  const granted = [...role.matchAll(/^- (compute\.\w+\.\w+)$/gm)].map((m) => m[1]).sort();
  expect(granted).toEqual(needed);
  const gcpDoc = await read('docs/gcp.md');
  const flag = /--permissions=([\w.,]+)/.exec(gcpDoc)?.[1]?.split(',').sort();
  expect(flag).toEqual(needed);
  for (const permission of needed) {
    expect(quickStart, `${permission} in the GKE quick start's table`).toContain(`| \`${permission}\` |`);
    expect(gcpDoc, `${permission} in docs/gcp.md's table`).toContain(`| \`${permission}\` |`);
  }
});

test('the AKS quick start grants exactly the Azure actions of the calls the Azure provider makes', async () => {
  // Every call of the SDK seam (the AzureApi interface) has its actions in permissions.ts, and no other call does.
  const api = await read('providers/azure/api.ts');
  const seam = api.slice(
    api.indexOf('export interface AzureApi {'),
    api.indexOf('\n}\n', api.indexOf('export interface AzureApi {')),
  );
  const calls = [...seam.matchAll(/^ {2}(\w+)\(/gm)].map((m) => m[1]!).sort();
  expect(calls.length).toBeGreaterThan(8);
  expect(Object.keys(ACTIONS_BY_CALL).sort()).toEqual(calls);
  const doc = await read('docs/quickstart-aks.md');
  const role = doc.slice(doc.indexOf('cat > cloud-egress-role.json <<EOF') + 35, doc.indexOf('\nEOF\n'));
  const granted = (JSON.parse(role.replace(/\$\{SUB\}/, 'x')) as { Actions: string[] }).Actions;
  expect([...granted].sort()).toEqual([...ALL_ACTIONS]);
  for (const action of ALL_ACTIONS)
    expect(doc, `${action} in the permissions table`).toContain(`\`${action}\``);
});

test('every --set in the quick starts is a value of the chart', async () => {
  const values = parse(await readFile(join(CHART_DIR, 'values.yaml'), 'utf8')) as Record<string, unknown>;
  const has = (path: string) =>
    path.split('.').reduce<unknown>((node, key) => {
      if (node === undefined || node === null || typeof node !== 'object') return undefined;
      return (node as Record<string, unknown>)[key];
    }, values) !== undefined;
  let count = 0;
  for (const file of QUICK_STARTS) {
    for (const match of (await read(file)).matchAll(/--set "?([A-Za-z][\w.]*)=/g)) {
      count++;
      expect(has(match[1]!), `${file}: --set ${match[1]}`).toBe(true);
    }
  }
  expect(count).toBeGreaterThan(10);
});

test('the error-behaviour tables of docs/azure.md and docs/gcp.md name tests that exist', async () => {
  for (const doc of ['docs/azure.md', 'docs/gcp.md']) {
    const rows = (await read(doc))
      .split('\n')
      .filter((l) => /^\| .+ \| `test\/[\w/.-]+\.test\.ts` › /.test(l));
    expect(rows.length, `${doc}: rows naming a test`).toBeGreaterThanOrEqual(4);
    for (const row of rows) {
      const cell = row.split(' | ')[2]!;
      const file = /`(test\/[\w/.-]+\.test\.ts)`/.exec(cell)![1]!;
      const source = await read(file);
      const names = [...cell.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
      expect(names.length, `${doc}: a test name in ${cell}`).toBeGreaterThan(0);
      for (const name of names) expect(source, `${doc}: "${name}" in ${file}`).toContain(name);
    }
  }
});
