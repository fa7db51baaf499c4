/**
 * @module
 * The Azure provider's retry, polling, limit and ordering behaviour, on the ARM emulator through the real
 * SDKs. Every case asserts on the emulator's NICs and its request and event logs.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Change, CloudProvider } from '../../src/provider/contract.ts';
import type { AzureCloud } from '../emulators/azure/index.ts';
import { type AzureWorld, FAST, startAzureWorld } from './world.ts';

let world: AzureWorld;
let cloud: AzureCloud;
let provider: CloudProvider;
/**
 * Lets `p` find out, with one throwaway move, that the subscription has no one-operation move (the emulator's
 * default: `AllowMoveIpConfigurations` not registered), so later moves take the engine's two steps.
 */
async function learnNoOneOperationMove(p: CloudProvider): Promise<CloudProvider> {
  const { a, b } = world.nodes;
  const [ip] = cloud.freeIPs(a.subnetId, 1);
  await p.apply({ changes: [{ kind: 'assign', ip: ip!, node: a.ref }] });
  await p.apply({ changes: [{ kind: 'assign', ip: ip!, node: b.ref, from: a.ref }] });
  await p.apply({ changes: [{ kind: 'release', ip: ip!, node: b.ref }] });
  cloud.reset();
  return p;
}

beforeAll(async () => {
  world = await startAzureWorld();
  cloud = world.emulator.cloud;
  provider = await learnNoOneOperationMove(world.provider);
});
afterAll(async () => world?.close());
beforeEach(() => cloud.reset());

const assign = (ip: string, node: keyof AzureWorld['nodes'], extra: Partial<Change> = {}): Change =>
  ({ kind: 'assign', ip, node: world.nodes[node].ref, ...extra }) as Change;
const nicPuts = (nicId: string) =>
  cloud.requests.filter((r) => r.method === 'PUT' && r.path.toLowerCase() === nicId.toLowerCase());
/**
 * A provider that stops waiting for an operation after 300 ms (and retries, re-reading the NIC). Its retries
 * are counted, the NIC's Updating time is not: an operation of 1 s keeps the NIC Updating for 700 ms after the
 * timeout, and attempts 0-100 ms apart (full jitter) spend about 14 retries on each such wait; 80 leave room
 * for the two waits of an allocation (add, then make Static) however fast the machine answers.
 */
const impatientProvider = () =>
  learnNoOneOperationMove(
    world.newProvider({
      pollIntervalMs: 5,
      operationTimeoutMs: 300,
      retry: { retries: 80, minTimeoutMs: 20, maxTimeoutMs: 100 },
    }),
  );
/** The GETs of the NIC: an attempt that finds it still Updating is one more. */
const nicGets = (nicId: string) =>
  cloud.requests.filter((r) => r.method === 'GET' && r.path.toLowerCase() === nicId.toLowerCase());
const polls = () => cloud.requests.filter((r) => r.method === 'GET' && r.path.includes('/operations/'));

describe('azure provider on the ARM emulator', () => {
  it('retries a stale etag: re-reads, keeps the other writer change, and wins', async () => {
    const { a } = world.nodes;
    const [mine, theirs] = cloud.freeIPs(a.subnetId, 2);
    // Another tool writes the NIC between the provider's GET and its PUT: the If-Match etag is stale.
    cloud.beforeNextPut(() => cloud.addIpConfiguration(a.nicId, 'other-tool', theirs!));
    const result = await provider.apply({ changes: [assign(mine!, 'a')] });
    expect(result.outcomes.map((o) => o.ok)).toEqual([true]);
    expect(nicPuts(a.nicId).map((r) => r.status)).toEqual([412, 200]);
    expect(cloud.secondaryIPs(a.nicId)).toEqual([mine, theirs].sort());
  });

  it('retries 409 AnotherOperationInProgress until the other operation is done', async () => {
    const { b } = world.nodes;
    const [ip] = cloud.freeIPs(b.subnetId, 1);
    cloud.operationMaxMs = 150;
    cloud.beforeNextPut(() => cloud.startForeignOperation(b.nicId));
    const result = await provider.apply({ changes: [assign(ip!, 'b')] });
    expect(result.outcomes.map((o) => o.ok)).toEqual([true]);
    const statuses = nicPuts(b.nicId).map((r) => r.status);
    expect(statuses[0]).toBe(409);
    expect(statuses.at(-1)).toBe(200);
    expect(cloud.secondaryIPs(b.nicId)).toEqual([ip]);
    expect(cloud.nic(b.nicId).properties.provisioningState).toBe('Succeeded');
  });

  it('polls the Azure-AsyncOperation URL until Succeeded before reporting done', async () => {
    const { a } = world.nodes;
    const [ip] = cloud.freeIPs(a.subnetId, 1);
    cloud.operationPolls = 4;
    cloud.operationMaxMs = 60_000;
    const result = await provider.apply({ changes: [assign(ip!, 'a')] });
    expect(result.outcomes.map((o) => o.ok)).toEqual([true]);
    expect(polls()).toHaveLength(5); // four InProgress answers, then Succeeded
    expect(cloud.events.map((e) => e.kind)).toEqual(['put-accepted', 'operation-succeeded']);
    expect(cloud.nic(a.nicId).properties.provisioningState).toBe('Succeeded');
  });

  it('writes again after the operation fails, and after 429 (Retry-After) and 500', async () => {
    const { a } = world.nodes;
    const [first, second] = cloud.freeIPs(a.subnetId, 2);
    cloud.failNextOperations(1);
    expect((await provider.apply({ changes: [assign(first!, 'a')] })).outcomes.map((o) => o.ok)).toEqual([
      true,
    ]);
    expect(cloud.events.map((e) => e.kind)).toEqual([
      'put-accepted',
      'operation-failed',
      'put-accepted',
      'operation-succeeded',
    ]);
    cloud.injectFaults({ status: 429, retryAfterSeconds: 1 }, { status: 500 });
    const started = performance.now();
    expect((await provider.apply({ changes: [assign(second!, 'a')] })).outcomes.map((o) => o.ok)).toEqual([
      true,
    ]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(
      nicPuts(a.nicId)
        .map((r) => r.status)
        .slice(-3),
    ).toEqual([429, 500, 200]);
    expect(cloud.secondaryIPs(a.nicId)).toEqual([first, second].sort());
  });

  it('gives up on an operation that outlives the timeout, then confirms it before reporting done', async () => {
    const { a } = world.nodes;
    const impatient = await impatientProvider(); // first: its throwaway move resets the emulator's settings
    const [ip] = cloud.freeIPs(a.subnetId, 1);
    cloud.operationPolls = 1_000_000;
    cloud.operationMaxMs = 1_000;
    const result = await impatient.apply({ changes: [assign(ip!, 'a')] });
    expect(result.outcomes.map((o) => o.ok)).toEqual([true]);
    expect(nicPuts(a.nicId)).toHaveLength(1);
    // More reads than a straight run's: attempts found the NIC Updating (the operation outlived the timeout).
    expect(nicGets(a.nicId).length).toBeGreaterThan(2);
    expect(cloud.events.map((e) => e.kind)).toEqual(['put-accepted', 'operation-succeeded']);
  });

  it('surfaces the 256 ipConfigurations limit as capacity and adds nothing', async () => {
    const { c } = world.nodes;
    const taken = cloud.freeIPs(c.subnetId, 250);
    for (const [i, ip] of taken.entries()) cloud.addIpConfiguration(c.nicId, `other-${i}`, ip);
    expect((await provider.describeNode(c.ref)).freeSlots).toBe(5);
    const ips = cloud.freeIPs(c.subnetId, 6);
    const result = await provider.apply({ changes: ips.map((ip) => assign(ip, 'c')) });
    expect(result.outcomes.map((o) => !o.ok && o.error.kind)).toEqual(Array(6).fill('capacity'));
    expect(cloud.secondaryIPs(c.nicId)).toEqual([...taken].sort());
    expect(cloud.mutatingCalls).toBe(0);
  });

  it('fails an IP outside the subnet terminal with a message naming the IP and the subnet', async () => {
    const result = await provider.apply({ changes: [assign('10.1.9.7', 'a')] });
    const [outcome] = result.outcomes;
    expect(outcome).toMatchObject({
      ok: false,
      error: { kind: 'terminal', code: 'PrivateIPAddressNotInSubnet' },
    });
    expect(!outcome!.ok && outcome!.error.message).toMatch(/10\.1\.9\.7 is outside subnet 10\.1\.0\.0\/24/);
    expect(cloud.secondaryIPs(world.nodes.a.nicId)).toEqual([]);
  });

  it("fails an IP another NIC holds terminal with Azure's message, and still writes the rest of the batch", async () => {
    const { a, b } = world.nodes;
    const [held, good] = cloud.freeIPs(a.subnetId, 2);
    const reserved = '10.1.0.1'; // Azure keeps .0 to .3 and the last address of every subnet
    cloud.addIpConfiguration(b.nicId, 'other-tool', held!);
    const result = await provider.apply({
      changes: [assign(held!, 'a'), assign(reserved, 'a'), assign(good!, 'a')],
    });
    const [first, second, third] = result.outcomes;
    expect(first).toMatchObject({
      ok: false,
      error: { kind: 'terminal', code: 'PrivateIPAddressIsAllocated' },
    });
    expect(!first!.ok && first!.error.message).toContain(
      `private IP address ${held} which is already allocated`,
    );
    expect(second).toMatchObject({
      ok: false,
      error: { kind: 'terminal', code: 'PrivateIPAddressInReservedRange' },
    });
    expect(third?.ok).toBe(true);
    expect(cloud.secondaryIPs(a.nicId)).toEqual([good]);
    expect(cloud.secondaryIPs(b.nicId)).toEqual([held]);
  });

  it('moves by removing from the old NIC, waiting for that operation, then adding to the new one', async () => {
    const { a, b } = world.nodes;
    const ips = cloud.freeIPs(a.subnetId, 4);
    await provider.apply({ changes: ips.map((ip) => assign(ip, 'a')) });
    cloud.clearLogs();
    const result = await provider.apply({
      changes: ips.map((ip) => assign(ip, 'b', { from: world.nodes.a.ref })),
    });
    expect(result.outcomes.every((o) => o.ok)).toBe(true);
    const events = cloud.events.map(
      (e) => `${e.kind} ${e.nic === a.nicId ? 'a' : 'b'} ${e.secondaryIPs.length}`,
    );
    expect(events).toEqual([
      'put-accepted a 0',
      'operation-succeeded a 0',
      'put-accepted b 4',
      'operation-succeeded b 4',
    ]);
    expect(cloud.mutatingCalls).toBe(2);
    expect(cloud.secondaryIPs(a.nicId)).toEqual([]);
    expect(cloud.secondaryIPs(b.nicId)).toEqual([...ips].sort());
  });

  it('associates a public IP with the egress ipConfiguration and carries it along on a move', async () => {
    const { a, b } = world.nodes;
    const [ip] = cloud.freeIPs(a.subnetId, 1);
    await provider.apply({ changes: [assign(ip!, 'a', { publicAddress: world.publicIpId })] });
    const onA = cloud
      .nic(a.nicId)
      .properties.ipConfigurations.find((c) => c.properties.privateIPAddress === ip);
    expect(onA?.properties.publicIPAddress?.id).toBe(world.publicIpId);
    expect(await provider.listAssignments([a.ref])).toEqual([
      { ip, node: a.ref.name, interfaceId: a.nicId, publicAddress: world.publicIpId },
    ]);
    await provider.apply({ changes: [assign(ip!, 'b', { from: a.ref })] });
    const onB = cloud
      .nic(b.nicId)
      .properties.ipConfigurations.find((c) => c.properties.privateIPAddress === ip);
    expect(onB?.properties.publicIPAddress?.id).toBe(world.publicIpId);
    expect(cloud.secondaryIPs(a.nicId)).toEqual([]);
  });

  it('carries the public IP along when the removal outlived the operation timeout and was confirmed on a re-read', async () => {
    const { a, b } = world.nodes;
    const impatient = await impatientProvider();
    const [ip] = cloud.freeIPs(a.subnetId, 1);
    await provider.apply({ changes: [assign(ip!, 'a', { publicAddress: world.publicIpId })] });
    // The removal from a is accepted but its operation outlives the timeout: the retry reads a NIC that no
    // longer shows the public IP, so only the first attempt saw it.
    cloud.operationPolls = 1_000_000;
    cloud.operationMaxMs = 1_000;
    const result = await impatient.apply({ changes: [assign(ip!, 'b', { from: a.ref })] });
    expect(result.outcomes.map((o) => o.ok)).toEqual([true]);
    expect(nicPuts(a.nicId)).toHaveLength(2); // the assign, then the one removal
    const onB = cloud
      .nic(b.nicId)
      .properties.ipConfigurations.find((c) => c.properties.privateIPAddress === ip);
    expect(onB?.properties.publicIPAddress?.id).toBe(world.publicIpId);
    expect(cloud.secondaryIPs(a.nicId)).toEqual([]);
  });

  it('keeps what it does not manage on the NIC (IP forwarding, tags, ASGs) through the whole-NIC PUT', async () => {
    const { a } = world.nodes;
    const [ip] = cloud.freeIPs(a.subnetId, 1);
    await provider.apply({ changes: [assign(ip!, 'a')] });
    const nic = cloud.nic(a.nicId);
    expect(nic.properties['enableIPForwarding']).toBe(true);
    expect(nic.tags).toEqual({ team: 'network' });
    const added = nic.properties.ipConfigurations.find((c) => c.properties.privateIPAddress === ip);
    expect(added?.properties).toMatchObject({ privateIPAllocationMethod: 'Static', primary: false });
    expect(added?.properties.applicationSecurityGroups).toEqual(
      nic.properties.ipConfigurations[0]?.properties.applicationSecurityGroups,
    );
  });

  it('serialises concurrent applies on one NIC: no 409 or 412, nothing lost', async () => {
    const { a } = world.nodes;
    const ips = cloud.freeIPs(a.subnetId, 3);
    const results = await Promise.all(ips.map((ip) => provider.apply({ changes: [assign(ip, 'a')] })));
    expect(results.flatMap((r) => r.outcomes.map((o) => o.ok))).toEqual([true, true, true]);
    expect(nicPuts(a.nicId).map((r) => r.status)).toEqual([200, 200, 200]);
    expect(cloud.secondaryIPs(a.nicId)).toEqual([...ips].sort());
  });

  it('two provider instances writing one NIC at once lose nothing (etag and operation conflicts retried)', async () => {
    const { a } = world.nodes;
    const other = world.newProvider(FAST);
    const ips = cloud.freeIPs(a.subnetId, 10);
    const [mine, theirs] = await Promise.all([
      provider.apply({ changes: ips.slice(0, 5).map((ip) => assign(ip, 'a')) }),
      other.apply({ changes: ips.slice(5).map((ip) => assign(ip, 'a')) }),
    ]);
    expect([...mine.outcomes, ...theirs.outcomes].every((o) => o.ok)).toBe(true);
    expect(cloud.secondaryIPs(a.nicId)).toEqual([...ips].sort());
    expect(nicPuts(a.nicId).filter((r) => r.status === 200)).toHaveLength(2);
  });

  it('allocates IPs Azure picks, makes them static, reports them, and retries without allocating twice', async () => {
    const { a } = world.nodes;
    const impatient = await impatientProvider(); // first: its throwaway move resets the emulator's settings
    // The first write is accepted but its operation outlives the timeout: the retry must find the
    // ipConfigurations already there and not add three more.
    cloud.operationPolls = 1_000_000;
    cloud.operationMaxMs = 1_000;
    const result = await impatient.apply({ changes: [{ kind: 'allocate', count: 3, node: a.ref }] });
    const [outcome] = result.outcomes;
    expect(outcome?.ok).toBe(true);
    expect(nicGets(a.nicId).length).toBeGreaterThan(4); // attempts found the NIC Updating: the timeout path
    const allocated = outcome?.ok ? [...(outcome.allocated ?? [])].sort() : [];
    expect(allocated).toHaveLength(3);
    expect(cloud.secondaryIPs(a.nicId)).toEqual(allocated);
    const configs = cloud.nic(a.nicId).properties.ipConfigurations.filter((c) => !c.properties.primary);
    expect(configs.map((c) => c.properties.privateIPAllocationMethod)).toEqual([
      'Static',
      'Static',
      'Static',
    ]);
    expect((await provider.listAssignments([a.ref])).map((l) => l.ip)).toEqual(allocated);
    expect(nicPuts(a.nicId).map((r) => r.status)).toEqual([200, 200]); // add Dynamic, then make Static
    cloud.operationPolls = 0;
    // An allocated IP is owned like any other: it can be released.
    await provider.apply({ changes: [{ kind: 'release', ip: allocated[0]!, node: a.ref }] });
    expect(cloud.secondaryIPs(a.nicId)).toEqual(allocated.slice(1));
  });

  it('reports the zone; a uniform scale-set instance whose NIC is gone is notFound (its IPs are routes: scale-set.test.ts)', async () => {
    expect((await provider.describeNode(world.nodes.a.ref)).zone).toBe('westeurope-1');
    await expect(provider.describeNode(world.scaleSetNode)).rejects.toMatchObject({ kind: 'notFound' });
  });
});
