/**
 * @module
 * The provider conformance suite against the AWS provider on LocalStack (EC2 fidelity patches on). The world:
 * a VPC with subnets in us-east-1a and us-east-1b; nodes `a` and `b` (m5.large, 10 IPv4 per ENI) in the first,
 * `c` (t3.micro, 2 per ENI) in the second. `cloudIPs` reads `DescribeNetworkInterfaces`.
 */
import { startLocalStack } from '../../localstack/localstack.ts';
import { createAwsProviderTuned } from '../../providers/aws/index.ts';
import {
  assignAsOtherTool,
  createVpc,
  freeIPsIn,
  resetEnis,
  runInstance,
  secondaryIPs,
  testEc2Client,
  type WorldInstance,
} from '../aws/world.ts';
import { type ConformanceWorld, runProviderConformance, type WorldNode } from './cloud-provider.case.ts';

async function awsWorld(): Promise<ConformanceWorld> {
  const ls = await startLocalStack();
  const ec2 = testEc2Client(ls);
  const vpc = await createVpc(ec2, ['us-east-1a', 'us-east-1b']);
  const [s1, s2] = vpc.subnets;
  const instances = {
    a: await runInstance(ec2, s1!, 'node-a', 'm5.large'),
    b: await runInstance(ec2, s1!, 'node-b', 'm5.large'),
    c: await runInstance(ec2, s2!, 'node-c', 't3.micro'),
  };
  const byName = new Map<string, WorldInstance>(Object.values(instances).map((i) => [i.ref.name, i]));
  const eniOf = (node: WorldNode) => byName.get(node.ref.name)!.eniId;
  const provider = createAwsProviderTuned(
    { owner: 'conformance', endpoint: ls.endpoint },
    { credentials: ls.credentials, retry: { retries: 2 } },
  );
  return {
    provider,
    nodes: instances,
    missing: { name: 'node-gone', providerID: 'aws:///us-east-1a/i-0123456789abcdef0' },
    outsideIP: '192.0.2.50',
    freeIPs: (subnet, count) => freeIPsIn(ec2, vpc.vpcId, subnet, count),
    cloudIPs: (node) => secondaryIPs(ec2, eniOf(node)),
    primaryIP: async (node) => byName.get(node.ref.name)!.primaryIP,
    addForeignIP: (node, ip) => assignAsOtherTool(ec2, eniOf(node), [ip]),
    reset: () =>
      resetEnis(
        ec2,
        [...byName.values()].map((i) => i.eniId),
      ),
    close: async () => {
      ec2.destroy();
      await ls.stop();
    },
  };
}

runProviderConformance({ name: 'aws (LocalStack)', setup: awsWorld });
