/**
 * @module
 * The generated CRDs (crds/*.yaml) against a real kube-apiserver: accepted as structural schemas, the CEL
 * rules refuse invalid objects with the API server's own messages, valid objects are stored, the status
 * subresource separates spec from status, and `kubectl get` prints the printer columns.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiextensionsV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { CLUSTER_EGRESS_POLICY, EGRESS_GATEWAY, EGRESS_POLICY, GROUP, VERSION } from '../../src/api/index.ts';
import { expectApiError } from '../harness/api-status.ts';
import { CRD_DIR, readCrds } from '../harness/crds.ts';
import { useControlPlane } from '../harness/vitest.ts';
import { createCustomObject } from '../support/custom-objects.ts';
import { egressGateway } from '../support/egress-gateways.ts';
import { clusterEgressPolicy, egressPolicy } from '../support/egress-policies.ts';

const kube = useControlPlane();

let objects = 0;
const uniqueName = (prefix: string) => `${prefix}-${++objects}-${Date.now().toString(36)}`;

const api = () => kube.controlPlane.kubeConfig.makeApiClient(CustomObjectsApi);

/** Creates a gateway with exactly `spec` (valid or not). */
function createGateway(spec: Record<string, unknown>, name = uniqueName('gw')) {
  return createCustomObject(api(), { ...egressGateway({ name }), spec });
}

/** Creates a policy with exactly `spec` (valid or not). */
function createPolicy(spec: Record<string, unknown>, name = uniqueName('policy')) {
  return createCustomObject(api(), { ...egressPolicy({ name, namespace: kube.namespace }), spec });
}

/** Rows of kubectl's table output, keyed by column header (cells cut at the headers' positions). */
function parseTable(output: string): Record<string, string>[] {
  const [header = '', ...rows] = output.trimEnd().split('\n');
  const columns = [...header.matchAll(/\S+/g)].map((m) => ({ name: m[0], start: m.index }));
  return rows.map((row) =>
    Object.fromEntries(
      columns.map((column, i) => [column.name, row.slice(column.start, columns[i + 1]?.start).trim()]),
    ),
  );
}

const policy = (extra: Record<string, unknown> = {}) => ({ gatewayName: 'prod', podSelector: {}, ...extra });
const gateway = (extra: Record<string, unknown> = {}) => ({ nodeSelector: {}, ...extra });

describe('CRDs', () => {
  test('every CRD in crds/ is installed, structural and Established', async () => {
    const files = await readCrds();
    expect(files.map((c) => c.spec.names.kind).sort()).toEqual(
      [CLUSTER_EGRESS_POLICY.kind, EGRESS_GATEWAY.kind, EGRESS_POLICY.kind].sort(),
    );
    expect([...kube.controlPlane.crds].sort()).toEqual(files.map((c) => c.metadata!.name!).sort());
    const extensions = kube.controlPlane.kubeConfig.makeApiClient(ApiextensionsV1Api);
    for (const name of kube.controlPlane.crds) {
      const conditions = (await extensions.readCustomResourceDefinition({ name })).status?.conditions ?? [];
      const status = Object.fromEntries(conditions.map((c) => [c.type, c.status]));
      expect(status, name).toMatchObject({ Established: 'True', NamesAccepted: 'True' });
      expect(status['NonStructuralSchema'], name).toBeUndefined();
    }
  });

  test('the API server stores each schema exactly as generated, CEL rules and defaults included', async () => {
    for (const file of await readdir(CRD_DIR)) {
      const generated = parse(await readFile(join(CRD_DIR, file), 'utf8'));
      const { stdout } = await kube.controlPlane.kubectl([
        'get',
        'crd',
        generated.metadata.name,
        '-o',
        'json',
      ]);
      expect(JSON.parse(stdout).spec.versions, file).toEqual(generated.spec.versions);
    }
  });
});

describe('CEL validation refuses invalid objects with the API server message', () => {
  test('a bad CIDR in destinationCIDRs', async () => {
    const status = await expectApiError(() =>
      createPolicy(policy({ destinationCIDRs: ['10.0.0.0/8', '10.0.0.0/33'] })),
    );
    expect(status.code).toBe(422);
    expect(status.message).toContain('spec.destinationCIDRs[1]');
    expect(status.message).toContain('"10.0.0.0/33" is not a CIDR (e.g. 203.0.113.0/24)');
  });

  test('a bad IP in egressIPs', async () => {
    const status = await expectApiError(() => createPolicy(policy({ egressIPs: ['10.0.1.300'] })));
    expect(status.code).toBe(422);
    expect(status.message).toContain('spec.egressIPs[0]');
    expect(status.message).toContain('"10.0.1.300" is not an IP address (e.g. 10.0.1.10)');
  });

  test('both egressIPs and count on a policy', async () => {
    const status = await expectApiError(() => createPolicy(policy({ egressIPs: ['10.0.1.10'], count: 2 })));
    expect(status.code).toBe(422);
    expect(status.message).toContain(
      'set either spec.egressIPs (explicit IPs) or spec.count (IPs picked from the gateway), not both',
    );
  });

  test('ipFamilies on a policy: with egressIPs, or of an unknown family', async () => {
    const both = await expectApiError(() =>
      createPolicy(policy({ egressIPs: ['10.0.1.10'], ipFamilies: ['IPv4'] })),
    );
    expect(both.code).toBe(422);
    expect(both.message).toContain('spec.ipFamilies goes with spec.count');
    const unknown = await expectApiError(() => createPolicy(policy({ count: 1, ipFamilies: ['IPv5'] })));
    expect(unknown.code).toBe(422);
    expect(unknown.message).toContain('spec.ipFamilies[0]');
  });

  test('an IPv4 range whose start is after its end in a gateway', async () => {
    const status = await expectApiError(() => createGateway(gateway({ ips: ['10.0.1.29-10.0.1.20'] })));
    expect(status.code).toBe(422);
    expect(status.message).toContain('spec.ips[0]');
    expect(status.message).toContain('"10.0.1.29-10.0.1.20" is not an IP, a CIDR (10.0.1.16/28) or a range');
  });

  test('one Elastic IP paired with two egress IPs, and an IP paired twice, in a gateway', async () => {
    const pair = (ip: string, address: string) => ({ ip, address });
    const twice = await expectApiError(() =>
      createGateway(
        gateway({
          ips: ['10.0.1.16/28'],
          publicAddresses: [pair('10.0.1.17', 'eipalloc-1'), pair('10.0.1.18', 'eipalloc-1')],
        }),
      ),
    );
    expect(twice.code).toBe(422);
    expect(twice.message).toContain('each public address may be paired with one egress IP only');
    const sameIp = await expectApiError(() =>
      createGateway(
        gateway({
          ips: ['10.0.1.16/28'],
          publicAddresses: [pair('10.0.1.17', 'eipalloc-1'), pair('10.0.1.17', 'eipalloc-2')],
        }),
      ),
    );
    expect(sameIp.message).toContain('spec.publicAddresses[1]: Duplicate value');
    const notAnIp = await expectApiError(() =>
      createGateway(gateway({ ips: ['10.0.1.16/28'], publicAddresses: [pair('10.0.1', 'eipalloc-1')] })),
    );
    expect(notAnIp.message).toContain('"10.0.1" is not an IP address');
  });

  test('a range mixing address families in a gateway', async () => {
    const status = await expectApiError(() => createGateway(gateway({ ips: ['10.0.1.1-2001:db8::1'] })));
    expect(status.message).toContain('"10.0.1.1-2001:db8::1" is not an IP, a CIDR');
  });

  test('a pool entry with more addresses than status can count (an IPv6 /64, ::/0, a range past a /96)', async () => {
    for (const entry of ['2001:db8:1::/64', '::/0', '2001:db8::1-2001:db8::1:0:0']) {
      const status = await expectApiError(() => createGateway(gateway({ ips: ['10.0.1.10', entry] })));
      expect(status.code, entry).toBe(422);
      expect(status.message).toContain('spec.ips[1]');
      expect(status.message).toContain(
        `"${entry}" has more than 2^32 addresses, more than a gateway counts in one entry: use an IPv6 CIDR of /96 or longer`,
      );
    }
  });

  test('a gateway with neither ips nor cloudAllocated', async () => {
    for (const spec of [gateway(), gateway({ ips: [] }), gateway({ cloudAllocated: 0 })]) {
      const status = await expectApiError(() => createGateway(spec));
      expect(status.code).toBe(422);
      expect(status.message).toContain(
        'set spec.ips (IPs, CIDRs or ranges) or spec.cloudAllocated (a number of cloud-picked IPs), or both',
      );
    }
  });

  test('a ClusterEgressPolicy with both egressIPs and count', async () => {
    const status = await expectApiError(() =>
      createCustomObject(api(), {
        ...clusterEgressPolicy({ name: uniqueName('cluster-policy') }),
        spec: { ...policy({ egressIPs: ['10.0.1.10'], count: 1 }), namespaceSelector: {} },
      }),
    );
    expect(status.message).toContain('set either spec.egressIPs (explicit IPs) or spec.count');
  });
});

describe('label selectors are refused where Kubernetes would refuse them, naming the bad part', () => {
  const expr = (operator: string, values?: string[], key = 'team') => ({
    matchExpressions: [{ key, operator, ...(values ? { values } : {}) }],
  });

  test('In and NotIn without values (NotIn would select everything, In nothing)', async () => {
    for (const [operator, values] of [
      ['NotIn', undefined],
      ['NotIn', []],
      ['In', []],
    ] as const) {
      const status = await expectApiError(() =>
        createPolicy(policy({ podSelector: expr(operator, values as string[] | undefined) })),
      );
      expect(status.code).toBe(422);
      expect(status.message).toContain('spec.podSelector.matchExpressions[0]');
      expect(status.message).toContain(`operator ${operator} needs at least one value (key "team")`);
    }
  });

  test('Exists and DoesNotExist with values', async () => {
    for (const operator of ['Exists', 'DoesNotExist']) {
      const status = await expectApiError(() => createPolicy(policy({ podSelector: expr(operator, ['a']) })));
      expect(status.message).toContain(`operator ${operator} takes no values (key "team")`);
    }
  });

  test('keys and values that are not label syntax', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [expr('Exists', undefined, 'team name'), 'key "team name" is not a label key'],
      [expr('In', ['a b']), '"a b" is not a label value'],
      [{ matchLabels: { '-team': 'a' } }, 'key "-team" is not a label key'],
      [{ matchLabels: { team: 'a/b' } }, '"a/b" is not a label value'],
    ];
    for (const [podSelector, words] of cases) {
      const status = await expectApiError(() => createPolicy(policy({ podSelector })));
      expect(status.code).toBe(422);
      expect(status.message, JSON.stringify(podSelector)).toContain(words);
    }
  });

  test("a gateway's namespaceSelector and a ClusterEgressPolicy's too (a tenant's admission)", async () => {
    const gw = await expectApiError(() =>
      createGateway(gateway({ ips: ['10.0.1.10'], namespaceSelector: expr('NotIn') })),
    );
    expect(gw.message).toContain('spec.namespaceSelector.matchExpressions[0]');
    expect(gw.message).toContain('operator NotIn needs at least one value');
    const cluster = await expectApiError(() =>
      createCustomObject(api(), {
        ...clusterEgressPolicy({ name: uniqueName('cluster-policy') }),
        spec: { ...policy(), namespaceSelector: expr('Exists', ['x']) },
      }),
    );
    expect(cluster.message).toContain('operator Exists takes no values');
  });
});

describe('valid objects are accepted', () => {
  test('gateways with IPs, CIDRs, IPv4 and IPv6 ranges, or cloud-allocated IPs', async () => {
    const specs = [
      gateway({ ips: ['10.0.1.10', '10.0.1.16/28', '10.0.1.20-10.0.1.29', '2001:db8::10-2001:db8::1f'] }),
      gateway({ ips: ['0.0.0.0/0', '2001:db8::/96', '2001:db8::5-2001:db8::ffff:ffff'] }),
      gateway({ ips: ['10.0.2.5-10.0.2.5'], maxIPsPerNode: 4, failback: true }),
      gateway({ cloudAllocated: 3, namespaceSelector: { matchLabels: { team: 'payments' } } }),
    ];
    for (const spec of specs) {
      const created = (await createGateway(spec)) as { spec: Record<string, unknown> };
      expect(created.spec).toMatchObject(spec);
    }
  });

  test('policies with a count, explicit IPs, destinations and exclusions', async () => {
    const specs = [
      policy({
        count: 2,
        destinationCIDRs: ['203.0.113.0/24', '2001:db8::/32'],
        excludedCIDRs: ['203.0.113.8/29'],
      }),
      policy({ egressIPs: ['10.0.1.10', '2001:db8::10'], podSelector: { matchLabels: { app: 'api' } } }),
      policy(),
      policy({
        podSelector: {
          matchLabels: { 'app.kubernetes.io/name': 'api', tier: '' },
          matchExpressions: [
            { key: 'example.com/team', operator: 'In', values: ['a', 'b-2'] },
            { key: 'canary', operator: 'DoesNotExist' },
            { key: 'zone', operator: 'Exists', values: [] },
          ],
        },
      }),
    ];
    for (const spec of specs) {
      const created = (await createPolicy(spec)) as { spec: Record<string, unknown> };
      expect(created.spec).toMatchObject(spec);
    }
  });
});

describe('status subresource', () => {
  const assignments = [
    { ip: '10.0.1.10', node: 'node-a', state: 'Ready', since: '2026-01-01T00:00:00Z' },
    { ip: '10.0.1.11', node: 'node-b', state: 'Assigned', since: '2026-01-01T00:00:00Z' },
    { ip: '2001:db8::10', node: 'node-a', state: 'Ready', since: '2026-01-01T00:00:00Z' },
  ];
  const status = {
    observedGeneration: 1,
    assignments,
    ips: '10.0.1.10,10.0.1.11,2001:db8::10',
    ipv4: '10.0.1.10,10.0.1.11',
    ipv6: '2001:db8::10',
    nodes: 'node-a,node-b',
  };

  async function readPolicy(name: string) {
    return (await api().getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: kube.namespace,
      plural: EGRESS_POLICY.plural,
      name,
    })) as {
      metadata: { generation: number; resourceVersion: string };
      spec: Record<string, unknown>;
      status?: unknown;
    };
  }

  async function replaceStatus(name: string, body: object) {
    return api().replaceNamespacedCustomObjectStatus({
      group: GROUP,
      version: VERSION,
      namespace: kube.namespace,
      plural: EGRESS_POLICY.plural,
      name,
      body,
    });
  }

  test('status given on create or on a spec update is ignored; /status sets only status', async () => {
    const name = uniqueName('status');
    const created = (await api().createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: kube.namespace,
      plural: EGRESS_POLICY.plural,
      body: { ...egressPolicy({ name, namespace: kube.namespace }), spec: policy({ count: 1 }), status },
    })) as { status?: unknown };
    expect(created.status).toBeUndefined();

    const afterStatus = (await replaceStatus(name, {
      ...(await readPolicy(name)),
      status,
      spec: policy({ count: 5 }),
    })) as {
      status: unknown;
      spec: unknown;
    };
    expect(afterStatus.status).toEqual(status);
    expect(afterStatus.spec).toEqual({ ...policy({ count: 1 }), zoneAffinity: 'None' });
    expect((await readPolicy(name)).metadata.generation).toBe(1);

    const current = await readPolicy(name);
    await api().replaceNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: kube.namespace,
      plural: EGRESS_POLICY.plural,
      name,
      body: { ...current, spec: policy({ count: 3 }), status: { observedGeneration: 99 } },
    });
    const updated = await readPolicy(name);
    expect(updated.spec).toEqual({ ...policy({ count: 3 }), zoneAffinity: 'None' });
    expect(updated.status).toEqual(status);
    expect(updated.metadata.generation).toBe(2);
  });

  test('a status that breaks the schema is refused on /status', async () => {
    const name = uniqueName('bad-status');
    await createPolicy(policy({ count: 1 }), name);
    const bad = { assignments: [{ ip: 'not-an-ip', node: 'node-a', state: 'Ready' }] };
    const refused = await expectApiError(async () =>
      replaceStatus(name, { ...(await readPolicy(name)), status: bad }),
    );
    expect(refused.code).toBe(422);
    expect(refused.message).toContain('"not-an-ip" is not an IP address');
  });

  test("kubectl get egresspolicies shows the policy's IPs of each family and its nodes", async () => {
    const name = uniqueName('printed');
    await createPolicy(policy({ count: 2 }), name);
    await replaceStatus(name, { ...(await readPolicy(name)), status });

    const { stdout } = await kube.controlPlane.kubectl(['get', EGRESS_POLICY.plural, '-n', kube.namespace]);
    expect(parseTable(stdout)).toEqual([
      {
        NAME: name,
        GATEWAY: 'prod',
        IPV4: '10.0.1.10,10.0.1.11',
        IPV6: '2001:db8::10',
        NODES: 'node-a,node-b',
        READY: '',
        AGE: expect.any(String),
      },
    ]);
  });
});
