/**
 * @module
 * What a check of a quick-start command gets: the command that ran (with the arguments the CLI got after the
 * shell expanded them, and what it printed) and where to read LocalStack's state; plus the facts elsewhere in
 * the repository that the quick start's commands must agree with (the chart's ports, the EgressGateway's IPs).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { parse } from 'yaml';
import { LOCALSTACK_ACCOUNT } from '../iam/ec2-facts.ts';
import type { CliArgs } from './cli-args.ts';
import type { AwsCommand } from './doc-commands.ts';
import type { QuickStartShell } from './shell.ts';
import type { QuickStartWorld } from './world.ts';

/** A command that ran. */
export interface Ran {
  readonly command: AwsCommand;
  readonly args: CliArgs;
  readonly stdout: string;
}

/** What the checks read. */
export interface CheckContext {
  readonly ec2: EC2Client;
  readonly shell: QuickStartShell;
  readonly world: QuickStartWorld;
  /** The quick start's Markdown. */
  readonly doc: string;
}

/** Asserts what a command did; throws (vitest `expect`) when it did not. */
export type Check = (ran: Ran, ctx: CheckContext) => Promise<void>;

const CHART_VALUES = join(import.meta.dirname, '..', '..', '..', 'charts', 'cloud-egress', 'values.yaml');

/** The ports the chart's agents use: VXLAN (UDP) and the health probe (TCP). */
export function chartPorts(): { readonly udp: number; readonly tcp: number } {
  const values = parse(readFileSync(CHART_VALUES, 'utf8')) as {
    agent: { vxlan: { port: number }; healthPort: number };
  };
  return { udp: values.agent.vxlan.port, tcp: values.agent.healthPort };
}

/** The egress IPs of the quick start's EgressGateway (§7, `ips: [...]`). */
export function gatewayIPs(doc: string): string[] {
  const m = /^\s*ips: (\[.*?\])/m.exec(doc);
  if (!m) throw new Error('the quick start has no EgressGateway `ips: [...]`');
  return JSON.parse(m[1]!) as string[];
}

/** The ARN of an IAM object of LocalStack's account. */
export const iamArn = (kind: string, name: string): string =>
  `arn:aws:iam::${LOCALSTACK_ACCOUNT}:${kind}/${name}`;

/** The path of a `file://` argument. */
export const fileOf = (uri: string): string => uri.replace(/^file:\/\//, '');
