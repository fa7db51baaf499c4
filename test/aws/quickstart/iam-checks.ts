/**
 * @module
 * What each IAM command of the quick start must have done, checked in LocalStack's state through the CLI's
 * own reads (`get-role`, `get-policy-version`, …; the project has no IAM SDK).
 */
import { expect } from 'vitest';
import { quickStartPolicy } from '../iam/doc-policies.ts';
import { LOCALSTACK_ACCOUNT } from '../iam/ec2-facts.ts';
import { type Check, fileOf, iamArn } from './check-context.ts';
import type { QuickStartShell } from './shell.ts';

/** Reads an IAM object through the CLI; fails the test when it is absent. */
async function iam<T>(shell: QuickStartShell, args: readonly string[]): Promise<T> {
  const r = await shell.read<T>(['iam', ...args]);
  if (!r.ok) throw new Error(`aws iam ${args.join(' ')} failed: ${r.stderr}`);
  return r.value;
}

/** Asserts that an IAM object is gone (`NoSuchEntity`). */
async function iamGone(shell: QuickStartShell, args: readonly string[]): Promise<void> {
  const r = await shell.read(['iam', ...args]);
  expect(r.ok, `aws iam ${args.join(' ')} still finds it`).toBe(false);
  if (!r.ok) expect(r.stderr).toMatch(/NoSuchEntity/);
}

async function attachedPolicies(shell: QuickStartShell, role: string): Promise<string[]> {
  const r = await iam<{ AttachedPolicies: { PolicyArn: string }[] }>(shell, [
    'list-attached-role-policies',
    '--role-name',
    role,
  ]);
  return r.AttachedPolicies.map((p) => p.PolicyArn);
}

/** By `service operation`. */
export const IAM_CHECKS: Readonly<Record<string, Check>> = {
  /** The policy exists at the ARN the quick start exports next, with the document it prints. */
  'iam create-policy': async ({ args, stdout }, { shell, world }) => {
    const name = args.one('--policy-name');
    const created = (JSON.parse(stdout) as { Policy: { Arn: string; DefaultVersionId: string } }).Policy;
    expect(created.Arn).toBe(iamArn('policy', name));
    const version = await iam<{ PolicyVersion: { Document: unknown } }>(shell, [
      'get-policy-version',
      '--policy-arn',
      created.Arn,
      '--version-id',
      created.DefaultVersionId,
    ]);
    const printed = quickStartPolicy({ account: LOCALSTACK_ACCOUNT, region: world.region, owner: 'unused' });
    expect(version.PolicyVersion.Document).toEqual(printed);
    expect(version.PolicyVersion.Document).toEqual(
      JSON.parse(await shell.file(fileOf(args.one('--policy-document')))),
    );
  },

  /** At this point of §4b the cluster's provider is not registered yet, and the list says so. */
  'iam list-open-id-connect-providers': async ({ stdout }, { world }) => {
    const listed = (JSON.parse(stdout) as { OpenIDConnectProviderList: { Arn: string }[] })
      .OpenIDConnectProviderList;
    expect(listed.map((p) => p.Arn)).not.toContain(iamArn('oidc-provider', world.oidcIssuer));
  },

  /** The provider exists for the issuer and audience, at the ARN irsa-trust.json names as its principal. */
  'iam create-open-id-connect-provider': async ({ args, stdout }, { shell, world }) => {
    const arn = (JSON.parse(stdout) as { OpenIDConnectProviderArn: string }).OpenIDConnectProviderArn;
    expect(arn).toBe(iamArn('oidc-provider', world.oidcIssuer));
    const provider = await iam<{ Url: string; ClientIDList: string[] }>(shell, [
      'get-open-id-connect-provider',
      '--open-id-connect-provider-arn',
      arn,
    ]);
    expect(`https://${provider.Url.replace(/^https:\/\//, '')}`).toBe(args.one('--url'));
    expect(provider.ClientIDList).toEqual(args.options.get('--client-id-list'));
  },

  /**
   * The role exists at the ARN the quick start passes on (§4a `--role-arn`, §4b `ROLE_ARN`), trusting what the
   * file says; a federated principal is an OIDC provider that exists.
   */
  'iam create-role': async ({ args }, { shell }) => {
    const name = args.one('--role-name');
    const role = (
      await iam<{ Role: { Arn: string; AssumeRolePolicyDocument: unknown } }>(shell, [
        'get-role',
        '--role-name',
        name,
      ])
    ).Role;
    expect(role.Arn).toBe(iamArn('role', name));
    const trust = JSON.parse(await shell.file(fileOf(args.one('--assume-role-policy-document')))) as {
      Statement: { Principal: { Federated?: string } }[];
    };
    expect(role.AssumeRolePolicyDocument).toEqual(trust);
    for (const s of trust.Statement) {
      if (s.Principal.Federated === undefined) continue;
      await iam(shell, [
        'get-open-id-connect-provider',
        '--open-id-connect-provider-arn',
        s.Principal.Federated,
      ]);
    }
  },

  /** The role has the policy, and the policy ARN (`$POLICY_ARN`) names one that exists. */
  'iam attach-role-policy': async ({ args }, { shell }) => {
    const policy = args.one('--policy-arn');
    expect(await attachedPolicies(shell, args.one('--role-name'))).toContain(policy);
    await iam(shell, ['get-policy', '--policy-arn', policy]);
  },

  /** The role no longer has the policy. */
  'iam detach-role-policy': async ({ args }, { shell }) => {
    expect(await attachedPolicies(shell, args.one('--role-name'))).not.toContain(args.one('--policy-arn'));
  },

  /** The role is gone. */
  'iam delete-role': async ({ args }, { shell }) => {
    await iamGone(shell, ['get-role', '--role-name', args.one('--role-name')]);
  },

  /** The policy is gone. */
  'iam delete-policy': async ({ args }, { shell }) => {
    await iamGone(shell, ['get-policy', '--policy-arn', args.one('--policy-arn')]);
  },
};
