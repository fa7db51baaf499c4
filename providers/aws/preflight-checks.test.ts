import { describe, expect, it } from 'vitest';
import { NO_MANAGE_TAG } from './egress-eni.ts';
import type { EniView } from './eni.ts';
import { claimTagCheck, eniChecks } from './preflight-checks.ts';

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

  it.each(['tunnel', 'podNetwork'] as const)(
    "without the VPC CNI: the ENI is nobody else's and the check may stay on (return path %s)",
    (agentReturnPath) => {
      expect(verdicts(eniChecks(facts(eni()), { vpcCni: false, agentReturnPath }))).toEqual([
        ['free IP slots', true],
        ['VPC CNI', true],
        ['source/destination check', true],
      ]);
    },
  );

  it('with the VPC CNI and the return path tunnel: the check may stay on, replies return through the tunnel', () => {
    const checks = eniChecks(facts(eni()), { vpcCni: true, agentReturnPath: 'tunnel' });
    expect(verdicts(checks)).toEqual([
      ['free IP slots', true],
      ['VPC CNI', false],
      ['source/destination check', true],
    ]);
    expect(checks[2]).toEqual({
      check: 'source/destination check',
      node: 'gw',
      ok: true,
      message:
        "on for eni-1: the agents' return path is tunnel, so replies to pods return through the tunnel to the " +
        "pod's node, which the check allows",
    });
  });

  it('with the VPC CNI and the return path podNetwork: an untagged ENI and the check on both fail, with fixes; the tag and the check off pass', () => {
    const broken = eniChecks(facts(eni()), { vpcCni: true, agentReturnPath: 'podNetwork' });
    expect(verdicts(broken)).toEqual([
      ['free IP slots', true],
      ['VPC CNI', false],
      ['source/destination check', false],
    ]);
    expect(broken[2]?.message).toContain("the agents' return path is podNetwork");
    expect(broken[2]?.fix).toBe(
      "turn the check off on the gateway nodes' ENIs: aws ec2 modify-network-interface-attribute " +
        "--network-interface-id eni-1 --no-source-dest-check; or use the chart's agent.returnPath=tunnel, so that " +
        "replies return through the tunnel to the pod's node, which the check allows",
    );
    const mended = eni({ tags: new Map([[NO_MANAGE_TAG, 'true']]), sourceDestCheck: false });
    expect(eniChecks(facts(mended), { vpcCni: true, agentReturnPath: 'podNetwork' }).every((c) => c.ok)).toBe(
      true,
    );
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
