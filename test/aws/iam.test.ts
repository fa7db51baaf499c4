/**
 * @module
 * IAM proven, not listed: the AWS provider runs every kind of write it makes against LocalStack (IPv4 and IPv6
 * assignment, move, release, an Elastic IP paired and carried along), a recorder on its EC2 client keeps each
 * request, and the IAM simulator judges each against the policies docs/aws.md and the EKS quick start print
 * (parsed from the Markdown), the preflight's CreateTags(DryRun) included. Every request is allowed; without any one statement a named request is denied;
 * the quick start's former policy (claim tags granted on ENIs, not subnets) is denied.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AllocateAddressCommand, CreateTagsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../localstack/localstack.ts';
import { CALL_BUCKET } from '../../providers/aws/ec2-api.ts';
import { createAwsProviderTuned } from '../../providers/aws/index.ts';
import { quickStartPolicy, withoutStatement } from './iam/doc-policies.ts';
import { deniedByDocumentedPolicies, documentedPolicies, judge } from './iam/documented-policies.ts';
import type { Ec2Facts } from './iam/ec2-authorization.ts';
import { LOCALSTACK_ACCOUNT, readEc2Facts } from './iam/ec2-facts.ts';
import { ec2Recorder } from './iam/ec2-recorder.ts';
import { createDualStackSubnet, runInstance, testEc2Client } from './world.ts';

const OWNER = 'prod';
/** The tag docs/aws.md's policy asks for on gateway ENIs and Elastic IPs. */
const GATEWAY_TAG = { Key: 'cloudegress.io/gateway', Value: 'true' };

describe('IAM: the documented policies allow every EC2 request the provider makes', () => {
  let ls: LocalStack;
  let ec2: EC2Client;
  const recorder = ec2Recorder();
  let facts: Ec2Facts;

  beforeAll(async () => {
    ls = await startLocalStack();
    ec2 = testEc2Client(ls);
    const subnet = await createDualStackSubnet(ec2, 251);
    const subnet64 = subnet.ipv6;
    const a = await runInstance(ec2, subnet, 'gw-a', 'm5.large');
    const b = await runInstance(ec2, subnet, 'gw-b', 'm5.large');
    const eip = await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
    await ec2.send(
      new CreateTagsCommand({ Resources: [a.eniId, b.eniId, eip.AllocationId!], Tags: [GATEWAY_TAG] }),
    );

    const provider = createAwsProviderTuned(
      { owner: OWNER, endpoint: ls.endpoint },
      { credentials: ls.credentials, plugins: recorder.plugins(OWNER) },
    );
    const v4 = '10.251.1.50';
    const v6 = subnet64.replace('::/64', '::50');
    const step = async (changes: Parameters<typeof provider.apply>[0]['changes']) => {
      const result = await provider.apply({ changes });
      expect(result.outcomes.every((o) => o.ok)).toBe(true);
    };
    await step([
      { kind: 'assign', ip: v4, node: a.ref, publicAddress: eip.AllocationId! },
      { kind: 'assign', ip: v6, node: a.ref },
    ]);
    await step([
      { kind: 'assign', ip: v4, node: b.ref, from: a.ref, publicAddress: eip.AllocationId! },
      { kind: 'assign', ip: v6, node: b.ref, from: a.ref },
    ]);
    expect((await provider.listAssignments([a.ref, b.ref])).map((l) => l.node)).toEqual(['gw-b', 'gw-b']);
    await step([
      { kind: 'release', ip: v4, node: b.ref },
      { kind: 'release', ip: v6, node: b.ref },
    ]);
    // The preflight's CreateTags(DryRun) needs the same permission as the claim writes.
    expect((await provider.preflight!([a.ref, b.ref])).every((c) => c.ok)).toBe(true);
    facts = await readEc2Facts(ec2, ls.region);
  });
  afterAll(async () => {
    ec2?.destroy();
    await ls?.stop();
  });

  it('records each EC2 operation the provider can call', () => {
    const operations = new Set(recorder.requests.map((r) => r.operation));
    const calls = Object.keys(CALL_BUCKET).map((c) => `${c[0]!.toUpperCase()}${c.slice(1)}`);
    expect([...operations].sort()).toEqual(calls.sort());
  });

  it('every request is allowed by docs/aws.md and by the EKS quick start', async () => {
    expect(await deniedByDocumentedPolicies(recorder.requests, facts)).toEqual([]);
  });

  it('without any one statement of either policy, a named request is denied', async () => {
    const needs: Record<string, string> = {
      Read: 'ec2:DescribeInstances',
      MoveEgressIPs: 'ec2:AssignPrivateIpAddresses',
      MoveEgressIPsOnGatewayENIsOnly: 'ec2:AssignPrivateIpAddresses',
      OwnershipTags: 'ec2:CreateTags',
      OwnClaimTagsOnSubnetsOnly: 'ec2:CreateTags',
      ElasticIPs: 'ec2:AssociateAddress',
      PairTaggedElasticIPs: 'ec2:AssociateAddress',
    };
    const policies = documentedPolicies(ls.region);
    for (const [name, policyFor] of Object.entries(policies)) {
      for (const statement of policyFor(OWNER).Statement) {
        const sid = statement.Sid ?? '';
        const verdicts = await judge(recorder.requests, facts, (o) => withoutStatement(policyFor(o), sid));
        const denied = verdicts.filter((v) => !v.allowed).map((v) => v.request.action);
        expect({ policy: name, sid, denied: denied.includes(needs[sid] ?? `a request of ${sid}`) }).toEqual({
          policy: name,
          sid,
          denied: true,
        });
      }
    }
  });

  it("the quick start's former policy, claim tags granted on network-interface/* only, is denied", async () => {
    const markdown = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'quickstart-eks.md'), 'utf8');
    const grant = `"Action": ["ec2:CreateTags", "ec2:DeleteTags"],\n      "Resource": "arn:aws:ec2:\${AWS_REGION}:\${ACCOUNT}:subnet/*"`;
    expect(markdown).toContain(grant);
    const former = markdown.replace(grant, grant.replace('subnet/*', 'network-interface/*'));
    const policy = quickStartPolicy({ account: LOCALSTACK_ACCOUNT, region: ls.region, owner: OWNER }, former);
    const verdicts = await judge(recorder.requests, facts, () => policy);
    const denied = new Set(verdicts.filter((v) => !v.allowed).map((v) => v.request.action));
    expect([...denied].sort()).toEqual(['ec2:CreateTags', 'ec2:DeleteTags']);
  });
});
