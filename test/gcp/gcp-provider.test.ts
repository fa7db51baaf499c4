/**
 * @module
 * GCP-specific behaviour of the provider, through the real `@google-cloud/compute` clients on the local
 * Compute Engine emulator. Every test asserts on the emulator's state and on the calls it received.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { classifyGcpError, createComputeApi } from '../../providers/gcp/index.ts';
import type { Change, CloudProvider, NodeRef } from '../../src/provider/contract.ts';
import type { WorldNode } from '../conformance/cloud-provider.case.ts';
import { type EmulatedOperation, MAX_ALIAS_RANGES } from '../emulators/gcp/index.ts';
import { eventually } from '../support/eventually.ts';
import { FAST, type GcpWorld, PROJECT, startGcpWorld } from './world.ts';

let world: GcpWorld;
beforeAll(async () => {
  world = await startGcpWorld();
});
afterAll(async () => {
  await world?.close();
});
beforeEach(async () => {
  await world.reset();
});

const assign = (ip: string, node: NodeRef, from?: NodeRef): Change =>
  from ? { kind: 'assign', ip, node, from } : { kind: 'assign', ip, node };
const patches = () => world.emulator.calls.filter((c) => c.method === 'PATCH');

/** Has `provider` allocate two IPs on `node`; checks the outcome and the NIC hold exactly those, and returns them. */
async function allocateTwo(provider: CloudProvider, node: WorldNode): Promise<string[]> {
  const result = await provider.apply({ changes: [{ kind: 'allocate', count: 2, node: node.ref }] });
  const outcome = result.outcomes[0];
  expect(outcome?.ok).toBe(true);
  const allocated = outcome?.ok ? [...(outcome.allocated ?? [])].sort() : [];
  expect(allocated).toHaveLength(2);
  expect(await world.cloudIPs(node)).toEqual(allocated);
  expect((await provider.listAssignments([node.ref])).map((l) => l.ip)).toEqual(allocated);
  return allocated;
}

describe('gcp provider on the Compute Engine emulator', () => {
  it('retries a stale fingerprint (412 conditionNotMet) after re-reading, and wins', async () => {
    const { a } = world.nodes;
    const [ip] = await world.freeIPs(a.subnet, 1);
    world.emulator.inject({ kind: 'concurrentWrite' });
    const result = await world.provider.apply({ changes: [assign(ip!, a.ref)] });
    expect(result.outcomes.map((o) => o.ok)).toEqual([true]);
    expect(await world.cloudIPs(a)).toEqual([ip]);
    expect(patches().map((c) => c.status)).toEqual([412, 200]);
  });

  it('without retries the same 412 is reported as a conflict and nothing changes', async () => {
    const { a } = world.nodes;
    const [ip] = await world.freeIPs(a.subnet, 1);
    const once = world.newProvider({}, { retries: 0 });
    world.emulator.inject({ kind: 'concurrentWrite' });
    const result = await once.apply({ changes: [assign(ip!, a.ref)] });
    expect(result.outcomes[0]).toMatchObject({
      ok: false,
      error: { kind: 'conflict', code: 'conditionNotMet' },
    });
    expect(await world.cloudIPs(a)).toEqual([]);
  });

  it('waits on an operation again when the first wait returns before DONE', async () => {
    const { a } = world.nodes;
    const [ip] = await world.freeIPs(a.subnet, 1);
    world.emulator.operationPolls = 3;
    await world.provider.apply({ changes: [assign(ip!, a.ref)] });
    const waits = world.emulator.calls.filter((c) => c.path.endsWith('/wait'));
    expect(waits.map((c) => c.operationStatus)).toEqual(['RUNNING', 'RUNNING', 'DONE']);
    expect(await world.cloudIPs(a)).toEqual([ip]);
    expect([...world.emulator.state.operations.values()].every((op) => op.status === 'DONE')).toBe(true);
  });

  it('moves remove the IPs on the old NIC, wait until DONE, then add them on the new NIC', async () => {
    const { a, b } = world.nodes;
    const ips = await world.freeIPs(a.subnet, 3);
    await world.provider.apply({ changes: ips.map((ip) => assign(ip, a.ref)) });
    world.emulator.clearFaults();
    const result = await world.provider.apply({ changes: ips.map((ip) => assign(ip, b.ref, a.ref)) });
    expect(result.outcomes.every((o) => o.ok)).toBe(true);
    expect(await world.cloudIPs(a)).toEqual([]);
    expect(await world.cloudIPs(b)).toEqual([...ips].sort());

    const calls = world.emulator.calls;
    const onA = calls.findIndex((c) => c.method === 'PATCH' && c.path.includes('/instances/node-a/'));
    const onB = calls.findIndex((c) => c.method === 'PATCH' && c.path.includes('/instances/node-b/'));
    expect(patches()).toHaveLength(2);
    expect(onA).toBeGreaterThanOrEqual(0);
    expect(onB).toBeGreaterThan(onA);
    const between = calls.slice(onA + 1, onB);
    expect(between.some((c) => c.path.includes('/operations/') && c.operationStatus === 'DONE')).toBe(true);
  });

  it('removes the last alias range of a NIC (the generated client would drop an empty list)', async () => {
    const { c } = world.nodes;
    const [ip] = await world.freeIPs(c.subnet, 1);
    await world.provider.apply({ changes: [assign(ip!, c.ref)] });
    expect(world.nic(c).aliasIpRanges).toHaveLength(1);
    const result = await world.provider.apply({ changes: [{ kind: 'release', ip: ip!, node: c.ref }] });
    expect(result.outcomes[0]?.ok).toBe(true);
    expect(world.nic(c).aliasIpRanges).toEqual([]);
  });

  it(`the ${MAX_ALIAS_RANGES} alias ranges limit is a capacity error, also when GCP itself refuses`, async () => {
    const { c } = world.nodes;
    const ips = await world.freeIPs(c.subnet, MAX_ALIAS_RANGES + 1);
    const full = await world.provider.apply({
      changes: ips.slice(0, MAX_ALIAS_RANGES).map((ip) => assign(ip, c.ref)),
    });
    expect(full.outcomes.every((o) => o.ok)).toBe(true);
    expect(await world.cloudIPs(c)).toHaveLength(MAX_ALIAS_RANGES);
    expect((await world.provider.describeNode(c.ref)).freeSlots).toBe(0);

    const over = await world.provider.apply({ changes: [assign(ips[MAX_ALIAS_RANGES]!, c.ref)] });
    expect(over.outcomes[0]).toMatchObject({ ok: false, error: { kind: 'capacity' } });
    expect(await world.cloudIPs(c)).toHaveLength(MAX_ALIAS_RANGES);

    // The emulator enforces the limit too: a raw SDK call past it is refused and classified as capacity.
    const api = createComputeApi({ endpoint: world.emulator.url });
    const nic = world.nic(c);
    const key = { project: PROJECT, zone: 'europe-west1-b', instance: 'node-c' };
    const ranges = [
      ...nic.aliasIpRanges,
      {
        ipCidrRange: `${ips[MAX_ALIAS_RANGES]}/32`,
        subnetworkRangeName: nic.aliasIpRanges[0]!.subnetworkRangeName!,
      },
    ];
    const refused = await api
      .updateAliasRanges(key, 'nic0', { fingerprint: nic.fingerprint, aliasIpRanges: ranges })
      .catch((err) => err);
    await api.close();
    expect(classifyGcpError(refused, 'raw').kind).toBe('capacity');
    expect(await world.cloudIPs(c)).toHaveLength(MAX_ALIAS_RANGES);
  });

  it('an IP outside the egress range is terminal with a message naming the IP, the range and the subnetwork', async () => {
    const { a } = world.nodes;
    const primaryRangeIP = '10.0.1.77';
    const result = await world.provider.apply({ changes: [assign(primaryRangeIP, a.ref)] });
    const outcome = result.outcomes[0];
    expect(outcome?.ok).toBe(false);
    if (outcome?.ok !== false) return;
    expect(outcome.error.kind).toBe('terminal');
    expect(outcome.error.message).toContain(primaryRangeIP);
    expect(outcome.error.message).toContain('cloud-egress-conformance (10.1.1.0/24)');
    expect(outcome.error.message).toContain('nodes-a');
    expect(patches()).toHaveLength(0);
    expect(await world.cloudIPs(a)).toEqual([]);

    // GCP's own refusal of a range outside the subnetwork is terminal as well, and names the IP.
    const api = createComputeApi({ endpoint: world.emulator.url });
    const nic = world.nic(a);
    const refused = await api
      .updateAliasRanges({ project: PROJECT, zone: 'europe-west1-b', instance: 'node-a' }, 'nic0', {
        fingerprint: nic.fingerprint,
        aliasIpRanges: [
          ...nic.aliasIpRanges,
          { ipCidrRange: '192.0.2.9/32', subnetworkRangeName: 'cloud-egress-conformance' },
        ],
      })
      .catch((err) => err);
    await api.close();
    const error = classifyGcpError(refused, 'raw');
    expect(error.kind).toBe('terminal');
    expect(error.message).toContain('192.0.2.9/32');
  });

  it.each(['cidr', 'address'] as const)(
    'refuses an IP another NIC holds (the operation quotes it as %s), and still writes the rest of the batch',
    async (quote) => {
      // GCP fails the operation with IP_IN_USE_BY_ANOTHER_RESOURCE and quotes the address as '<ip>/32' or as a
      // bare '<ip>' (test/emulators/gcp/alias-rules.ts): either way only that IP fails.
      const { a, b } = world.nodes;
      const [taken, good] = await world.freeIPs(a.subnet, 2);
      await world.provider.apply({ changes: [assign(taken!, b.ref)] });
      world.emulator.inUseQuote = quote;
      const result = await world.provider.apply({ changes: [assign(taken!, a.ref), assign(good!, a.ref)] });
      expect(result.outcomes[0]).toMatchObject({
        ok: false,
        error: { kind: 'terminal', code: 'IP_IN_USE_BY_ANOTHER_RESOURCE' },
      });
      expect(result.outcomes[0]?.ok === false && result.outcomes[0].error.message).toContain(taken);
      expect(result.outcomes[1]?.ok).toBe(true);
      expect(await world.cloudIPs(a)).toEqual([good]);
      expect(await world.cloudIPs(b)).toEqual([taken]);
    },
  );

  it('never touches alias ranges it does not own (GKE pod ranges stay)', async () => {
    const { a } = world.nodes;
    const pods = world.nic(a).aliasIpRanges.find((r) => r.subnetworkRangeName === 'pods');
    expect(pods).toBeDefined();
    const [ip] = await world.freeIPs(a.subnet, 1);
    await world.provider.apply({ changes: [assign(ip!, a.ref)] });
    await world.provider.apply({ changes: [{ kind: 'release', ip: ip!, node: a.ref }] });
    const release = await world.provider.apply({
      changes: [{ kind: 'release', ip: '10.100.1.5', node: a.ref }],
    });
    expect(release.outcomes[0]).toMatchObject({ ok: false, error: { kind: 'terminal' } });
    expect(world.nic(a).aliasIpRanges).toEqual([pods]);
    expect((await world.provider.describeNode(a.ref)).reservedIPs).toContain('10.100.1.0/24');
  });

  it('retries 429 rateLimitExceeded and 503 backendError', async () => {
    const { a } = world.nodes;
    const [ip] = await world.freeIPs(a.subnet, 1);
    world.emulator.inject({ kind: 'status', on: 'read', status: 503, reason: 'backendError' });
    world.emulator.inject({ kind: 'status', on: 'write', status: 429, reason: 'rateLimitExceeded' });
    const result = await world.provider.apply({ changes: [assign(ip!, a.ref)] });
    expect(result.outcomes[0]?.ok).toBe(true);
    expect(await world.cloudIPs(a)).toEqual([ip]);
    expect(world.emulator.calls.map((c) => c.status)).toContain(503);
    expect(patches().map((c) => c.status)).toEqual([429, 200]);
  });

  it.each(['instance', 'subnetwork'] as const)(
    'retries 400 resourceNotReady on the %s (another operation on it in flight), and wins',
    async (resource) => {
      // GCP answers this as an HTTP error, not only inside an operation (test/emulators/gcp/errors.ts cites the
      // captured responses); it passes once the other operation is done.
      const { a } = world.nodes;
      const [ip] = await world.freeIPs(a.subnet, 1);
      world.emulator.inject({ kind: 'resourceNotReady', resource, times: 2 });
      const result = await world.provider.apply({ changes: [assign(ip!, a.ref)] });
      expect(result.outcomes.map((o) => o.ok)).toEqual([true]);
      expect(await world.cloudIPs(a)).toEqual([ip]);
      expect(patches().map((c) => c.status)).toEqual([400, 400, 200]);
    },
  );

  it('serialises writes to one NIC: concurrent applies never race into a 412', async () => {
    const { a } = world.nodes;
    const ips = await world.freeIPs(a.subnet, 4);
    const results = await Promise.all(
      ips.map((ip) => world.provider.apply({ changes: [assign(ip, a.ref)] })),
    );
    expect(results.flatMap((r) => r.outcomes).every((o) => o.ok)).toBe(true);
    expect(await world.cloudIPs(a)).toEqual([...ips].sort());
    expect(patches().map((c) => c.status)).toEqual([200, 200, 200, 200]);
  });

  describe('a write while another writer’s operation on the NIC is RUNNING loses neither update', () => {
    // Another writer (an old leader, an operator with gcloud) updates node-a's NIC; its operation is still
    // RUNNING when the provider writes. GCP fails whichever operation is DONE second with CONDITION_NOT_MET
    // (test/emulators/gcp/server.ts); the provider re-reads and writes again when it is the one.
    const a = () => world.nodes.a;
    const key = { project: PROJECT, zone: 'europe-west1-b', instance: 'node-a' };
    /** Starts the other writer's update adding `ip`; its operation runs until the test finishes it. */
    async function otherWriter(ip: string): Promise<EmulatedOperation> {
      const api = createComputeApi({ endpoint: world.emulator.url });
      const nic = world.nic(a());
      const op = await api.updateAliasRanges(key, 'nic0', {
        fingerprint: nic.fingerprint,
        aliasIpRanges: [
          ...nic.aliasIpRanges,
          { ipCidrRange: `${ip}/32`, subnetworkRangeName: 'cloud-egress-conformance' },
        ],
      });
      await api.close();
      return world.emulator.state.operations.get(`${PROJECT}/${key.zone}/${op.name}`)!;
    }

    it('the other writer is DONE last: its operation fails, the provider’s IP stays', async () => {
      const [theirs, ours] = await world.freeIPs(a().subnet, 2);
      const other = await otherWriter(theirs!);
      const result = await world.provider.apply({ changes: [assign(ours!, a().ref)] });
      expect(result.outcomes.map((o) => o.ok)).toEqual([true]);
      world.emulator.state.finish(other);
      expect(other.error?.errors[0]?.code).toBe('CONDITION_NOT_MET');
      expect(await world.cloudIPs(a())).toEqual([ours]);
    });

    it('the other writer is DONE first: the provider’s operation fails, it re-reads and keeps both', async () => {
      const [theirs, ours] = await world.freeIPs(a().subnet, 2);
      world.emulator.operationPolls = 1_000_000;
      const other = await otherWriter(theirs!);
      const applying = world.provider.apply({ changes: [assign(ours!, a().ref)] });
      const mine = await eventually('the provider’s operation', async () =>
        [...world.emulator.state.operations.values()].find((op) => op !== other && op.status !== 'DONE'),
      );
      world.emulator.state.finish(other);
      world.emulator.operationPolls = 2;
      world.emulator.state.finish(mine);
      expect(mine.error?.errors[0]?.code).toBe('CONDITION_NOT_MET');
      const result = await applying;
      expect(result.outcomes.map((o) => o.ok)).toEqual([true]);
      expect(await world.cloudIPs(a())).toEqual([ours, theirs].sort());
    });
  });

  describe('a write GCP carried out is never written again (requestId)', () => {
    // A retried updateNetworkInterface carries the first attempt's requestId: GCP ignores the repeat and answers
    // the first operation (REST reference). A second write would allocate a second set of addresses.

    it('an allocation whose answer was lost takes its addresses once', async () => {
      const { b } = world.nodes;
      world.emulator.latency = { requestMs: 0, operationMs: 20, waitMs: 120_000 };
      world.emulator.inject({ kind: 'dropResponse' });
      await allocateTwo(world.provider, b);
      const sent = patches();
      expect(sent.map((c) => c.status)).toEqual([0, 200]);
      expect(sent[1]?.requestId).toBe(sent[0]?.requestId);
    });

    it('an allocation whose wait ended before DONE waits on the same operation, and takes its addresses once', async () => {
      const { b } = world.nodes;
      // Each wait returns after 5 ms; the provider gives one operation 15 ms, then the engine tries again.
      world.emulator.latency = { requestMs: 0, operationMs: 200, waitMs: 5 };
      const impatient = world.newProvider({}, { ...FAST, retries: 40, operationTimeoutMs: 15 });
      const operationsBefore = world.emulator.state.operations.size;
      await allocateTwo(impatient, b);
      const ids = new Set(patches().map((c) => c.requestId));
      expect(patches().length).toBeGreaterThan(1);
      expect(ids.size).toBe(1);
      expect(world.emulator.state.operations.size - operationsBefore).toBe(1);
    });
  });

  describe('instances that are not RUNNING', () => {
    // Instance.status (REST reference); the emulator's rules for each are in test/emulators/gcp/server.ts.
    it.each(['STOPPING', 'TERMINATED', 'SUSPENDED'] as const)(
      'a %s instance takes no new egress IP: capacity, nothing written, describeNode says why',
      async (status) => {
        const { a } = world.nodes;
        const [ip] = await world.freeIPs(a.subnet, 1);
        world.instance(a).status = status;
        const result = await world.provider.apply({ changes: [assign(ip!, a.ref)] });
        expect(result.outcomes[0]).toMatchObject({
          ok: false,
          error: { kind: 'capacity', code: 'instanceNotRunning', message: expect.stringContaining(status) },
        });
        expect(patches()).toHaveLength(0);
        expect(await world.cloudIPs(a)).toEqual([]);
        await expect(world.provider.describeNode(a.ref)).rejects.toMatchObject({
          kind: 'capacity',
          message: expect.stringContaining(status),
        });
      },
    );

    it.each(['TERMINATED', 'SUSPENDED'] as const)(
      'a move off a %s instance removes the IP it still holds there, then adds it on the target',
      async (status) => {
        const { a, b } = world.nodes;
        const [ip] = await world.freeIPs(a.subnet, 1);
        await world.provider.apply({ changes: [assign(ip!, a.ref)] });
        world.instance(a).status = status;
        expect((await world.provider.listAssignments([a.ref])).map((l) => l.ip)).toEqual([ip]);
        const result = await world.provider.apply({ changes: [assign(ip!, b.ref, a.ref)] });
        expect(result.outcomes.map((o) => o.ok)).toEqual([true]);
        expect(await world.cloudIPs(a)).toEqual([]);
        expect(await world.cloudIPs(b)).toEqual([ip]);
      },
    );

    it('a move off a STOPPING instance is retried (resourceNotReady) until it has stopped', async () => {
      const { a, b } = world.nodes;
      const [ip] = await world.freeIPs(a.subnet, 1);
      await world.provider.apply({ changes: [assign(ip!, a.ref)] });
      world.emulator.clearFaults();
      world.instance(a).status = 'STOPPING';
      const patient = world.newProvider({}, { ...FAST, retries: 30 });
      const moving = patient.apply({ changes: [assign(ip!, b.ref, a.ref)] });
      await eventually(
        'a write refused while node-a stops',
        async () => patches().some((c) => c.status === 400),
        {
          intervalMs: 1,
        },
      );
      world.instance(a).status = 'TERMINATED';
      const result = await moving;
      expect(result.outcomes.map((o) => o.ok)).toEqual([true]);
      expect(await world.cloudIPs(a)).toEqual([]);
      expect(await world.cloudIPs(b)).toEqual([ip]);
    });
  });

  describe('preflight: the permissions a failover needs, as GCP’s testIamPermissions answers them', () => {
    const instancePath = (name: string, zone = 'europe-west1-b') =>
      `projects/${PROJECT}/zones/${zone}/instances/${name}`;

    it('all granted: every check passes and nothing is written', async () => {
      const { a, b, c } = world.nodes;
      const checks = await world.provider.preflight!([a.ref, b.ref, c.ref]);
      expect(checks.every((check) => check.ok)).toBe(true);
      expect(checks.map((check) => check.check).sort()).toEqual([
        ...Array(3).fill('permission compute.instances.get'),
        ...Array(3).fill('permission compute.instances.updateNetworkInterface'),
        ...Array(2).fill('permission compute.subnetworks.get'),
      ]);
      expect(patches()).toHaveLength(0);
    });

    it('a permission denied on one instance fails that node’s check, and the write it predicts fails with 403', async () => {
      const { a, b } = world.nodes;
      world.emulator.iam.deny(
        'compute.instances.updateNetworkInterface',
        instancePath('node-b', 'europe-west1-c'),
      );
      world.emulator.iam.deny(
        'compute.subnetworks.get',
        `projects/${PROJECT}/regions/europe-west1/subnetworks/nodes-a`,
      );
      const checks = await world.provider.preflight!([a.ref, b.ref]);
      expect(checks.filter((check) => !check.ok).map((check) => [check.check, check.node])).toEqual([
        ['permission compute.instances.updateNetworkInterface', 'node-b'],
        ['permission compute.subnetworks.get', undefined],
      ]);
      expect(checks.find((check) => check.check.endsWith('subnetworks.get'))?.message).toContain(
        'subnetworks/nodes-a (nodes node-a, node-b)',
      );
      // What preflight predicted: a write to node-b's NIC is refused.
      world.emulator.iam.allowAll();
      world.emulator.iam.deny(
        'compute.instances.updateNetworkInterface',
        instancePath('node-b', 'europe-west1-c'),
      );
      const [ip] = await world.freeIPs(b.subnet, 1);
      const result = await world.provider.apply({ changes: [assign(ip!, b.ref)] });
      expect(result.outcomes[0]).toMatchObject({
        ok: false,
        error: {
          kind: 'terminal',
          message: expect.stringContaining("Required 'compute.instances.updateNetworkInterface'"),
        },
      });
    });

    it('a node whose instance is gone fails its check with GCP’s answer', async () => {
      const checks = await world.provider.preflight!([world.missing]);
      expect(checks).toEqual([
        expect.objectContaining({
          node: 'node-gone',
          ok: false,
          message: expect.stringContaining('was not found'),
        }),
      ]);
    });
  });

  it('refuses a public address pairing (not possible for alias IPs) without writing', async () => {
    const { a } = world.nodes;
    const [ip] = await world.freeIPs(a.subnet, 1);
    const result = await world.provider.apply({
      changes: [
        { kind: 'assign', ip: ip!, node: a.ref, publicAddress: 'projects/p/regions/r/addresses/egress-1' },
      ],
    });
    expect(result.outcomes[0]).toMatchObject({ ok: false, error: { kind: 'terminal' } });
    expect(patches()).toHaveLength(0);
    expect(await world.cloudIPs(a)).toEqual([]);
  });

  it('an operation that ends DONE with an error is a failure, not a success', async () => {
    const { a } = world.nodes;
    const [ip] = await world.freeIPs(a.subnet, 1);
    world.emulator.inject({
      kind: 'operationError',
      code: 'IP_IN_USE_BY_ANOTHER_RESOURCE',
      message: `IP '${ip}' is already being used by another resource.`,
    });
    const result = await world.provider.apply({ changes: [assign(ip!, a.ref)] });
    expect(result.outcomes[0]).toMatchObject({
      ok: false,
      error: { kind: 'terminal', code: 'IP_IN_USE_BY_ANOTHER_RESOURCE' },
    });
    expect(await world.cloudIPs(a)).toEqual([]);
  });

  it('an operation error worth retrying (RESOURCE_NOT_READY) is retried and wins', async () => {
    const { a } = world.nodes;
    const [ip] = await world.freeIPs(a.subnet, 1);
    world.emulator.inject({
      kind: 'operationError',
      code: 'RESOURCE_NOT_READY',
      message: 'The resource is not ready',
    });
    const result = await world.provider.apply({ changes: [assign(ip!, a.ref)] });
    expect(result.outcomes[0]?.ok).toBe(true);
    expect(await world.cloudIPs(a)).toEqual([ip]);
    expect(patches()).toHaveLength(2);
  });

  it('an operation that is never DONE fails transient at the deadline', async () => {
    const { a } = world.nodes;
    const [ip] = await world.freeIPs(a.subnet, 1);
    world.emulator.operationPolls = 1_000_000;
    const impatient = world.newProvider({}, { retries: 0, pollIntervalMs: 5, operationTimeoutMs: 100 });
    const result = await impatient.apply({ changes: [assign(ip!, a.ref)] });
    expect(result.outcomes[0]).toMatchObject({ ok: false, error: { kind: 'transient' } });
    expect(result.outcomes[0]?.ok === false && result.outcomes[0].error.message).toContain('not DONE');
    expect(await world.cloudIPs(a)).toEqual([]);
  });

  it('uses the NIC named by settings.interface (a bare index means nicN)', async () => {
    const { a } = world.nodes;
    expect((await world.newProvider({ interface: '0' }).describeNode(a.ref)).interfaceId).toMatch(/#nic0$/);
    await expect(world.newProvider({ interface: 'nic1' }).describeNode(a.ref)).rejects.toMatchObject({
      kind: 'notFound',
      message: expect.stringContaining('no network interface nic1'),
    });
  });

  it('allocate lets GCP pick free addresses from the egress range', async () => {
    await allocateTwo(world.provider, world.nodes.b);
  });
});
