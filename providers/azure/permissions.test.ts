import { describe, expect, it } from 'vitest';
import { ALL_ACTIONS, holds } from './permissions.ts';

describe('holds', () => {
  it('matches wildcards case-insensitively and lets notActions of the same entry subtract', () => {
    const entries = [
      {
        actions: ['Microsoft.Network/*', '*/read'],
        notActions: ['microsoft.network/networkInterfaces/write'],
      },
    ];
    expect(holds(entries, 'Microsoft.Network/virtualNetworks/subnets/join/action')).toBe(true);
    expect(holds(entries, 'Microsoft.Compute/virtualMachines/read')).toBe(true);
    expect(holds(entries, 'Microsoft.Network/networkInterfaces/write')).toBe(false);
    // Another role that grants it wins: NotActions are not deny assignments.
    expect(
      holds(
        [...entries, { actions: ['Microsoft.Network/networkInterfaces/write'] }],
        'Microsoft.Network/networkInterfaces/write',
      ),
    ).toBe(true);
    expect(holds([], 'Microsoft.Network/networkInterfaces/read')).toBe(false);
  });

  it('lists every action once, sorted', () => {
    expect(ALL_ACTIONS).toEqual([...new Set(ALL_ACTIONS)].sort());
    expect(ALL_ACTIONS).toContain('Microsoft.Network/virtualNetworks/subnets/join/action');
  });
});
