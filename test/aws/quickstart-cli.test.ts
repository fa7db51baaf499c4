/**
 * @module
 * docs/quickstart-eks.md, run as a reader runs it: every `aws` command it prints (in blocks, comments and
 * prose, with `\` continuations and `$(aws …)` substitutions) goes to the real AWS CLI (from PyPI) against
 * LocalStack (EC2, IAM, STS; EKS and ECR enabled too, to show LocalStack refusing them), in the quick start's
 * order, with the shell variables it sets; the values it takes from EKS, STS, kubectl or the reader come from
 * a VPC, subnets and instances the test builds. After each command LocalStack's state is checked (checks.ts).
 * Commands LocalStack does not serve are listed in not-run.ts with LocalStack's refusal, which is checked too.
 * A new `aws` command in the quick start that is neither checked nor listed fails the test. §4a and §4b are
 * alternatives: the quick start runs once with each, on a LocalStack of its own.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DescribeSecurityGroupsCommand,
  type EC2Client,
  GetSubnetCidrReservationsCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type LocalStack, startLocalStack } from '../../localstack/localstack.ts';
import { type AwsCli, installAwsCli } from '../support/aws-cli.ts';
import { type CheckContext, chartPorts } from './quickstart/check-context.ts';
import { CHECKS } from './quickstart/checks.ts';
import { parseCliArgs } from './quickstart/cli-args.ts';
import { type AwsCommand, type DocStep, docSteps, sectionId } from './quickstart/doc-commands.ts';
import { NOT_RUN } from './quickstart/not-run.ts';
import { QuickStartShell } from './quickstart/shell.ts';
import {
  assignEgressIP,
  buildQuickStartWorld,
  type QuickStartWorld,
  WORLD_VARIABLES,
} from './quickstart/world.ts';
import { testEc2Client } from './world.ts';

const DOC = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'quickstart-eks.md'), 'utf8');
const STEPS = docSteps(DOC);
const COMMANDS = STEPS.filter((s): s is AwsCommand => s.kind === 'aws');

describe('docs/quickstart-eks.md: its aws commands', () => {
  test('are found: blocks, continuations, substitutions, comments and prose', () => {
    const origins = new Set(COMMANDS.map((c) => c.origin));
    expect([...origins].sort()).toEqual(['block', 'comment', 'prose']);
    expect(COMMANDS.some((c) => c.assigns !== undefined)).toBe(true);
    expect(COMMANDS.some((c) => c.text.includes('$(aws '))).toBe(true);
  });

  test('are each run and checked, or listed as not run with the reason', () => {
    const unaccounted = COMMANDS.filter((c) => !(c.operation in CHECKS) && !(c.operation in NOT_RUN));
    expect(unaccounted.map((c) => `line ${c.line}: aws ${c.operation}`)).toEqual([]);
    expect(Object.keys(CHECKS).filter((op) => op in NOT_RUN)).toEqual([]);
  });

  test('are all still in the quick start (no stale entry in either table)', () => {
    const operations = new Set(COMMANDS.map((c) => c.operation));
    expect([...Object.keys(CHECKS), ...Object.keys(NOT_RUN)].filter((op) => !operations.has(op))).toEqual([]);
  });
});

/** The literal value the quick start exports for `name` (e.g. `AWS_REGION=eu-west-1`). */
function exported(name: string): string {
  const step = STEPS.find((s) => s.kind === 'assign' && s.name === name);
  if (step?.kind !== 'assign' || !step.value || !/^[\w.-]+$/.test(step.value)) {
    throw new Error(`the quick start exports no literal ${name}`);
  }
  return step.value;
}

function label(step: DocStep): string {
  const where = `line ${step.line} (§${sectionId(step.section)})`;
  if (step.kind === 'assign') return `${where}: ${step.name}=${step.value ?? '$(…)'}`;
  if (step.kind === 'file') return `${where}: writes ${step.path}`;
  return `${where}: aws ${step.operation}${step.operation in NOT_RUN ? ' (not run: LocalStack refuses it)' : ''}`;
}

/** The two ways of §4 to give the controller its role; each run leaves the other out. */
const SCENARIOS = [
  { name: 'EKS Pod Identity (§4a)', without: '4b' },
  { name: 'IRSA (§4b)', without: '4a' },
] as const;

describe.each(SCENARIOS)('docs/quickstart-eks.md with $name, against LocalStack', ({ without }) => {
  const region = exported('AWS_REGION');
  const steps = STEPS.filter((s) => sectionId(s.section) !== without);
  let cli: AwsCli;
  let ls: LocalStack | undefined;
  let ec2: EC2Client;
  let world: QuickStartWorld;
  let shell: QuickStartShell | undefined;
  let ctx: CheckContext;
  let egressAssigned = false;

  beforeAll(async () => {
    cli = await installAwsCli();
    ls = await startLocalStack({ services: ['iam', 'sts', 'eks', 'ecr'] });
    ec2 = testEc2Client({ ...ls, region }, { maxAttempts: 3 });
    world = await buildQuickStartWorld(ec2, region);
    shell = await QuickStartShell.create(cli, { endpoint: ls.endpoint, region, credentials: ls.credentials });
    // What the reader brings (e.g. $NODE_SG): the world's variables the quick start never sets.
    const assigned = new Set(
      STEPS.flatMap((s) => (s.kind === 'assign' ? [s.name] : s.kind === 'aws' ? [s.assigns] : [])),
    );
    for (const [name, v] of Object.entries(WORLD_VARIABLES)) {
      if (!assigned.has(name)) shell.vars[name] = v.value(world);
    }
    ctx = { ec2, shell, world, doc: DOC };
  });

  afterAll(async () => {
    await shell?.close();
    await ls?.stop();
  });

  const worldValue = (name: string, line: number): string => {
    const v = WORLD_VARIABLES[name];
    if (!v)
      throw new Error(
        `line ${line}: $${name} comes from a command the test does not run; add it to WORLD_VARIABLES`,
      );
    return v.value(world);
  };

  for (const step of steps) {
    test(label(step), async () => {
      const sh = shell!;
      // §6–§7 run the controller, which puts the policy's egress IP on a gateway node; §8 looks for it.
      if (sectionId(step.section) === '8' && !egressAssigned) {
        await assignEgressIP(ec2, world);
        egressAssigned = true;
      }
      if (step.kind === 'assign') {
        sh.vars[step.name] =
          step.name in WORLD_VARIABLES || step.value === undefined
            ? worldValue(step.name, step.line)
            : await sh.value(step.value);
        return;
      }
      if (step.kind === 'file') {
        await sh.script(step.script);
        return;
      }
      const result = await sh.run(step.text);
      const notRun = NOT_RUN[step.operation];
      if (notRun) {
        expect(result.code, `LocalStack now serves it: move aws ${step.operation} to the checks`).not.toBe(0);
        expect(result.stderr).toMatch(notRun.evidence);
        if (step.assigns) sh.vars[step.assigns] = worldValue(step.assigns, step.line);
        return;
      }
      expect(result.code, `${step.text}\n${result.stderr}`).toBe(0);
      expect(result.awsArgs).toHaveLength(1);
      const check = CHECKS[step.operation];
      if (!check)
        throw new Error(`aws ${step.operation} is neither checked (checks.ts) nor listed (not-run.ts)`);
      await check({ command: step, args: parseCliArgs(result.awsArgs[0]!), stdout: result.stdout }, ctx);
      if (step.assigns) sh.vars[step.assigns] = result.stdout.replace(/\n+$/, '');
    });
  }

  test('leaves the node security group open on exactly the chart’s ports, and no reservation behind', async () => {
    const { udp, tcp } = chartPorts();
    const sg = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [world.nodeSecurityGroup] })))
      .SecurityGroups![0]!;
    const open = (sg.IpPermissions ?? []).map((p) => `${p.IpProtocol}/${p.FromPort}-${p.ToPort}`).sort();
    expect(open).toEqual([`tcp/${tcp}-${tcp}`, `udp/${udp}-${udp}`]);
    for (const s of [world.subnetA, world.subnetB]) {
      const r = await ec2.send(new GetSubnetCidrReservationsCommand({ SubnetId: s.id }));
      expect(r.SubnetIpv4CidrReservations ?? []).toEqual([]);
    }
  });
});
