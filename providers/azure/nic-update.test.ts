import type { NetworkInterface } from '@azure/arm-network';
import { describe, expect, it } from 'vitest';
import type { Edit } from '../../src/provider/interface-driver.ts';
import { KeyedLock } from '../../src/provider/keyed-lock.ts';
import type { AzureApi } from './api.ts';
import { MoveFeature, MoveWriter } from './ip-moves.ts';

/** An API call these tests never make. */
const unused = async (): Promise<never> => {
  throw new Error('not used');
};

import { mentions } from './errors.ts';
import { type NicTarget, nicWrite } from './nic-update.ts';

describe('mentions', () => {
  it('finds an IP as a whole address only', () => {
    const message = 'IP configuration x is using the private IP address 10.0.0.5 which is already allocated.';
    expect(mentions(message, '10.0.0.5')).toBe(true);
    expect(mentions('address 10.0.0.50 is taken', '10.0.0.5')).toBe(false);
    expect(mentions('address 110.0.0.5 is taken', '10.0.0.5')).toBe(false);
    expect(mentions('ends with 10.0.0.5.', '10.0.0.5')).toBe(true);
    expect(mentions('prefix 10.0.0.5/32', '10.0.0.5')).toBe(true);
    expect(mentions('v6 fd00::50 here', 'fd00::5')).toBe(false);
  });
});

describe('KeyedLock', () => {
  it('runs work for one key one at a time, in order, and other keys alongside', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const step = (name: string, ms: number) => async () => {
      log.push(`${name} start`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`${name} end`);
      return name;
    };
    const failing = lock.run('nic-1', async () => {
      log.push('boom');
      throw new Error('boom');
    });
    const results = await Promise.allSettled([
      failing,
      lock.run('nic-1', step('a1', 20)),
      lock.run('nic-1', step('a2', 1)),
      lock.run('nic-2', step('b1', 5)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(log.indexOf('a1 end')).toBeLessThan(log.indexOf('a2 start'));
    expect(log.indexOf('b1 end')).toBeLessThan(log.indexOf('a1 end'));
  });
});

/**
 * A scripted NIC for one write attempt: PUTs store the body (Dynamic ipConfigurations get the next free IP)
 * unless `refusals` holds an error for that PUT (by number, from 1).
 */
function scriptedNic(refusals: ReadonlyMap<number, unknown> = new Map()) {
  const subnetId =
    '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/sn';
  let nic: NetworkInterface = {
    id: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/nic-1',
    etag: 'W/"1"',
    provisioningState: 'Succeeded',
    ipConfigurations: [
      { name: 'ipconfig1', primary: true, privateIPAddress: '10.0.0.4', subnet: { id: subnetId } },
    ],
  };
  let puts = 0;
  let free = 20;
  const api: AzureApi = {
    getVm: async () => ({ location: 'westeurope', zones: [], nics: [] }),
    getNic: async () => structuredClone(nic),
    getSubnetPrefixes: async () => ['10.0.0.0/24'],
    moveIpConfigurations: unused,
    getSubnet: unused,
    getVnet: unused,
    getScaleSetNic: unused,
    getRouteTable: unused,
    putRouteTable: unused,
    listPermissions: unused,
    putNic: async (_ref, body, etag) => {
      puts++;
      const refusal = refusals.get(puts);
      if (refusal) throw refusal;
      if (etag !== nic.etag) throw Object.assign(new Error('stale'), { statusCode: 412 });
      nic = {
        ...structuredClone(body),
        etag: `W/"${puts + 1}"`,
        ipConfigurations: (body.ipConfigurations ?? []).map((c) =>
          c.privateIPAddress ? c : { ...c, privateIPAddress: `10.0.0.${free++}` },
        ),
      };
      return structuredClone(nic);
    },
  };
  const target: NicTarget = {
    kind: 'nic',
    node: { name: 'gw-1', providerID: 'azure:///x' },
    nic: { id: nic.id!, subscriptionId: 's', resourceGroup: 'rg', name: 'nic-1' },
    zone: 'westeurope',
  };
  return { api, target, nic: () => nic, puts: () => puts };
}

/** nicWrite's options over one NIC's calls. */
const options = (api: AzureApi) => {
  const feature = new MoveFeature();
  return { owner: 'o', apiFor: () => api, feature, moves: new MoveWriter(feature) };
};

describe('nicWrite', () => {
  const add: Edit = { kind: 'add', ip: '10.0.0.10' };
  const allocate: Edit = { kind: 'allocate', count: 2 };

  it('adds, allocates and pins in one attempt, and a repeat changes nothing more', async () => {
    const cloud = scriptedNic();
    const attempt = nicWrite(options(cloud.api), cloud.target, [add, allocate]);
    const first = await attempt();
    expect(first.failed?.size).toBe(0);
    expect(first.allocated?.get(allocate)).toEqual(['10.0.0.20', '10.0.0.21']);
    expect(cloud.puts()).toBe(2);
    const again = await attempt();
    expect(again.allocated?.get(allocate)).toEqual(['10.0.0.20', '10.0.0.21']);
    expect(cloud.puts()).toBe(2);
    const configs = cloud.nic().ipConfigurations ?? [];
    expect(configs.map((c) => [c.privateIPAddress, c.privateIPAllocationMethod])).toEqual([
      ['10.0.0.4', undefined],
      ['10.0.0.10', 'Static'],
      ['10.0.0.20', 'Static'],
      ['10.0.0.21', 'Static'],
    ]);
  });

  it('fails only the allocations when the pin is refused for good; throws when a retry may help, and the retry pins', async () => {
    const refused = Object.assign(new Error('The request is invalid.'), {
      statusCode: 400,
      code: 'InvalidRequest',
    });
    const cloud = scriptedNic(new Map([[2, refused]]));
    const result = await nicWrite(options(cloud.api), cloud.target, [add, allocate])();
    expect(result.failed?.get(add)).toBeUndefined();
    expect(result.failed?.get(allocate)).toMatchObject({ kind: 'terminal', code: 'InvalidRequest' });
    expect(cloud.nic().ipConfigurations?.map((c) => c.privateIPAddress)).toContain('10.0.0.10');

    const busy = Object.assign(new Error('busy'), { statusCode: 503 });
    const other = scriptedNic(new Map([[2, busy]]));
    const attempt = nicWrite(options(other.api), other.target, [add, allocate]);
    await expect(attempt()).rejects.toMatchObject({ kind: 'transient' });
    const repeat = await attempt();
    expect(repeat.allocated?.get(allocate)).toHaveLength(2);
    expect(other.nic().ipConfigurations).toHaveLength(4); // nothing allocated twice
  });
});
