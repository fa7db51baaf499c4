import { describe, expect, it } from 'vitest';
import type { Edit } from '../../src/provider/interface-driver.ts';
import { ownedName } from './ip-configs.ts';
import { planRouteEdits, type RoutePlanInput } from './route-plan.ts';

const route = (ip: string, hop: string, name = ownedName('o', ip)) => ({
  name,
  addressPrefix: `${ip}/32`,
  nextHopType: 'VirtualAppliance',
  nextHopIpAddress: hop,
});
const input = (edits: Edit[], routes = [route('10.2.8.1', '10.2.0.5')]): RoutePlanInput => ({
  owner: 'o',
  where: 'node a',
  routes,
  nextHop: '10.2.0.4',
  nodeSubnet: ['10.2.0.0/24'],
  addressSpace: ['10.2.0.0/16'],
  edits,
});

describe('planRouteEdits', () => {
  it('moves our route to this node by its next hop, and adds new ones', () => {
    const plan = planRouteEdits(
      input([
        { kind: 'add', ip: '10.2.8.1' },
        { kind: 'add', ip: '10.2.8.2' },
      ]),
    );
    expect(plan.changed).toBe(true);
    expect(plan.failed.size).toBe(0);
    expect(plan.routes.map((r) => `${r.addressPrefix}>${r.nextHopIpAddress}`)).toEqual([
      '10.2.8.1/32>10.2.0.4',
      '10.2.8.2/32>10.2.0.4',
    ]);
  });

  it("releases only our routes to this node; another node's route is not its to release", () => {
    const mine = route('10.2.8.3', '10.2.0.4');
    const plan = planRouteEdits(
      input(
        [
          { kind: 'remove', ip: '10.2.8.1' },
          { kind: 'remove', ip: '10.2.8.3' },
        ],
        [route('10.2.8.1', '10.2.0.5'), mine],
      ),
    );
    expect(plan.failed.size).toBe(0);
    expect(plan.routes.map((r) => r.addressPrefix)).toEqual(['10.2.8.1/32']);
  });

  it("refuses another tool's route, the node's own address, the nodes' subnet, and addresses outside the VNet", () => {
    const edits: Edit[] = [
      { kind: 'add', ip: '10.2.8.9' },
      { kind: 'remove', ip: '10.2.0.4' },
      { kind: 'add', ip: '10.2.0.50' },
      { kind: 'add', ip: '192.0.2.1' },
    ];
    const plan = planRouteEdits(input(edits, [route('10.2.8.9', '10.2.0.4', 'someone-elses')]));
    expect(edits.map((e) => plan.failed.get(e)?.code)).toEqual([
      'NotOwned',
      'NotOwned',
      'IPInNodeSubnet',
      'PrivateIPAddressNotInSubnet',
    ]);
    expect(plan.changed).toBe(false);
  });

  it('fails every new route of the batch as capacity past 400 routes, adding none', () => {
    const full = Array.from({ length: 399 }, (_, i) =>
      route(`10.2.${9 + Math.floor(i / 250)}.${i % 250}`, '10.2.0.5'),
    );
    const edits: Edit[] = [
      { kind: 'add', ip: '10.2.8.1' },
      { kind: 'add', ip: '10.2.8.2' },
    ];
    const plan = planRouteEdits(input(edits, full));
    expect(edits.map((e) => plan.failed.get(e)?.kind)).toEqual(['capacity', 'capacity']);
    expect(plan.routes).toHaveLength(399);
  });
});
