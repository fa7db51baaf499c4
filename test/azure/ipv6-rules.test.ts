/**
 * @module
 * The ARM emulator's rules for IPv6 ipConfigurations (test/emulators/azure/nic-rules.ts), driven through the real
 * `@azure/arm-network` client over HTTPS: each rule refuses bad input with the code Azure answers, and accepts what
 * Azure documents as valid. The world: a dual-stack subnet (10.3.0.0/24 and fd00:db8:3:1::/64), an IPv4-only
 * subnet, two VMs whose NICs have a primary IPv4 ipConfiguration, an IPv4 and an IPv6 public IP.
 */
import type { Agent } from 'node:https';
import type {
  NetworkInterface,
  NetworkInterfaceIPConfiguration,
  NetworkManagementClient,
} from '@azure/arm-network';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AzureEmulator, startAzureEmulator } from '../emulators/azure/index.ts';
import { armFailure } from './arm-failure.ts';
import { emulatorNetworkClient } from './world.ts';

const RG = 'rg-v6';
let emulator: AzureEmulator;
let agent: Agent;
let network: NetworkManagementClient;
let dualSubnetId: string;
let v4SubnetId: string;
let nicId: string;
let otherNicId: string;
let publicV4: string;
let publicV6: string;

beforeAll(async () => {
  emulator = await startAzureEmulator();
  const { cloud } = emulator;
  cloud.addVnet({
    resourceGroup: RG,
    name: 'vnet-ds',
    location: 'westeurope',
    addressPrefixes: ['10.3.0.0/16', 'fd00:db8:3::/48'],
  });
  dualSubnetId = cloud.addSubnet({
    resourceGroup: RG,
    vnet: 'vnet-ds',
    name: 'dual',
    prefix: '10.3.0.0/24',
    ipv6Prefix: 'fd00:db8:3:1::/64',
  });
  v4SubnetId = cloud.addSubnet({ resourceGroup: RG, vnet: 'vnet-ds', name: 'v4', prefix: '10.3.9.0/24' });
  const vm = (name: string, primaryIP: string) =>
    cloud.addVm({ resourceGroup: RG, name, location: 'westeurope', subnetId: dualSubnetId, primaryIP }).nicId;
  nicId = vm('vm1', '10.3.0.4');
  otherNicId = vm('vm2', '10.3.0.5');
  publicV4 = cloud.addPublicIp({ resourceGroup: RG, name: 'pip-v4', ipAddress: '203.0.113.20' });
  publicV6 = cloud.addPublicIp({ resourceGroup: RG, name: 'pip-v6', ipAddress: '2001:db8:ff::20' });
  ({ agent, network } = emulatorNetworkClient(emulator));
});
afterAll(async () => {
  agent?.destroy();
  await emulator?.close();
});
beforeEach(() => {
  emulator.cloud.reset();
  emulator.cloud.features.clear();
});

const get = (name = 'vm1-nic') => network.networkInterfaces.get(RG, name);
const put = (nic: NetworkInterface, name = 'vm1-nic') =>
  network.networkInterfaces.createOrUpdate(RG, name, nic, { updateIntervalInMs: 1 }).pollUntilDone();
/** The NIC as read, plus `configs`. */
const withConfigs = async (...configs: NetworkInterfaceIPConfiguration[]) => {
  const nic = await get();
  return { ...nic, ipConfigurations: [...(nic.ipConfigurations ?? []), ...configs] };
};
const v6 = (ip: string, extra: Partial<NetworkInterfaceIPConfiguration> = {}) => ({
  name: `v6-${ip.replace(/:/g, '-')}`,
  privateIPAddress: ip,
  privateIPAllocationMethod: 'Static',
  privateIPAddressVersion: 'IPv6',
  subnet: { id: dualSubnetId },
  ...extra,
});

describe('Azure emulator: IPv6 ipConfigurations', () => {
  it('a dual-stack subnet reads back both prefixes in addressPrefixes', async () => {
    const subnet = await network.subnets.get(RG, 'vnet-ds', 'dual');
    expect(subnet.addressPrefixes).toEqual(['10.3.0.0/24', 'fd00:db8:3:1::/64']);
    expect(subnet.addressPrefix).toBeUndefined();
    expect((await network.subnets.get(RG, 'vnet-ds', 'v4')).addressPrefix).toBe('10.3.9.0/24');
  });

  it("a subnet's IPv6 prefix must be a /64", () => {
    expect(() =>
      emulator.cloud.addSubnet({
        resourceGroup: RG,
        vnet: 'vnet-ds',
        name: 'wide',
        prefix: '10.3.8.0/24',
        ipv6Prefix: 'fd00:db8:3:100::/56',
      }),
    ).toThrow(/\/64/);
  });

  it('takes a static IPv6 secondary ipConfiguration in the IPv6 prefix, version IPv6', async () => {
    const stored = await put(await withConfigs(v6('fd00:db8:3:1::10')));
    const config = stored.ipConfigurations?.find((c) => c.privateIPAddress === 'fd00:db8:3:1::10');
    expect(config).toMatchObject({ privateIPAddressVersion: 'IPv6', privateIPAllocationMethod: 'Static' });
    expect(emulator.cloud.secondaryIPs(nicId)).toEqual(['fd00:db8:3:1::10']);
  });

  it('an IPv6 address in an ipConfiguration that names no version (IPv4) is not in its subnet', async () => {
    const config = v6('fd00:db8:3:1::10');
    delete (config as { privateIPAddressVersion?: string }).privateIPAddressVersion;
    const error = await armFailure(put(await withConfigs(config)));
    expect(error).toMatchObject({ statusCode: 400, code: 'PrivateIPAddressNotInSubnet' });
    expect(error.message).toContain('10.3.0.0/24');
  });

  it('a static IPv6 address outside the subnet IPv6 prefix is refused PrivateIPAddressNotInSubnet', async () => {
    const error = await armFailure(put(await withConfigs(v6('fd00:db8:3:2::10'))));
    expect(error).toMatchObject({ statusCode: 400, code: 'PrivateIPAddressNotInSubnet' });
    expect(error.message).toContain('fd00:db8:3:1::/64');
    expect(emulator.cloud.secondaryIPs(nicId)).toEqual([]);
  });

  it('an IPv6 ipConfiguration in a subnet without an IPv6 prefix is refused PrivateIPAddressNotInSubnet', async () => {
    const error = await armFailure(
      put(await withConfigs(v6('fd00:db8:3:1::10', { subnet: { id: v4SubnetId } }))),
    );
    expect(error).toMatchObject({ statusCode: 400, code: 'PrivateIPAddressNotInSubnet' });
    expect(error.message).toContain('no IPv6 address prefix');
  });

  it("the IPv6 prefix's first four addresses are reserved", async () => {
    const error = await armFailure(put(await withConfigs(v6('fd00:db8:3:1::3'))));
    expect(error).toMatchObject({ statusCode: 400, code: 'PrivateIPAddressInReservedRange' });
  });

  it('a Dynamic IPv6 ipConfiguration gets the lowest free address of the IPv6 prefix', async () => {
    const dynamic = (name: string) => ({
      name,
      privateIPAllocationMethod: 'Dynamic',
      privateIPAddressVersion: 'IPv6',
      subnet: { id: dualSubnetId },
    });
    await put(await withConfigs(v6('fd00:db8:3:1::4')));
    const stored = await put(await withConfigs(dynamic('dyn-1')));
    const picked = stored.ipConfigurations?.find((c) => c.name === 'dyn-1');
    expect(picked).toMatchObject({ privateIPAddress: 'fd00:db8:3:1::5', privateIPAddressVersion: 'IPv6' });
    const none = await armFailure(
      put(await withConfigs({ ...dynamic('dyn-2'), subnet: { id: v4SubnetId } })),
    );
    expect(none).toMatchObject({ statusCode: 400, code: 'SubnetIsFull' });
  });

  it('the primary ipConfiguration must be IPv4', async () => {
    const nic = await get();
    const [primary, ...rest] = nic.ipConfigurations ?? [];
    const error = await armFailure(
      put({
        ...nic,
        ipConfigurations: [
          { ...primary!, privateIPAddress: 'fd00:db8:3:1::20', privateIPAddressVersion: 'IPv6' },
          ...rest,
        ],
      }),
    );
    expect(error).toMatchObject({ statusCode: 400, code: 'IPv6IpConfigurationCannotBePrimary' });
    expect(emulator.cloud.primaryIP(nicId)).toBe('10.3.0.4');
  });

  it("a public IP must have its ipConfiguration's version", async () => {
    const error = await armFailure(
      put(await withConfigs(v6('fd00:db8:3:1::10', { publicIPAddress: { id: publicV4 } }))),
    );
    expect(error).toMatchObject({
      statusCode: 400,
      code: 'IPVersionForPublicIpAndNicIpConfigurationMustMatch',
    });
    expect(error.message).toContain("version 'IPv4'");
    const stored = await put(
      await withConfigs(v6('fd00:db8:3:1::10', { publicIPAddress: { id: publicV6 } })),
    );
    expect(stored.ipConfigurations?.at(-1)?.publicIPAddress?.id).toBe(publicV6);
  });

  it('an IPv6 address held by another NIC is refused, whatever its spelling', async () => {
    await put(await withConfigs(v6('fd00:db8:3:1::10')));
    const other = await get('vm2-nic');
    const error = await armFailure(
      put(
        { ...other, ipConfigurations: [...(other.ipConfigurations ?? []), v6('fd00:db8:3:1:0:0:0:10')] },
        'vm2-nic',
      ),
    );
    expect(error).toMatchObject({ statusCode: 400, code: 'PrivateIPAddressIsAllocated' });
    expect(emulator.cloud.secondaryIPs(otherNicId)).toEqual([]);
  });

  it('moveIpConfigurations moves an IPv6 ipConfiguration, version and all', async () => {
    emulator.cloud.features.add('AllowMoveIpConfigurations');
    const stored = await put(await withConfigs(v6('fd00:db8:3:1::10')));
    const source = stored.ipConfigurations!.find((c) => c.privateIPAddress === 'fd00:db8:3:1::10')!;
    await network.virtualNetworks
      .moveIpConfigurations(
        RG,
        'vnet-ds',
        {
          moveIpConfigurationItems: [
            {
              sourceIpConfiguration: { id: source.id! },
              targetIpConfiguration: { id: `${otherNicId}/ipConfigurations/${source.name}` },
            },
          ],
        },
        { updateIntervalInMs: 1 },
      )
      .pollUntilDone();
    expect(emulator.cloud.secondaryIPs(nicId)).toEqual([]);
    const moved = emulator.cloud.nic(otherNicId).properties.ipConfigurations.at(-1)!;
    expect(moved.properties).toMatchObject({
      privateIPAddress: 'fd00:db8:3:1::10',
      privateIPAddressVersion: 'IPv6',
    });
  });
});
