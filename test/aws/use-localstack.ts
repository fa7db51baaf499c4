/**
 * @module
 * Vitest wiring for LocalStack: one LocalStack for the test file or `describe` block (started in `beforeAll`,
 * stopped in `afterAll`), with an EC2 client for it and a VPC with a subnet in each of `zones`.
 *
 * ```ts
 * const aws = useLocalStackVpc();
 * it('…', async () => {
 *   const inst = await runInstance(aws.ec2, aws.vpc.subnets[0]!, 'gw', 'm5.large');
 * });
 * ```
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll } from 'vitest';
import { type LocalStack, startLocalStack } from '../../localstack/localstack.ts';
import { createVpc, testEc2Client, type Vpc } from './world.ts';

/** What {@link useLocalStackVpc} hands to the tests. */
export interface LocalStackVpc {
  readonly ls: LocalStack;
  readonly ec2: EC2Client;
  readonly vpc: Vpc;
}

/** Registers the hooks; read the fixture's members inside tests or hooks. */
export function useLocalStackVpc(zones: readonly string[] = ['us-east-1a']): LocalStackVpc {
  let ls: LocalStack | undefined;
  let ec2: EC2Client | undefined;
  let vpc: Vpc | undefined;
  beforeAll(async () => {
    ls = await startLocalStack();
    ec2 = testEc2Client(ls);
    vpc = await createVpc(ec2, zones);
  }, 900_000);
  afterAll(async () => {
    ec2?.destroy();
    await ls?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('LocalStack is not running (use it inside tests or hooks)');
    return value;
  };
  return {
    get ls() {
      return started(ls);
    },
    get ec2() {
      return started(ec2);
    },
    get vpc() {
      return started(vpc);
    },
  };
}
