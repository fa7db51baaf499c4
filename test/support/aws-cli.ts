/**
 * @module
 * The AWS CLI for tests: installed from PyPI (the pinned set in aws-cli-constraints.txt) into a venv under the
 * test-tool cache, once per machine and version, by pip-venv.sh (locked, so concurrent suites share one
 * install), and run against LocalStack with a clean environment.
 *
 * ```ts
 * const cli = await installAwsCli();
 * const env = awsCliEnv(cli, { endpoint: ls.endpoint, region: 'eu-west-1', credentials: ls.credentials, home });
 * ```
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommandError, runCommand } from '../harness/command.ts';
import { toolCacheDir } from './cache-dir.ts';

const here = dirname(fileURLToPath(import.meta.url));
const INSTALLER = join(here, 'pip-venv.sh');
/** The pinned dependency set of the AWS CLI; its `awscli==` line is the version. */
export const AWS_CLI_CONSTRAINTS = join(here, 'aws-cli-constraints.txt');

/** Thrown when the AWS CLI cannot be installed; the message carries pip's output. */
export class AwsCliInstallError extends Error {
  override readonly name = 'AwsCliInstallError';
}

/** An installed AWS CLI. */
export interface AwsCli {
  /** The pinned version (`awscli==` of the constraints). */
  readonly version: string;
  /** The venv's bin/ folder (holds `aws`). */
  readonly binDir: string;
}

/** The `awscli==` version of constraints text `text`. */
export function pinnedAwsCliVersion(text: string): string {
  const m = /^awscli==(\S+)$/m.exec(text);
  if (!m) throw new AwsCliInstallError(`no "awscli==<version>" line in ${AWS_CLI_CONSTRAINTS}`);
  return m[1]!;
}

/** Installs the pinned AWS CLI into the cache if needed (idempotent, locked) and returns it. */
export async function installAwsCli(): Promise<AwsCli> {
  const version = pinnedAwsCliVersion(readFileSync(AWS_CLI_CONSTRAINTS, 'utf8'));
  const dir = toolCacheDir('awscli', version);
  const args = [INSTALLER, dir, AWS_CLI_CONSTRAINTS, `awscli==${version}`, 'aws', '--version'];
  try {
    await runCommand('bash', args, { timeoutMs: 600_000 });
  } catch (cause) {
    const detail = cause instanceof CommandError ? cause.message : String(cause);
    throw new AwsCliInstallError(`AWS CLI ${version} install failed: ${detail}`, { cause });
  }
  return { version, binDir: join(dir, 'venv', 'bin') };
}

/** Where the CLI sends its requests, and as whom. */
export interface AwsCliTarget {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** A scratch folder: the CLI's config and credentials files point there, so `~/.aws` is never read. */
  readonly home: string;
}

/**
 * The environment the CLI runs in: only PATH (the venv first) from this process, the target's endpoint
 * (`AWS_ENDPOINT_URL`), region (`AWS_REGION` for v2, `AWS_DEFAULT_REGION` for v1), static credentials, no
 * pager, and config files that do not exist.
 */
export function awsCliEnv(cli: AwsCli, target: AwsCliTarget): Record<string, string> {
  return {
    PATH: `${cli.binDir}:${process.env['PATH'] ?? '/usr/bin:/bin'}`,
    HOME: target.home,
    AWS_ENDPOINT_URL: target.endpoint,
    AWS_REGION: target.region,
    AWS_DEFAULT_REGION: target.region,
    AWS_ACCESS_KEY_ID: target.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: target.credentials.secretAccessKey,
    AWS_CONFIG_FILE: join(target.home, 'aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(target.home, 'aws-credentials'),
    AWS_PAGER: '',
    AWS_MAX_ATTEMPTS: '2',
  };
}
