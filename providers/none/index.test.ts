import { describe, expect, it } from 'vitest';
import { createNoneProvider } from './index.ts';

const a = { name: 'a', providerID: '' };
const b = { name: 'b', providerID: '' };

describe('none provider', () => {
  it('keeps the placement it is given, moves and releases', async () => {
    const p = createNoneProvider({ owner: 't' }, { subnets: ['192.168.10.0/24'] });
    expect(
      (await p.apply({ changes: [{ kind: 'assign', ip: '192.168.10.5', node: a }] })).outcomes[0]?.ok,
    ).toBe(true);
    expect(await p.listAssignments([a, b])).toEqual([{ ip: '192.168.10.5', node: 'a', interfaceId: 'a' }]);
    await p.apply({ changes: [{ kind: 'assign', ip: '192.168.10.5', node: b, from: a }] });
    expect((await p.listAssignments([a, b])).map((x) => x.node)).toEqual(['b']);
    expect((await p.describeNode(b)).ownedIPs).toEqual(['192.168.10.5']);
    await p.apply({ changes: [{ kind: 'release', ip: '192.168.10.5', node: b }] });
    expect(await p.listAssignments([a, b])).toEqual([]);
  });

  it('refuses IPs outside its subnets and cloud allocation, with clear messages', async () => {
    const p = createNoneProvider({ owner: 't' }, { subnets: ['192.168.10.0/24'] });
    const { outcomes } = await p.apply({
      changes: [
        { kind: 'assign', ip: '10.1.1.1', node: a },
        { kind: 'allocate', count: 1, node: a },
      ],
    });
    expect(outcomes.map((o) => (o.ok ? 'ok' : `${o.error.kind}: ${o.error.message}`))).toEqual([
      'terminal: 10.1.1.1 is outside the configured subnets (192.168.10.0/24)',
      'terminal: the none provider cannot pick IPs: list them in spec.ips instead of cloudAllocated',
    ]);
  });
});
