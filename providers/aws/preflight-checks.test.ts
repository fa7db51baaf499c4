import { describe, expect, it } from 'vitest';
import type { EniView } from './eni.ts';
import { claimTagCheck, eniChecks, NO_MANAGE_TAG } from './preflight-checks.ts';

const eni = (over: Partial<EniView> = {}): EniView => ({
  id: 'eni-1',
  subnetId: 'subnet-1',
  vpcId: 'vpc-1',
  zone: 'us-east-1a',
  primary: '10.0.1.5',
  ipv4: ['10.0.1.5'],
  ipv6: [],
  tags: new Map(),
  sourceDestCheck: true,
  ...over,
});
const facts = (e: EniView, ipv4Limit = 2) => ({ node: 'gw', eni: e, instanceType: 't3.micro', ipv4Limit });
const verdicts = (checks: ReturnType<typeof eniChecks>) => checks.map((c) => [c.check, c.ok]);

describe('eniChecks', () => {
  it('without the cluster facts checks the free slots only', () => {
    expect(verdicts(eniChecks(facts(eni())))).toEqual([['free IP slots', true]]);
    const full = eniChecks(facts(eni({ ipv4: ['10.0.1.5', '10.0.1.6'] })));
    expect(full[0]).toMatchObject({ ok: false, fix: expect.stringContaining('free secondary IPs on eni-1') });
  });

  it("without the VPC CNI: the ENI is nobody else's and the check may stay on", () => {
    expect(verdicts(eniChecks(facts(eni()), { vpcCni: false }))).toEqual([
      ['free IP slots', true],
      ['VPC CNI', true],
      ['source/destination check', true],
    ]);
  });

  it('with the VPC CNI: an untagged ENI and the check on both fail, with fixes; the tag and the check off pass', () => {
    const broken = eniChecks(facts(eni()), { vpcCni: true });
    expect(verdicts(broken)).toEqual([
      ['free IP slots', true],
      ['VPC CNI', false],
      ['source/destination check', false],
    ]);
    expect(broken[2]?.fix).toContain('--network-interface-id eni-1 --no-source-dest-check');
    const mended = eni({ tags: new Map([[NO_MANAGE_TAG, 'true']]), sourceDestCheck: false });
    expect(eniChecks(facts(mended), { vpcCni: true }).every((c) => c.ok)).toBe(true);
  });
});

describe('claimTagCheck', () => {
  it('DryRunOperation is granted, UnauthorizedOperation denied with the fix, anything else not checked', () => {
    expect(claimTagCheck('subnet-1', ['a'], 'DryRunOperation', '').ok).toBe(true);
    expect(claimTagCheck('subnet-1', ['a', 'b'], 'UnauthorizedOperation', 'no')).toMatchObject({
      ok: false,
      message: expect.stringContaining('denied on subnet subnet-1 (nodes a, b)'),
      fix: expect.stringContaining('subnet/*'),
    });
    const other = claimTagCheck('subnet-1', ['a'], 'RequestLimitExceeded', 'slow down');
    expect(other).toMatchObject({ ok: false, message: expect.stringContaining('could not be checked') });
    expect(other.fix).toBeUndefined();
  });
});
