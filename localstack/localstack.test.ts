/**
 * @module
 * The LocalStack harness: installs idempotently (two callers at once share one install), starts EC2 on a free
 * port of 127.0.0.1, and stops without leaving anything listening.
 */
import { DescribeInstanceTypesCommand } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { testEc2Client } from '../test/aws/world.ts';
import { installLocalStack, startLocalStack } from './localstack.ts';

describe('LocalStack harness', () => {
  it('installs idempotently, serves EC2 on 127.0.0.1 and leaves nothing running after stop', async () => {
    await Promise.all([installLocalStack(), installLocalStack()]);
    const ls = await startLocalStack();
    expect(new URL(ls.endpoint).hostname).toBe('127.0.0.1');
    const ec2 = testEc2Client(ls);
    try {
      const types = await ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['m5.large'] }));
      expect(types.InstanceTypes?.[0]?.NetworkInfo?.Ipv4AddressesPerInterface).toBe(10);
    } finally {
      ec2.destroy();
      await ls.stop();
    }
    await expect(fetch(`${ls.endpoint}/_localstack/health`)).rejects.toThrow();
  });
});
