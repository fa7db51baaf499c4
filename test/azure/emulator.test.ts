/**
 * @module
 * The ARM emulator's own semantics, driven through the real `@azure/arm-network` client over HTTPS (and
 * once through a bare HTTPS request): etag preconditions, 409 while an operation runs, operations that take
 * several polls, the log of accepted writes, the 256 limit, subnet and reserved-range checks, IPs held
 * elsewhere, authentication.
 */
import { type Agent, request } from 'node:https';
import type { NetworkInterface, NetworkManagementClient } from '@azure/arm-network';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { classifyAzureError } from '../../providers/azure/errors.ts';
import { type AzureEmulator, startAzureEmulator } from '../emulators/azure/index.ts';
import { armFailure } from './arm-failure.ts';
import { emulatorNetworkClient } from './world.ts';

let emulator: AzureEmulator;
let agent: Agent;
let network: NetworkManagementClient;
let nicId: string;
let subnetId: string;
let otherNicId: string;
const RG = 'rg';

beforeAll(async () => {
  emulator = await startAzureEmulator();
  const { cloud } = emulator;
  subnetId = cloud.addSubnet({ resourceGroup: RG, vnet: 'v', name: 's', prefix: '10.2.0.0/22' });
  nicId = cloud.addVm({
    resourceGroup: RG,
    name: 'vm1',
    location: 'westeurope',
    subnetId,
    primaryIP: '10.2.0.4',
  }).nicId;
  otherNicId = cloud.addVm({
    resourceGroup: RG,
    name: 'vm2',
    location: 'westeurope',
    subnetId,
    primaryIP: '10.2.0.5',
  }).nicId;
  ({ agent, network } = emulatorNetworkClient(emulator));
});
afterAll(async () => {
  agent?.destroy();
  await emulator?.close();
});
beforeEach(() => emulator.cloud.reset());

const withIps = (nic: NetworkInterface, ...ips: string[]): NetworkInterface => ({
  ...nic,
  ipConfigurations: [
    ...(nic.ipConfigurations ?? []),
    ...ips.map((ip) => ({
      name: `extra-${ip.replace(/\./g, '-')}`,
      privateIPAddress: ip,
      privateIPAllocationMethod: 'Static',
      subnet: { id: subnetId },
    })),
  ],
});
const put = (nic: NetworkInterface, etag?: string, name = 'vm1-nic') =>
  network.networkInterfaces
    .createOrUpdate(RG, name, nic, {
      updateIntervalInMs: 1,
      ...(etag ? { requestOptions: { headers: { 'If-Match': etag } } } : {}),
    })
    .pollUntilDone();

describe('ARM emulator through the real SDK', () => {
  it('answers a stale If-Match with 412 PreconditionFailedEtagMismatch and a fresh one with success', async () => {
    const nic = await network.networkInterfaces.get(RG, 'vm1-nic');
    await put(withIps(nic, '10.2.0.10'), nic.etag);
    const stale = await armFailure(put(withIps(nic, '10.2.0.11'), nic.etag));
    // NRP's code (kubernetes-sigs/cloud-provider-azure#9729), not the generic PreconditionFailed.
    expect(stale).toMatchObject({ statusCode: 412, code: 'PreconditionFailedEtagMismatch' });
    expect(classifyAzureError(stale, 'x').kind).toBe('conflict');
    expect(emulator.cloud.secondaryIPs(nicId)).toEqual(['10.2.0.10']);
  });

  it('keeps an operation InProgress for the configured polls and answers 409 to a write meanwhile', async () => {
    const { cloud } = emulator;
    cloud.operationPolls = 3;
    const nic = await network.networkInterfaces.get(RG, 'vm1-nic');
    const poller = network.networkInterfaces.createOrUpdate(RG, 'vm1-nic', withIps(nic, '10.2.0.10'), {
      updateIntervalInMs: 20,
    });
    await poller.submitted();
    const busy = await armFailure(put(withIps(nic, '10.2.0.11')));
    expect(busy).toMatchObject({ statusCode: 409, code: 'AnotherOperationInProgress' });
    expect(busy.message).toContain('/operations/');
    const done = await poller.pollUntilDone();
    expect(done.provisioningState).toBe('Succeeded');
    const statuses = cloud.requests.filter((r) => r.path.includes('/operations/')).map((r) => r.status);
    expect(statuses).toEqual([200, 200, 200, 200]);
    expect(cloud.events.map((e) => e.kind)).toEqual(['put-accepted', 'operation-succeeded']);
  });

  it('logs each accepted NIC PUT from its arrival until its operation ended, and a PUT refused for concurrency until its answer', async () => {
    const { cloud } = emulator;
    const nic = await network.networkInterfaces.get(RG, 'vm1-nic');
    const before = performance.now();
    await put(withIps(nic, '10.2.0.10'), nic.etag);
    const after = performance.now();
    expect(await armFailure(put(withIps(nic, '10.2.0.11'), nic.etag))).toMatchObject({ statusCode: 412 });
    expect(cloud.writes).toHaveLength(2);
    const [write, stale] = cloud.writes;
    expect(stale?.interfaceId).toBe(nicId);
    expect(stale!.endedAt).toBeGreaterThanOrEqual(stale!.startedAt);
    expect(stale!.startedAt).toBeGreaterThanOrEqual(write!.endedAt!);
    cloud.writes.splice(1);
    expect(write?.interfaceId).toBe(nicId);
    expect(write!.startedAt).toBeGreaterThanOrEqual(before);
    expect(write!.endedAt).toBeGreaterThan(write!.startedAt);
    expect(write!.endedAt).toBeLessThanOrEqual(after);

    const poller = network.networkInterfaces.createOrUpdate(
      RG,
      'vm2-nic',
      withIps(await network.networkInterfaces.get(RG, 'vm2-nic'), '10.2.0.12'),
      { updateIntervalInMs: 50 },
    );
    await poller.submitted();
    expect(cloud.writes.map((w) => [w.interfaceId, w.endedAt === undefined])).toEqual([
      [nicId, false],
      [otherNicId, true],
    ]);
    await poller.pollUntilDone();
    expect(cloud.writes[1]?.endedAt).toBeGreaterThan(cloud.writes[1]!.startedAt);
    cloud.reset();
    expect(cloud.writes).toEqual([]);
  });

  it('refuses a 257th ipConfiguration with QuotaExceeded, which classifies as capacity', async () => {
    const nic = await network.networkInterfaces.get(RG, 'vm1-nic');
    const ips = emulator.cloud.freeIPs(subnetId, 256);
    const tooMany = await armFailure(put(withIps(nic, ...ips)));
    expect(tooMany).toMatchObject({ statusCode: 400, code: 'QuotaExceeded' });
    expect(classifyAzureError(tooMany, 'x').kind).toBe('capacity');
    await put(withIps(nic, ...ips.slice(0, 255)));
    expect(emulator.cloud.secondaryIPs(nicId)).toHaveLength(255);
  });

  it('refuses IPs outside the subnet, in the reserved range or held by another NIC, naming them', async () => {
    const nic = await network.networkInterfaces.get(RG, 'vm1-nic');
    const outside = await armFailure(put(withIps(nic, '10.9.0.9')));
    expect(outside).toMatchObject({ statusCode: 400, code: 'PrivateIPAddressNotInSubnet' });
    expect(outside.message).toContain('10.9.0.9');
    expect(outside.message).toContain('10.2.0.0/22');
    expect(await armFailure(put(withIps(nic, '10.2.0.2')))).toMatchObject({
      code: 'PrivateIPAddressInReservedRange',
    });
    const held = await armFailure(put(withIps(nic, '10.2.0.5')));
    expect(held).toMatchObject({ statusCode: 400, code: 'PrivateIPAddressIsAllocated' });
    expect(held.message).toContain(otherNicId);
    expect(classifyAzureError(held, 'x').kind).toBe('terminal');
    expect(emulator.cloud.secondaryIPs(nicId)).toEqual([]);
  });

  it('requires a bearer token and an api-version', async () => {
    const status = (path: string, headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${emulator.url}${path}`, { agent, headers }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    const path = new URL(nicId, 'https://x').pathname;
    expect(await status(`${path}?api-version=2026-01-01`, {})).toBe(401);
    expect(await status(path, { authorization: 'Bearer t' })).toBe(400);
    expect(await status(`${path}?api-version=2026-01-01`, { authorization: 'Bearer t' })).toBe(200);
  });
});
