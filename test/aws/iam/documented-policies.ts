/**
 * @module
 * Proves recorded EC2 requests against the IAM policies the docs print (doc-policies.ts): each request becomes
 * its IAM requests (ec2-authorization.ts) and the simulator judges each under the policy of the installation that
 * sent it (docs/aws.md's claim-tag condition names the owner).
 */

import { awsDocPolicy, type PolicyDocument, quickStartPolicy } from './doc-policies.ts';
import type { Ec2Facts } from './ec2-authorization.ts';
import { iamRequestsOf } from './ec2-authorization.ts';
import { LOCALSTACK_ACCOUNT } from './ec2-facts.ts';
import type { RecordedRequest } from './ec2-recorder.ts';
import { simulate, type Verdict } from './simulate.ts';

/** The role the controller runs as. */
export const CONTROLLER_ROLE = `arn:aws:iam::${LOCALSTACK_ACCOUNT}:role/cloud-egress-controller`;

/** A policy per installation. */
export type PolicyFor = (owner: string) => PolicyDocument;

/** The documented policies, by name. */
export function documentedPolicies(region: string): Readonly<Record<string, PolicyFor>> {
  return {
    'docs/aws.md': (owner) => awsDocPolicy({ account: LOCALSTACK_ACCOUNT, region, owner }),
    'docs/quickstart-eks.md': (owner) => quickStartPolicy({ account: LOCALSTACK_ACCOUNT, region, owner }),
  };
}

/** Every IAM request of `requests` with its verdict under `policyFor`. */
export async function judge(
  requests: readonly RecordedRequest[],
  facts: Ec2Facts,
  policyFor: PolicyFor,
): Promise<Verdict[]> {
  const out: Verdict[] = [];
  for (const r of requests) {
    out.push(
      ...(await simulate(policyFor(r.owner), iamRequestsOf(r, facts), CONTROLLER_ROLE, facts.account)),
    );
  }
  return out;
}

/** `<policy>: <request> <result>` for each IAM request a documented policy does not allow. */
export async function deniedByDocumentedPolicies(
  requests: readonly RecordedRequest[],
  facts: Ec2Facts,
): Promise<string[]> {
  const denied: string[] = [];
  for (const [name, policyFor] of Object.entries(documentedPolicies(facts.region))) {
    for (const v of await judge(requests, facts, policyFor)) {
      if (!v.allowed) denied.push(`${name}: ${v.request.label} ${v.result}`);
    }
  }
  return [...new Set(denied)];
}
