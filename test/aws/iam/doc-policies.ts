/**
 * @module
 * The controller's IAM policies as the docs print them, parsed from the Markdown itself so that what the tests
 * prove is what a reader copies: docs/aws.md's least-privilege policy (the JSON block of its "IAM policy" section)
 * and the EKS quick start's (the `cloud-egress-policy.json` here-document of its §4), their placeholders
 * filled in for one account, region and owner.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** An IAM policy document. */
export interface PolicyDocument {
  readonly Version: string;
  readonly Statement: readonly PolicyStatement[];
}

/** One statement (only the fields the docs use). */
export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | readonly string[];
  readonly Resource: string | readonly string[];
  readonly Condition?: Readonly<Record<string, unknown>>;
}

/** Where the placeholders point. */
export interface PolicyTarget {
  readonly account: string;
  readonly region: string;
  /** `cloud.owner` (docs/aws.md calls it CLUSTER_NAME). */
  readonly owner: string;
}

const DOCS = join(import.meta.dirname, '..', '..', '..', 'docs');

function between(text: string, start: string, end: string, where: string): string {
  const from = text.indexOf(start);
  if (from < 0) throw new Error(`${where}: "${start}" not found`);
  const to = text.indexOf(end, from + start.length);
  if (to < 0) throw new Error(`${where}: no "${end}" after "${start}"`);
  return text.slice(from + start.length, to);
}

/** docs/aws.md's least-privilege policy, as Markdown text `markdown` (default: the file) has it. */
export function awsDocPolicy(target: PolicyTarget, markdown?: string): PolicyDocument {
  const text = markdown ?? readFileSync(join(DOCS, 'aws.md'), 'utf8');
  const section = between(text, '## IAM policy (least privilege)', '\n## ', 'docs/aws.md');
  const json = between(section, '```json\n', '\n```', 'docs/aws.md IAM policy');
  return JSON.parse(
    json
      .replaceAll('REGION', target.region)
      .replaceAll('ACCOUNT_ID', target.account)
      .replaceAll('CLUSTER_NAME', target.owner),
  ) as PolicyDocument;
}

/** The EKS quick start's policy (§4), as Markdown text `markdown` (default: the file) has it. */
export function quickStartPolicy(target: PolicyTarget, markdown?: string): PolicyDocument {
  const text = markdown ?? readFileSync(join(DOCS, 'quickstart-eks.md'), 'utf8');
  const json = between(text, 'cat > cloud-egress-policy.json <<EOF\n', '\nEOF', 'docs/quickstart-eks.md');
  return JSON.parse(
    json.replace(/\$\{AWS_REGION\}/g, target.region).replace(/\$\{ACCOUNT\}/g, target.account),
  ) as PolicyDocument;
}

/** The policy without its statement `sid`. */
export function withoutStatement(policy: PolicyDocument, sid: string): PolicyDocument {
  return { ...policy, Statement: policy.Statement.filter((s) => s.Sid !== sid) };
}
