import type { NetworkInterfaceIPConfiguration } from '@azure/arm-network';
import { describe, expect, it } from 'vitest';
import {
  allocationNames,
  IP_CONFIGURATIONS_PER_NIC,
  isOwned,
  type NicEdit,
  ownedName,
  planNicEdits,
} from './ip-configs.ts';

const subnet = {
  id: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/sn',
};
const asg = [
  { id: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/applicationSecurityGroups/g' },
];
const primary: NetworkInterfaceIPConfiguration = {
  name: 'ipconfig1',
  privateIPAddress: '10.0.0.4',
  primary: true,
  subnet,
  applicationSecurityGroups: asg,
};
const mine = (
  ip: string,
  extra: Partial<NetworkInterfaceIPConfiguration> = {},
): NetworkInterfaceIPConfiguration => ({
  name: ownedName('cl-1', ip),
  privateIPAddress: ip,
  primary: false,
  subnet,
  ...extra,
});
const foreign: NetworkInterfaceIPConfiguration = {
  name: 'lb-vip',
  privateIPAddress: '10.0.0.9',
  primary: false,
  subnet,
};
const plan = (
  configs: NetworkInterfaceIPConfiguration[],
  edits: NicEdit[],
  subnetPrefixes = ['10.0.0.0/24'],
) => planNicEdits({ owner: 'cl-1', where: 'NIC n', ipConfigurations: configs, subnetPrefixes, edits });

describe('ownership names', () => {
  it('encode the owner and the IP, and only an exact match is ours', () => {
    expect(ownedName('cl-1', '10.0.0.5')).toBe('cloudegress-cl-1-10-0-0-5');
    expect(ownedName('Prod Cluster', 'fd00::5')).toBe('cloudegress-prod-cluster-fd00--5');
    expect(ownedName('a'.repeat(40), '10.0.0.5').length).toBeLessThanOrEqual(80);
    expect(isOwned(mine('10.0.0.5'), 'cl-1')).toBe(true);
    expect(isOwned(mine('10.0.0.5'), 'cl')).toBe(false);
    expect(isOwned({ ...mine('10.0.0.5'), privateIPAddress: '10.0.0.6' }, 'cl-1')).toBe(false);
    expect(isOwned(primary, 'cl-1')).toBe(false);
  });
});

describe('IPv6 egress IPs', () => {
  const plan6 = (configs: NetworkInterfaceIPConfiguration[], edits: NicEdit[]) =>
    plan(configs, edits, ['10.0.0.0/24', 'fd00:db8:0:1::/64']);

  it('adds an IPv6 egress IP as a static ipConfiguration of version IPv6 in the IPv6 prefix', () => {
    const result = plan6([primary], [{ kind: 'add', ip: 'fd00:db8:0:1::10' }]);
    const added = result.ipConfigurations[1];
    expect(result.failed.size).toBe(0);
    expect([
      added?.name,
      added?.privateIPAddressVersion,
      added?.privateIPAllocationMethod,
      added?.primary,
    ]).toEqual(['cloudegress-cl-1-fd00-db8-0-1--10', 'IPv6', 'Static', false]);
    const outside = plan6([primary], [{ kind: 'add', ip: 'fd00:db8:0:2::10' }]);
    expect([...outside.failed.values()][0]).toMatchObject({
      kind: 'terminal',
      code: 'PrivateIPAddressNotInSubnet',
    });
  });

  it('knows its IPv6 ipConfiguration however the address is spelt, when read back or when asked', () => {
    const expanded = mine('fd00:db8:0:1::10', {
      privateIPAddress: 'FD00:0DB8:0000:0001:0000:0000:0000:0010',
    });
    expect(isOwned(expanded, 'cl-1')).toBe(true);
    expect(ownedName('cl-1', 'fd00:db8:0:1:0:0:0:10')).toBe(ownedName('cl-1', 'fd00:db8:0:1::10'));
    const again = plan6([primary, expanded], [{ kind: 'add', ip: 'fd00:db8:0:1::10' }]);
    expect(again.changed).toBe(false);
    expect(again.failed.size).toBe(0);
    const released = plan6([primary, expanded], [{ kind: 'remove', ip: 'fd00:db8:0:1:0:0:0:10' }]);
    expect(released.changed).toBe(true);
    expect(released.ipConfigurations).toEqual([primary]);
  });
});

describe('planNicEdits', () => {
  it('adds a static, non-primary ipConfiguration in the primary subnet with its ASGs', () => {
    const result = plan([primary], [{ kind: 'add', ip: '10.0.0.5', publicAddress: 'pip-id' }]);
    expect(result.changed).toBe(true);
    expect(result.failed.size).toBe(0);
    expect(result.ipConfigurations[1]).toEqual({
      name: 'cloudegress-cl-1-10-0-0-5',
      privateIPAddress: '10.0.0.5',
      privateIPAllocationMethod: 'Static',
      privateIPAddressVersion: 'IPv4',
      primary: false,
      subnet: { id: subnet.id },
      applicationSecurityGroups: asg,
      publicIPAddress: { id: 'pip-id' },
    });
  });

  it('is idempotent: adding what is there and removing what is gone write nothing', () => {
    const result = plan(
      [primary, mine('10.0.0.5')],
      [
        { kind: 'add', ip: '10.0.0.5' },
        { kind: 'remove', ip: '10.0.0.6' },
      ],
    );
    expect(result.changed).toBe(false);
    expect(result.failed.size).toBe(0);
  });

  it('never removes or takes over the primary or another tool ipConfiguration', () => {
    const edits: NicEdit[] = [
      { kind: 'remove', ip: '10.0.0.4' },
      { kind: 'remove', ip: '10.0.0.9' },
      { kind: 'add', ip: '10.0.0.9' },
    ];
    const result = plan([primary, foreign], edits);
    expect(result.changed).toBe(false);
    expect(edits.map((e) => result.failed.get(e)?.kind)).toEqual(['terminal', 'terminal', 'terminal']);
    expect(result.ipConfigurations).toEqual([primary, foreign]);
  });

  it('fails an IP outside the subnet terminal, naming the IP and the subnet', () => {
    const edit: NicEdit = { kind: 'add', ip: '10.9.0.5' };
    const error = plan([primary], [edit]).failed.get(edit);
    expect(error?.kind).toBe('terminal');
    expect(error?.message).toContain('10.9.0.5');
    expect(error?.message).toContain('10.0.0.0/24');
  });

  it('fails every new IP with capacity past 256 and adds none of them', () => {
    const full = [
      primary,
      ...Array.from({ length: IP_CONFIGURATIONS_PER_NIC - 2 }, (_, i) => ({ ...foreign, name: `f${i}` })),
    ];
    const edits: NicEdit[] = [
      { kind: 'add', ip: '10.0.0.20' },
      { kind: 'add', ip: '10.0.0.21' },
    ];
    const result = plan(full, edits);
    expect(result.changed).toBe(false);
    expect(edits.map((e) => result.failed.get(e)?.kind)).toEqual(['capacity', 'capacity']);
  });

  it('reports the public IP of a removed ipConfiguration and replaces a changed one', () => {
    const removed = plan(
      [primary, mine('10.0.0.5', { publicIPAddress: { id: 'pip-1' } })],
      [{ kind: 'remove', ip: '10.0.0.5' }],
    );
    expect(removed.ipConfigurations).toEqual([primary]);
    expect(removed.removedPublicAddresses.get('10.0.0.5')).toBe('pip-1');
    const swapped = plan(
      [primary, mine('10.0.0.5', { publicIPAddress: { id: 'pip-1' } })],
      [{ kind: 'add', ip: '10.0.0.5', publicAddress: 'pip-2' }],
    );
    expect(swapped.changed).toBe(true);
    expect(swapped.ipConfigurations[1]?.publicIPAddress).toEqual({ id: 'pip-2' });
  });
});

describe('allocations', () => {
  it('adds one Dynamic ipConfiguration per name, once, and owns them', () => {
    const names = allocationNames('cl-1', 2);
    expect(names.every((n) => /^cloudegress-cl-1-a[0-9a-f]{8}$/.test(n))).toBe(true);
    const first = plan([primary], [{ kind: 'allocate', names }]);
    expect(first.changed).toBe(true);
    expect(first.ipConfigurations.slice(1).map((c) => [c.name, c.privateIPAllocationMethod])).toEqual(
      names.map((n) => [n, 'Dynamic']),
    );
    const picked = first.ipConfigurations.map((c, i) =>
      i ? { ...c, privateIPAddress: `10.0.0.${10 + i}` } : c,
    );
    expect(plan(picked, [{ kind: 'allocate', names }]).changed).toBe(false);
    expect(picked.slice(1).every((c) => isOwned(c, 'cl-1'))).toBe(true);
    expect(picked.slice(1).some((c) => isOwned(c, 'cl'))).toBe(false);
    const pinned = plan(picked, [{ kind: 'pin', names }]);
    expect(pinned.ipConfigurations.slice(1).map((c) => c.privateIPAllocationMethod)).toEqual([
      'Static',
      'Static',
    ]);
  });

  it('counts allocations against the 256 limit', () => {
    const full = [
      primary,
      ...Array.from({ length: IP_CONFIGURATIONS_PER_NIC - 2 }, (_, i) => ({ ...foreign, name: `f${i}` })),
    ];
    const edit: NicEdit = { kind: 'allocate', names: allocationNames('cl-1', 2) };
    expect(plan(full, [edit]).failed.get(edit)?.kind).toBe('capacity');
  });
});
