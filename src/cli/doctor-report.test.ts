import { describe, expect, it } from 'vitest';
import { formatDoctorReport } from './doctor-report.ts';

describe('formatDoctorReport', () => {
  it('prints every check, each failed one with its fix, and fails when one did', () => {
    const report = formatDoctorReport([
      {
        gateway: 'prod',
        provider: 'azure',
        nodes: 2,
        checks: [
          { check: 'free IP slots', node: 'n1', ok: true, message: '255 more' },
          { check: 'IP forwarding', node: 'node-22', ok: false, message: 'off', fix: 'turn it on' },
        ],
      },
      { gateway: 'lab', provider: 'none', nodes: 1, checks: undefined },
    ]);
    expect(report.failed).toBe(true);
    expect(report.text).toBe(
      [
        'gateway prod (provider azure, 2 nodes)',
        '  ok    n1       free IP slots: 255 more',
        '  FAIL  node-22  IP forwarding: off',
        '                 fix: turn it on',
        'gateway lab (provider none, 1 node)',
        '  -     provider none has no preflight checks',
        '',
        '1 check(s) failed',
        '',
      ].join('\n'),
    );
  });

  it('passes when every check passed, and fails a gateway that could not be checked', () => {
    expect(formatDoctorReport([{ gateway: 'g', provider: 'aws', nodes: 1, checks: [] }]).failed).toBe(false);
    const bad = formatDoctorReport([{ gateway: 'g', problem: 'ProviderUnknown: no provider' }]);
    expect(bad.failed).toBe(true);
    expect(bad.text).toContain('  FAIL  ProviderUnknown: no provider');
  });

  it('prints the cluster checks first and counts their failures', () => {
    const report = formatDoctorReport(
      [],
      [{ check: 'cluster CIDRs', ok: false, message: 'not found', fix: 'set agent.clusterCIDRs' }],
    );
    expect(report.failed).toBe(true);
    expect(report.text).toBe(
      [
        'cluster',
        '  FAIL    cluster CIDRs: not found',
        '          fix: set agent.clusterCIDRs',
        'no EgressGateway found',
        '',
        '1 check(s) failed',
        '',
      ].join('\n'),
    );
  });
});
