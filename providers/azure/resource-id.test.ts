import { describe, expect, it } from 'vitest';
import { parseNicId, parseProviderID, parseSubnetId, sameResource } from './resource-id.ts';

const sub = '11111111-2222-3333-4444-555555555555';

describe('parseProviderID', () => {
  it('reads VMs and scale-set instances, whatever the case of the segment names', () => {
    expect(
      parseProviderID({
        name: 'n',
        providerID: `azure:///subscriptions/${sub}/resourceGroups/rg-1/providers/Microsoft.Compute/virtualMachines/vm-1`,
      }),
    ).toEqual({ kind: 'vm', subscriptionId: sub, resourceGroup: 'rg-1', name: 'vm-1' });
    expect(
      parseProviderID({
        name: 'n',
        providerID: `azure:///subscriptions/${sub}/resourcegroups/MC_rg/providers/microsoft.compute/virtualmachinescalesets/aks-pool/virtualmachines/3`,
      }),
    ).toEqual({
      kind: 'scaleSetInstance',
      subscriptionId: sub,
      resourceGroup: 'MC_rg',
      scaleSet: 'aks-pool',
      instanceId: '3',
    });
  });

  it('fails terminal, naming the node, for anything else', () => {
    for (const providerID of ['aws:///us-east-1a/i-1', 'azure:///subscriptions/x', '']) {
      expect(() => parseProviderID({ name: 'node-9', providerID })).toThrow(
        expect.objectContaining({ kind: 'terminal', message: expect.stringContaining('node node-9') }),
      );
    }
  });
});

describe('resource IDs', () => {
  it('parses standalone NICs only', () => {
    expect(
      parseNicId(
        `/subscriptions/${sub}/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/nic-1`,
      ),
    ).toMatchObject({
      resourceGroup: 'rg',
      name: 'nic-1',
    });
    expect(
      parseNicId(
        `/subscriptions/${sub}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/ss/virtualMachines/0/networkInterfaces/nic`,
      ),
    ).toBeUndefined();
  });

  it('parses subnets and compares IDs case-insensitively', () => {
    const id = `/subscriptions/${sub}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet/subnets/sn`;
    expect(parseSubnetId(id)).toEqual({ subscriptionId: sub, resourceGroup: 'rg', vnet: 'vnet', name: 'sn' });
    expect(sameResource(id, id.toUpperCase())).toBe(true);
    expect(sameResource(id, undefined)).toBe(false);
  });
});
