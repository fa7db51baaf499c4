import { describe, expect, it } from 'vitest';
import type { Edit } from '../../src/provider/interface-driver.ts';
import type { GceNic, GceSubnetwork } from './client.ts';
import {
  allocatedIPs,
  egressRangeName,
  isOwnedAlias,
  MAX_ALIAS_RANGES,
  planAssignments,
  planEdits,
  planReleases,
} from './nic-plan.ts';

const RANGE = 'cloud-egress-prod';
const subnet: GceSubnetwork = {
  name: 'nodes',
  ipCidrRange: '10.0.0.0/24',
  secondaryIpRanges: [
    { rangeName: RANGE, ipCidrRange: '10.1.0.0/24' },
    { rangeName: 'pods', ipCidrRange: '10.100.0.0/16' },
  ],
};
const nic = (aliases: GceNic['aliasIpRanges']): GceNic => ({
  name: 'nic0',
  networkIP: '10.0.0.2',
  fingerprint: 'f',
  subnetwork: 'projects/p/regions/r/subnetworks/nodes',
  aliasIpRanges: aliases,
});
const ctx = (n: GceNic, status = 'RUNNING') => ({ nic: n, node: 'gw-1', rangeName: RANGE, status });
const pods = { ipCidrRange: '10.100.1.0/24', subnetworkRangeName: 'pods' };
const mine = (ip: string) => ({ ipCidrRange: `${ip}/32`, subnetworkRangeName: RANGE });

describe('egressRangeName', () => {
  it('makes a valid secondary range name from any owner', () => {
    expect(egressRangeName('prod')).toBe('cloud-egress-prod');
    expect(egressRangeName('Team_A/cluster.1')).toBe('cloud-egress-team-a-cluster-1');
    expect(egressRangeName('x'.repeat(80))).toHaveLength(63);
  });
});

describe('ownership', () => {
  it('owns only single addresses from its own range', () => {
    expect(isOwnedAlias(mine('10.1.0.5'), RANGE)).toBe(true);
    expect(isOwnedAlias({ ipCidrRange: '10.1.0.5', subnetworkRangeName: RANGE }, RANGE)).toBe(true);
    expect(isOwnedAlias({ ipCidrRange: '10.1.0.8/29', subnetworkRangeName: RANGE }, RANGE)).toBe(false);
    expect(isOwnedAlias({ ipCidrRange: '10.0.0.5/32' }, RANGE)).toBe(false);
    expect(isOwnedAlias(pods, RANGE)).toBe(false);
  });
});

describe('planReleases', () => {
  it('removes owned IPs, ignores absent ones, refuses everything else', () => {
    const n = nic([pods, mine('10.1.0.5'), { ipCidrRange: '10.0.0.9/32' }]);
    const d = planReleases(
      ctx(n),
      new Map([
        ['owned', '10.1.0.5'],
        ['absent', '10.1.0.6'],
        ['pod', '10.100.1.7'],
        ['foreign', '10.0.0.9'],
        ['primary', '10.0.0.2'],
      ]),
    );
    expect(d.aliasIpRanges).toEqual([pods, { ipCidrRange: '10.0.0.9/32' }]);
    expect([...d.failed.keys()].sort()).toEqual(['foreign', 'pod', 'primary']);
    expect(d.failed.get('pod')?.message).toContain('10.100.1.7');
  });

  it('writes nothing when nothing is owned', () => {
    expect(planReleases(ctx(nic([pods])), new Map([['x', '10.1.0.5']])).aliasIpRanges).toBeUndefined();
  });
});

describe('planAssignments', () => {
  it('adds /32s from the egress range and keeps every existing range', () => {
    const d = planAssignments(
      ctx(nic([pods, mine('10.1.0.5')])),
      subnet,
      new Map([
        ['a', '10.1.0.5'],
        ['b', '10.1.0.6'],
      ]),
    );
    expect(d.failed.size).toBe(0);
    expect(d.aliasIpRanges).toEqual([pods, mine('10.1.0.5'), mine('10.1.0.6')]);
  });

  it('is idempotent: an owned IP already there needs no write', () => {
    expect(
      planAssignments(ctx(nic([mine('10.1.0.5')])), subnet, new Map([['a', '10.1.0.5']])).aliasIpRanges,
    ).toBeUndefined();
  });

  it('refuses IPs outside the egress range with a message naming IP, range and subnetwork', () => {
    const d = planAssignments(
      ctx(nic([])),
      subnet,
      new Map([
        ['primary', '10.0.0.50'],
        ['far', '192.0.2.1'],
        ['v6', 'fd00::1'],
      ]),
    );
    expect(d.aliasIpRanges).toBeUndefined();
    expect(d.failed.get('primary')?.message).toBe(
      '10.0.0.50 is outside the egress range cloud-egress-prod (10.1.0.0/24) of subnetwork nodes on node gw-1 (it is in the primary range 10.0.0.0/24)',
    );
    expect(d.failed.get('far')?.kind).toBe('terminal');
    expect(d.failed.get('v6')?.message).toContain('only IPv4');
  });

  it('refuses an IP inside a range it does not own on the NIC', () => {
    const d = planAssignments(
      ctx(nic([{ ipCidrRange: '10.1.0.16/28', subnetworkRangeName: RANGE }])),
      subnet,
      new Map([['a', '10.1.0.17']]),
    );
    expect(d.failed.get('a')?.message).toContain('not owned');
  });

  it('past the limit fails every addition with capacity and writes nothing', () => {
    const full = Array.from({ length: MAX_ALIAS_RANGES - 1 }, (_, i) => mine(`10.1.0.${i + 1}`));
    const d = planAssignments(
      ctx(nic(full)),
      subnet,
      new Map([
        ['a', '10.1.0.200'],
        ['b', '10.1.0.201'],
      ]),
    );
    expect(d.aliasIpRanges).toBeUndefined();
    expect([...d.failed.values()].map((e) => e.kind)).toEqual(['capacity', 'capacity']);
  });

  it('explains how to create the egress range when the subnetwork has none', () => {
    const d = planAssignments(
      ctx(nic([])),
      { ...subnet, secondaryIpRanges: [] },
      new Map([['a', '10.1.0.5']]),
    );
    expect(d.failed.get('a')?.message).toContain('--add-secondary-ranges=cloud-egress-prod=CIDR');
  });

  it('allocations ask GCP for /32s from the egress range', () => {
    const d = planAssignments(ctx(nic([])), subnet, new Map(), new Map([['alloc', 2]]));
    expect(d.aliasIpRanges).toEqual([
      { ipCidrRange: '/32', subnetworkRangeName: RANGE },
      { ipCidrRange: '/32', subnetworkRangeName: RANGE },
    ]);
  });
});

describe('planEdits', () => {
  const remove = (ip: string): Edit => ({ kind: 'remove', ip });
  const add = (ip: string): Edit => ({ kind: 'add', ip });

  it('decides removes without the subnetwork', () => {
    const gone = remove('10.1.0.5');
    const pod = remove('10.100.1.7');
    const d = planEdits(ctx(nic([pods, mine('10.1.0.5')])), [gone, pod], undefined);
    expect(d.aliasIpRanges).toEqual([pods]);
    expect([...d.failed.keys()]).toEqual([pod]);
  });

  it('adds and allocates on what the removes leave, in one list', () => {
    const alloc: Edit = { kind: 'allocate', count: 1 };
    const outside = add('10.0.0.50');
    const d = planEdits(
      ctx(nic([pods, mine('10.1.0.5')])),
      [remove('10.1.0.5'), add('10.1.0.6'), outside, alloc],
      subnet,
    );
    expect(d.aliasIpRanges).toEqual([
      pods,
      mine('10.1.0.6'),
      { ipCidrRange: '/32', subnetworkRangeName: RANGE },
    ]);
    expect([...d.failed.keys()]).toEqual([outside]);
  });

  it('keeps the removes when the additions fail capacity', () => {
    const full = Array.from({ length: MAX_ALIAS_RANGES }, (_, i) => mine(`10.1.0.${i + 1}`));
    const more = [add('10.1.0.201'), add('10.1.0.202')];
    const d = planEdits(ctx(nic(full)), [remove('10.1.0.1'), ...more], subnet);
    expect(d.aliasIpRanges).toEqual(full.slice(1));
    expect(more.map((e) => d.failed.get(e)?.kind)).toEqual(['capacity', 'capacity']);
  });

  it.each(['STOPPING', 'TERMINATED', 'SUSPENDED'])(
    'on a %s instance: removes as usual, every add and allocation fails capacity',
    (status) => {
      const alloc: Edit = { kind: 'allocate', count: 1 };
      const fresh = add('10.1.0.6');
      const d = planEdits(
        ctx(nic([pods, mine('10.1.0.5')]), status),
        [remove('10.1.0.5'), fresh, alloc],
        subnet,
      );
      expect(d.aliasIpRanges).toEqual([pods]);
      expect([...d.failed.keys()]).toEqual([fresh, alloc]);
      expect(d.failed.get(fresh)).toMatchObject({ kind: 'capacity', code: 'instanceNotRunning' });
      expect(d.failed.get(fresh)?.message).toContain(status);
    },
  );

  it('needs the subnetwork for additions', () => {
    expect(() => planEdits(ctx(nic([])), [add('10.1.0.6')], undefined)).toThrow(/subnetwork/);
  });
});

describe('allocatedIPs', () => {
  it('gives each allocation, in order, the new owned IPs no add asked for', () => {
    const first: Edit = { kind: 'allocate', count: 2 };
    const refused: Edit = { kind: 'allocate', count: 1 };
    const second: Edit = { kind: 'allocate', count: 1 };
    const asked: Edit = { kind: 'add', ip: '10.1.0.9' };
    const before = nic([pods, mine('10.1.0.5')]);
    const after = nic([
      pods,
      mine('10.1.0.5'),
      mine('10.1.0.9'),
      mine('10.1.0.1'),
      mine('10.1.0.2'),
      mine('10.1.0.3'),
    ]);
    const got = allocatedIPs(
      before,
      after,
      RANGE,
      [first, refused, asked, second],
      new Map([[refused, 'x']]),
    );
    expect([...got]).toEqual([
      [first, ['10.1.0.1', '10.1.0.2']],
      [second, ['10.1.0.3']],
    ]);
  });
});
