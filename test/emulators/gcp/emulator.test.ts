/**
 * @module
 * The Compute Engine emulator's own REST semantics, checked over plain HTTP in the shapes the REST reference
 * documents (https://cloud.google.com/compute/docs/reference/rest/v1), so the provider's tests stand on an
 * emulator that behaves as GCP does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../support/eventually.ts';
import { type GcpEmulator, startGcpEmulator } from './index.ts';

let emulator: GcpEmulator;
const P = 'proj';
const Z = 'us-central1-a';
const instancePath = (name: string) => `/compute/v1/projects/${P}/zones/${Z}/instances/${name}`;

/** The fields of REST answers these tests read (instance, operation, subnetwork or error). */
interface RestBody {
  name: string;
  status: string;
  networkInterfaces: {
    fingerprint: string;
    aliasIpRanges?: { ipCidrRange: string; subnetworkRangeName?: string }[];
  }[];
  error: { code: number; message: string; errors: { reason: string; code: string; message: string }[] };
}

async function rest(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: RestBody }> {
  const response = await fetch(`${emulator.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', 'x-goog-api-client': 'test' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as RestBody };
}

const patch = (name: string, body: unknown, query = '') =>
  rest(
    'PATCH',
    `${instancePath(name)}/updateNetworkInterface?networkInterface=nic0&$alt=json%3Benum-encoding=int${query}`,
    body,
  );

async function untilDone(op: { name: string }): Promise<RestBody> {
  for (;;) {
    const { json } = await rest('POST', `/compute/v1/projects/${P}/zones/${Z}/operations/${op.name}/wait`);
    if (json.status === 'DONE') return json;
  }
}

beforeAll(async () => {
  emulator = await startGcpEmulator({ operationPolls: 2 });
  emulator.state.addSubnetwork({
    project: P,
    region: 'us-central1',
    name: 'sub',
    ipCidrRange: '10.0.0.0/24',
    secondaryIpRanges: [{ rangeName: 'egress', ipCidrRange: '10.9.0.0/28' }],
  });
  emulator.state.addInstance({ project: P, zone: Z, name: 'vm-1', subnetwork: 'sub', networkIP: '10.0.0.2' });
  emulator.state.addInstance({ project: P, zone: Z, name: 'vm-2', subnetwork: 'sub', networkIP: '10.0.0.3' });
});
afterAll(async () => {
  await emulator?.close();
});

describe('Compute Engine emulator', () => {
  it('answers errors in the Compute JSON error format', async () => {
    const { status, json } = await rest('GET', instancePath('nope'));
    expect(status).toBe(404);
    expect(json).toEqual({
      error: {
        code: 404,
        message: `The resource 'projects/${P}/zones/${Z}/instances/nope' was not found`,
        errors: [
          {
            message: `The resource 'projects/${P}/zones/${Z}/instances/nope' was not found`,
            domain: 'global',
            reason: 'notFound',
          },
        ],
      },
    });
  });

  it('updates with the current fingerprint, applies at DONE, and 412s a stale fingerprint', async () => {
    const before = (await rest('GET', instancePath('vm-1'))).json.networkInterfaces[0]!;
    const op = await patch('vm-1', {
      fingerprint: before.fingerprint,
      aliasIpRanges: [{ ipCidrRange: '10.9.0.4/32', subnetworkRangeName: 'egress' }],
    });
    expect(op.status).toBe(200);
    expect(op.json).toMatchObject({
      kind: 'compute#operation',
      status: 'RUNNING',
      operationType: 'updateNetworkInterface',
    });
    // Until DONE the NIC reads as before, fingerprint included (the write consumes it when it applies).
    const during = (await rest('GET', instancePath('vm-1'))).json.networkInterfaces[0]!;
    expect(during.aliasIpRanges).toBeUndefined();
    expect(during.fingerprint).toBe(before.fingerprint);
    const done = await untilDone(op.json);
    expect(done.status).toBe('DONE');
    const after = (await rest('GET', instancePath('vm-1'))).json.networkInterfaces[0]!;
    expect(after.aliasIpRanges).toEqual([{ ipCidrRange: '10.9.0.4/32', subnetworkRangeName: 'egress' }]);

    const stale = await patch('vm-1', { fingerprint: before.fingerprint, aliasIpRanges: [] });
    expect(stale.status).toBe(412);
    expect(stale.json.error.errors[0]?.reason).toBe('conditionNotMet');
  });

  it('follows PATCH semantics: an absent aliasIpRanges leaves the ranges as they are', async () => {
    const nic = (await rest('GET', instancePath('vm-1'))).json.networkInterfaces[0]!;
    await untilDone((await patch('vm-1', { fingerprint: nic.fingerprint })).json);
    const after = (await rest('GET', instancePath('vm-1'))).json.networkInterfaces[0]!;
    expect(after.aliasIpRanges).toEqual(nic.aliasIpRanges);
  });

  it('fails the operation with IP_IN_USE_BY_ANOTHER_RESOURCE for an IP another NIC holds, also while that NIC’s update is RUNNING', async () => {
    // GCP accepts the request and reports the clash in the operation: `Code: IP_IN_USE_BY_ANOTHER_RESOURCE,
    // Message: IP '10.128.3.140/31' is already being used by another resource.`
    // (GoogleCloudPlatform/compute-image-tools#659), and for a single address `IP '10.0.0.2' is …`
    // (hashicorp/terraform#18998).
    const take = (fingerprint: string) =>
      patch('vm-2', {
        fingerprint,
        aliasIpRanges: [{ ipCidrRange: '10.9.0.4/32', subnetworkRangeName: 'egress' }],
      });
    const vm2 = () => rest('GET', instancePath('vm-2')).then((r) => r.json.networkInterfaces[0]!);
    const held = await take((await vm2()).fingerprint);
    expect(held.status).toBe(200);
    expect(await untilDone(held.json)).toMatchObject({
      status: 'DONE',
      error: {
        errors: [
          {
            code: 'IP_IN_USE_BY_ANOTHER_RESOURCE',
            message: "IP '10.9.0.4/32' is already being used by another resource.",
          },
        ],
      },
    });
    expect((await vm2()).aliasIpRanges).toBeUndefined();

    emulator.inUseQuote = 'address';
    const bare = await take((await vm2()).fingerprint);
    expect((await untilDone(bare.json)).error.errors[0]).toMatchObject({
      message: "IP '10.9.0.4' is already being used by another resource.",
    });
    emulator.inUseQuote = 'cidr';

    const vm1 = (await rest('GET', instancePath('vm-1'))).json.networkInterfaces[0]!;
    const removal = await patch('vm-1', { fingerprint: vm1.fingerprint, aliasIpRanges: [] });
    const early = await take((await vm2()).fingerprint);
    expect((await untilDone(early.json)).error.errors[0]?.code).toBe('IP_IN_USE_BY_ANOTHER_RESOURCE');
    await untilDone(removal.json);
    const now = await take((await vm2()).fingerprint);
    expect((await untilDone(now.json)).error).toBeUndefined();
    expect((await vm2()).aliasIpRanges).toEqual([
      { ipCidrRange: '10.9.0.4/32', subnetworkRangeName: 'egress' },
    ]);
  });

  it('checks ranges against the primary or the named secondary range, and allocates netmask-only entries', async () => {
    const vm1 = (await rest('GET', instancePath('vm-1'))).json.networkInterfaces[0]!;
    const outside = await patch('vm-1', {
      fingerprint: vm1.fingerprint,
      aliasIpRanges: [{ ipCidrRange: '10.0.0.9/32', subnetworkRangeName: 'egress' }],
    });
    expect(outside.status).toBe(400);
    expect(outside.json.error.errors[0]?.reason).toBe('invalid');
    expect(outside.json.error.message).toContain("'10.0.0.9/32'");
    const unknown = await patch('vm-1', {
      fingerprint: vm1.fingerprint,
      aliasIpRanges: [{ ipCidrRange: '10.9.0.9/32', subnetworkRangeName: 'nope' }],
    });
    expect(unknown.status).toBe(400);

    const alloc = await patch('vm-1', {
      fingerprint: vm1.fingerprint,
      aliasIpRanges: [{ ipCidrRange: '/32', subnetworkRangeName: 'egress' }, { ipCidrRange: '10.0.0.9' }],
    });
    expect(alloc.status).toBe(200);
    await untilDone(alloc.json);
    const after = (await rest('GET', instancePath('vm-1'))).json.networkInterfaces[0]!;
    expect(after.aliasIpRanges).toEqual([
      { ipCidrRange: '10.9.0.1/32', subnetworkRangeName: 'egress' },
      { ipCidrRange: '10.0.0.9/32' },
    ]);
  });

  it('returns the first operation again for a repeated requestId, and refuses one that is not a UUID', async () => {
    // REST reference, requestId: a repeat "with the same request ID" is ignored; it "must be a valid UUID with
    // the exception that zero UUID is not supported"; the operation's clientOperationId is "the value of
    // requestId if you provided it".
    const vm1 = (await rest('GET', instancePath('vm-1'))).json.networkInterfaces[0]!;
    const id = '5f2c1b8e-1111-4c3a-9a51-0b7e5a3d2f10';
    const first = await patch(
      'vm-1',
      { fingerprint: vm1.fingerprint, aliasIpRanges: [] },
      `&requestId=${id}`,
    );
    const again = await patch(
      'vm-1',
      { fingerprint: vm1.fingerprint, aliasIpRanges: [] },
      `&requestId=${id}`,
    );
    expect(again.status).toBe(200);
    expect(again.json.name).toBe(first.json.name);
    expect(again.json).toMatchObject({ clientOperationId: id });
    await untilDone(first.json);
    // Ignored also after the first is DONE, and although the fingerprint it carries is no longer the NIC's.
    const late = await patch('vm-1', { fingerprint: vm1.fingerprint, aliasIpRanges: [] }, `&requestId=${id}`);
    expect([late.status, late.json.name]).toEqual([200, first.json.name]);
    for (const bad of ['not-a-uuid', '00000000-0000-0000-0000-000000000000']) {
      const refused = await patch('vm-1', { fingerprint: vm1.fingerprint }, `&requestId=${bad}`);
      expect(refused.status).toBe(400);
      expect(refused.json.error.errors[0]?.reason).toBe('invalid');
    }
  });

  it('carries out a write whose answer it then drops (dropResponse)', async () => {
    const vm1 = (await rest('GET', instancePath('vm-1'))).json.networkInterfaces[0]!;
    emulator.inject({ kind: 'dropResponse' });
    const lost = await fetch(
      `${emulator.url}${instancePath('vm-1')}/updateNetworkInterface?networkInterface=nic0`,
      {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          fingerprint: vm1.fingerprint,
          aliasIpRanges: [{ ipCidrRange: '10.9.0.11/32', subnetworkRangeName: 'egress' }],
        }),
      },
    ).catch((err: unknown) => err);
    expect(lost).toBeInstanceOf(Error);
    expect(emulator.calls.at(-1)).toMatchObject({ method: 'PATCH', status: 0 });
    emulator.state.finishAll();
    const after = (await rest('GET', instancePath('vm-1'))).json.networkInterfaces[0]!;
    expect(after.aliasIpRanges).toEqual([{ ipCidrRange: '10.9.0.11/32', subnetworkRangeName: 'egress' }]);
    await untilDone((await patch('vm-1', { fingerprint: after.fingerprint, aliasIpRanges: [] })).json);
  });

  it('answers in time with a latency model: round trips, operations DONE by the clock, waits that block', async () => {
    emulator.latency = { requestMs: 20, operationMs: 1_000, waitMs: 50 };
    try {
      const started = performance.now();
      const vm1 = (await rest('GET', instancePath('vm-1'))).json.networkInterfaces[0]!;
      expect(performance.now() - started).toBeGreaterThanOrEqual(19);
      const op = await patch('vm-1', {
        fingerprint: vm1.fingerprint,
        aliasIpRanges: [{ ipCidrRange: '10.9.0.12/32', subnetworkRangeName: 'egress' }],
      });
      const sent = performance.now();
      // A wait blocks for at most waitMs and may answer RUNNING (as GCP's wait may); nothing counts polls.
      const opPath = `/compute/v1/projects/${P}/zones/${Z}/operations/${op.json.name}`;
      const early = await rest('POST', `${opPath}/wait`);
      expect(early.json.status).toBe('RUNNING');
      expect(performance.now() - sent).toBeGreaterThanOrEqual(50);
      expect((await rest('GET', opPath)).json.status).toBe('RUNNING');
      // DONE by the clock, operationMs after it began, although nobody waited on it.
      const status = async () => (await rest('GET', opPath)).json.status;
      await eventually('the operation DONE by the clock', status, {
        until: (s) => s === 'DONE',
        intervalMs: 20,
        timeoutMs: 10_000,
      });
      expect(performance.now() - sent).toBeGreaterThanOrEqual(950);
      const after = (await rest('GET', instancePath('vm-1'))).json.networkInterfaces[0]!;
      expect(after.aliasIpRanges).toEqual([{ ipCidrRange: '10.9.0.12/32', subnetworkRangeName: 'egress' }]);
      const removal = await patch('vm-1', { fingerprint: after.fingerprint, aliasIpRanges: [] });
      expect((await untilDone(removal.json)).status).toBe('DONE');
    } finally {
      emulator.latency = undefined;
    }
  });

  it('logs each accepted updateNetworkInterface with its NIC, arrival and DONE time, and no refused one', async () => {
    emulator.clearFaults();
    const vm2 = (await rest('GET', instancePath('vm-2'))).json.networkInterfaces[0]!;
    const sent = performance.now();
    const accepted = await patch('vm-2', { fingerprint: vm2.fingerprint, aliasIpRanges: [] });
    expect(accepted.status).toBe(200);
    const stale = await patch('vm-2', { fingerprint: 'b3V0ZGF0ZWQ=', aliasIpRanges: [] });
    expect(stale.status).toBe(412);
    const invalid = await patch('vm-1', {
      fingerprint: (await rest('GET', instancePath('vm-1'))).json.networkInterfaces[0]!.fingerprint,
      aliasIpRanges: [{ ipCidrRange: '10.0.0.9/32', subnetworkRangeName: 'egress' }],
    });
    expect(invalid.status).toBe(400);
    // The stale write is logged (refused for concurrency, it ends with its answer); the invalid one is not.
    expect(emulator.writes).toEqual([
      {
        interfaceId: `projects/${P}/zones/${Z}/instances/vm-2#nic0`,
        startedAt: expect.any(Number),
        endedAt: Infinity,
      },
      {
        interfaceId: `projects/${P}/zones/${Z}/instances/vm-2#nic0`,
        startedAt: expect.any(Number),
        endedAt: expect.any(Number),
      },
    ]);
    expect(emulator.writes[1]!.endedAt).toBeLessThan(Infinity);
    const received = emulator.writes[0]!.startedAt;
    expect(received).toBeGreaterThanOrEqual(sent);
    await untilDone(accepted.json);
    const done = performance.now();
    const [write] = emulator.writes;
    expect(write!.endedAt).toBeGreaterThan(received);
    expect(write!.endedAt).toBeLessThanOrEqual(done);
    emulator.clearFaults();
    expect(emulator.writes).toEqual([]);
  });

  it.each(['first', 'second'] as const)(
    'a write accepted while another on the NIC is RUNNING loses nothing when the %s is DONE first',
    async (doneFirst) => {
      // Both carry the fingerprint the NIC had; the one DONE second finds it consumed and fails CONDITION_NOT_MET
      // (CloudVE/cloudbridge#349: GCP answers 200 and fails the operation), instead of overwriting the other.
      const nic = (await rest('GET', instancePath('vm-2'))).json.networkInterfaces[0]!;
      const first = await patch('vm-2', {
        fingerprint: nic.fingerprint,
        aliasIpRanges: [{ ipCidrRange: '10.9.0.7/32', subnetworkRangeName: 'egress' }],
      });
      const second = await patch('vm-2', {
        fingerprint: nic.fingerprint,
        aliasIpRanges: [{ ipCidrRange: '10.9.0.8/32', subnetworkRangeName: 'egress' }],
      });
      expect([first.status, second.status]).toEqual([200, 200]);
      const [winner, loser] = doneFirst === 'first' ? [first, second] : [second, first];
      expect((await untilDone(winner.json)).error).toBeUndefined();
      expect((await untilDone(loser.json)).error).toEqual({
        errors: [{ code: 'CONDITION_NOT_MET', message: 'Invalid fingerprint.' }],
      });
      const after = (await rest('GET', instancePath('vm-2'))).json.networkInterfaces[0]!;
      const won = doneFirst === 'first' ? '10.9.0.7/32' : '10.9.0.8/32';
      expect(after.aliasIpRanges).toEqual([{ ipCidrRange: won, subnetworkRangeName: 'egress' }]);
      expect(after.fingerprint).not.toBe(nic.fingerprint);
      await untilDone((await patch('vm-2', { fingerprint: after.fingerprint, aliasIpRanges: [] })).json);
    },
  );

  it('answers 400 resourceNotReady for an instance or subnetwork busy with another operation, as GCP does', async () => {
    // Shape and text captured from GCP: GoogleCloudPlatform/gke-migration-to-containers#63 (subnetwork),
    // opstrace/opstrace#1218 (the JSON body: 400, reason resourceNotReady).
    const nic = (await rest('GET', instancePath('vm-1'))).json.networkInterfaces[0]!;
    emulator.inject({ kind: 'resourceNotReady', resource: 'subnetwork' });
    emulator.inject({ kind: 'resourceNotReady', resource: 'instance' });
    const bySubnet = await patch('vm-1', { fingerprint: nic.fingerprint, aliasIpRanges: [] });
    const byInstance = await patch('vm-1', { fingerprint: nic.fingerprint, aliasIpRanges: [] });
    expect([bySubnet.status, byInstance.status]).toEqual([400, 400]);
    expect(bySubnet.json.error).toMatchObject({
      code: 400,
      message: `The resource 'projects/${P}/regions/us-central1/subnetworks/sub' is not ready`,
      errors: [{ reason: 'resourceNotReady', domain: 'global' }],
    });
    expect(byInstance.json.error.message).toBe(
      `The resource 'projects/${P}/zones/${Z}/instances/vm-1' is not ready`,
    );
    const after = (await rest('GET', instancePath('vm-1'))).json.networkInterfaces[0]!;
    expect(after.fingerprint).toBe(nic.fingerprint);
  });

  it('reports the instance status; a stopping instance is not ready, a stopped one keeps and updates its aliases', async () => {
    // Instance.status (REST reference; https://cloud.google.com/compute/docs/instances/instance-life-cycle:
    // STOPPING "is a temporary status after which the VM enters the TERMINATED status"); a write during it
    // meets the in-flight stop (resourceNotReady, as errors.ts cites); see server.ts for the stopped case.
    const inst = emulator.state.instance(P, Z, 'vm-1')!;
    const write = async (ranges: { ipCidrRange: string; subnetworkRangeName: string }[]) => {
      const nic = (await rest('GET', instancePath('vm-1'))).json.networkInterfaces[0]!;
      return patch('vm-1', { fingerprint: nic.fingerprint, aliasIpRanges: ranges });
    };
    await untilDone((await write([{ ipCidrRange: '10.9.0.9/32', subnetworkRangeName: 'egress' }])).json);
    try {
      inst.status = 'STOPPING';
      expect((await rest('GET', instancePath('vm-1'))).json.status).toBe('STOPPING');
      const stopping = await write([]);
      expect(stopping.status).toBe(400);
      expect(stopping.json.error.errors[0]?.reason).toBe('resourceNotReady');
      inst.status = 'TERMINATED';
      const stopped = (await rest('GET', instancePath('vm-1'))).json;
      expect(stopped.status).toBe('TERMINATED');
      expect(stopped.networkInterfaces[0]!.aliasIpRanges).toEqual([
        { ipCidrRange: '10.9.0.9/32', subnetworkRangeName: 'egress' },
      ]);
      const removal = await write([]);
      expect(removal.status).toBe(200);
      expect((await untilDone(removal.json)).error).toBeUndefined();
      expect(
        (await rest('GET', instancePath('vm-1'))).json.networkInterfaces[0]!.aliasIpRanges,
      ).toBeUndefined();
    } finally {
      inst.status = 'RUNNING';
    }
  });

  it('answers testIamPermissions with the permissions held there, and refuses a denied call with 403', async () => {
    const vm1 = `projects/${P}/zones/${Z}/instances/vm-1`;
    const asked = ['compute.instances.get', 'compute.instances.updateNetworkInterface'];
    emulator.iam.deny('compute.instances.updateNetworkInterface', vm1);
    emulator.iam.deny('compute.subnetworks.get');
    try {
      const onVm1 = await rest('POST', `${instancePath('vm-1')}/testIamPermissions`, { permissions: asked });
      expect(onVm1).toEqual({ status: 200, json: { permissions: ['compute.instances.get'] } });
      const onVm2 = await rest('POST', `${instancePath('vm-2')}/testIamPermissions`, { permissions: asked });
      expect(onVm2.json).toEqual({ permissions: asked });
      const subnet = `/compute/v1/projects/${P}/regions/us-central1/subnetworks/sub`;
      const none = await rest('POST', `${subnet}/testIamPermissions`, {
        permissions: ['compute.subnetworks.get'],
      });
      expect(none).toEqual({ status: 200, json: {} });
      const wildcard = await rest('POST', `${subnet}/testIamPermissions`, { permissions: ['compute.*'] });
      expect(wildcard.status).toBe(400);
      const gone = await rest('POST', `${instancePath('nope')}/testIamPermissions`, { permissions: asked });
      expect(gone.status).toBe(404);

      const nic = (await rest('GET', instancePath('vm-1'))).json.networkInterfaces[0]!;
      const denied = await patch('vm-1', { fingerprint: nic.fingerprint, aliasIpRanges: [] });
      expect(denied.status).toBe(403);
      expect(denied.json.error).toMatchObject({
        code: 403,
        message: `Required 'compute.instances.updateNetworkInterface' permission for '${vm1}'`,
        errors: [{ reason: 'forbidden' }],
      });
      expect((await rest('GET', subnet)).status).toBe(403);
    } finally {
      emulator.iam.allowAll();
    }
  });

  it('serves subnetworks with their secondary ranges', async () => {
    const { json } = await rest('GET', `/compute/v1/projects/${P}/regions/us-central1/subnetworks/sub`);
    expect(json).toMatchObject({
      ipCidrRange: '10.0.0.0/24',
      secondaryIpRanges: [{ rangeName: 'egress', ipCidrRange: '10.9.0.0/28' }],
    });
  });
});
