import { describe, expect, it } from 'vitest';
import { batchFailures, batchPhases, isAbsentText } from './ip-batch.ts';

describe('batchFailures', () => {
  it('maps each "Command failed -:N" to the error printed before it (iproute2 6.1 output)', () => {
    const stderr = [
      'RTNETLINK answers: No such process',
      'Command failed -:1',
      'Error: ipv4: Address not found.',
      'Command failed -:2',
      'Cannot find device "nosuchdev"',
      'Command failed -:4',
      '',
    ].join('\n');
    expect(batchFailures(stderr)).toEqual(
      new Map([
        [1, 'RTNETLINK answers: No such process'],
        [2, 'Error: ipv4: Address not found.'],
        [4, 'Cannot find device "nosuchdev"'],
      ]),
    );
  });

  it('gives undefined when stderr has no marker (ip ended the batch itself)', () => {
    expect(batchFailures('RTNETLINK answers: No such file or directory\n')).toBeUndefined();
  });

  it('tells absence from other errors', () => {
    expect(isAbsentText('RTNETLINK answers: No such process')).toBe(true);
    expect(isAbsentText('Error: FIB table does not exist.')).toBe(true);
    expect(isAbsentText('RTNETLINK answers: File exists')).toBe(false);
    expect(isAbsentText('Error: either "to" is duplicate, or "bogus" is a garbage.')).toBe(false);
  });
});

describe('batchPhases', () => {
  const fdbAdd = {
    tool: 'bridge',
    args: ['fdb', 'replace', '02:ce:0a:00:00:03', 'dev', 'cegress0'],
  } as const;
  const fdbDel = { tool: 'bridge', args: ['fdb', 'del', '02:ce:0a:00:00:02', 'dev', 'cegress0'] } as const;
  const neigh = { tool: 'ip', args: ['neigh', 'replace', '10.0.0.3'] } as const;
  const route = { tool: 'ip', args: ['route', 'replace', 'default', 'via', '10.0.0.3'] } as const;
  const flush = { tool: 'ip', args: ['neigh', 'flush', 'to', '10.0.0.2'] } as const;
  const neigh6 = { tool: 'ip6', args: ['neigh', 'replace', 'fe80::a00:3'] } as const;
  const route6 = { tool: 'ip6', args: ['route', 'replace', 'default', 'via', 'fe80::a00:3'] } as const;

  it('runs the FDB entries added first, every ip line next (IPv4, then IPv6), and the FDB entries deleted last', () => {
    expect(batchPhases([fdbAdd, neigh6, neigh, route6, route, flush, fdbDel])).toEqual([
      { tool: 'bridge', lines: [fdbAdd] },
      { tool: 'ip', lines: [neigh, route, flush] },
      { tool: 'ip6', lines: [neigh6, route6] },
      { tool: 'bridge', lines: [fdbDel] },
    ]);
  });

  it('leaves out empty phases', () => {
    expect(batchPhases([route])).toEqual([{ tool: 'ip', lines: [route] }]);
    expect(batchPhases([flush, fdbDel])).toEqual([
      { tool: 'ip', lines: [flush] },
      { tool: 'bridge', lines: [fdbDel] },
    ]);
    expect(batchPhases([])).toEqual([]);
  });
});
