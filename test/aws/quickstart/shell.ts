/**
 * @module
 * A reader's shell for the quick start: runs its commands with bash (`-u`, so a variable the test forgot is an
 * error, and `pipefail`, so `aws … | tr …` fails when `aws` does) in a scratch folder, with the shell
 * variables set so far and the real AWS CLI pointed at LocalStack. A pass-through `aws` first on PATH records
 * the arguments each `aws` got after the shell expanded them, then runs the real CLI.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../../harness/command.ts';
import { type AwsCli, type AwsCliTarget, awsCliEnv } from '../../support/aws-cli.ts';

/** How a command ended. */
export interface ShellResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The arguments of every `aws` it ran, in order. */
  readonly awsArgs: readonly (readonly string[])[];
}

const RECORDER = (real: string) => `import json, os, sys
with open(os.environ["QUICKSTART_AWS_ARGS"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
os.execv(${JSON.stringify(real)}, [${JSON.stringify(real)}] + sys.argv[1:])
`;

/** A scratch folder, the CLI's environment and the quick start's variables. */
export class QuickStartShell {
  /** The quick start's shell variables, as its steps set them. */
  readonly vars: Record<string, string> = {};
  /** The scratch folder: the commands' working directory and the CLI's home. */
  readonly dir: string;
  readonly #env: Record<string, string>;
  readonly #cli: AwsCli;
  readonly #log: string;

  private constructor(dir: string, cli: AwsCli, target: Omit<AwsCliTarget, 'home'>) {
    this.dir = dir;
    const base = awsCliEnv(cli, { ...target, home: dir });
    this.#log = join(dir, 'aws-args.jsonl');
    this.#env = { ...base, PATH: `${join(dir, 'bin')}:${base['PATH']}`, QUICKSTART_AWS_ARGS: this.#log };
    this.#cli = cli;
  }

  /** A shell in a new scratch folder. */
  static async create(cli: AwsCli, target: Omit<AwsCliTarget, 'home'>): Promise<QuickStartShell> {
    const dir = await mkdtemp(join(tmpdir(), 'quickstart-cli-'));
    const shell = new QuickStartShell(dir, cli, target);
    await mkdir(join(dir, 'bin'));
    const recorder = join(dir, 'bin', 'aws');
    await writeFile(recorder, `#!${join(cli.binDir, 'python')}\n${RECORDER(join(cli.binDir, 'aws'))}`, {
      mode: 0o755,
    });
    return shell;
  }

  /** Runs shell text `text` in the scratch folder. */
  async run(text: string): Promise<ShellResult> {
    await writeFile(this.#log, '');
    const r = await runCommand('bash', ['-u', '-o', 'pipefail', '-c', text], {
      cwd: this.dir,
      env: { ...this.#env, ...this.vars },
      check: false,
      timeoutMs: 120_000,
    });
    const awsArgs = (await readFile(this.#log, 'utf8'))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as string[]);
    return { code: r.code, stdout: r.stdout, stderr: r.stderr, awsArgs };
  }

  /** What the shell makes of word `word` (`printf %s WORD`). */
  async value(word: string): Promise<string> {
    const r = await this.run(`printf %s ${word}`);
    if (r.code !== 0) throw new Error(`cannot expand ${word}: ${r.stderr}`);
    return r.stdout;
  }

  /** Runs a script that must succeed (e.g. a `cat > file <<EOF` here-document). */
  async script(script: string): Promise<void> {
    const r = await this.run(script);
    if (r.code !== 0) throw new Error(`${script.split('\n')[0]} failed (exit ${r.code}): ${r.stderr}`);
  }

  /** A file of the scratch folder. */
  file(path: string): Promise<string> {
    return readFile(join(this.dir, path), 'utf8');
  }

  /**
   * Reads LocalStack's state with the CLI directly (no shell, JSON out): `{ ok: true, value }`, or
   * `{ ok: false, stderr }` when the call fails (e.g. `NoSuchEntity`).
   */
  async read<T>(args: readonly string[]): Promise<{ ok: true; value: T } | { ok: false; stderr: string }> {
    const r = await runCommand(join(this.#cli.binDir, 'aws'), [...args, '--output', 'json'], {
      cwd: this.dir,
      env: this.#env,
      check: false,
      timeoutMs: 60_000,
    });
    return r.code === 0 ? { ok: true, value: JSON.parse(r.stdout) as T } : { ok: false, stderr: r.stderr };
  }

  /** Removes the scratch folder. */
  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
