/**
 * @module
 * The AWS world on LocalStack of the conformance suite and of the lying-cloud cases: a VPC with subnets in
 * us-east-1a and us-east-1b; nodes `a` and `b` (m5.xlarge, 15 IPv4 per ENI) in the first, `c` (t3.micro, 2 per
 * ENI) in the second. `cloudIPs` reads `DescribeNetworkInterfaces` straight from LocalStack; the provider reaches
 * LocalStack through the fault proxy (fault-proxy.ts), whose log of interface writes is `writes()` (each write
 * delayed by 100 ms there) and whose lies are `lies`.
 */
import { type LocalStack, startLocalStack } from '../../localstack/localstack.ts';
import { createAwsProviderTuned } from '../../providers/aws/index.ts';
import type { WorldNode } from '../conformance/cloud-provider.case.ts';
import type { LyingWorld } from '../conformance/lying-cloud.case.ts';
import { INTERFACE_WRITES, startFaultProxy } from './fault-proxy.ts';
import {
  assignAsOtherTool,
  createVpc,
  freeIPsIn,
  resetEnis,
  runInstance,
  secondaryIPs,
  testEc2Client,
  type WorldInstance,
} from './world.ts';

/**
 * Starts the world on a LocalStack of its own, or on `options.localstack` (then closing the world leaves that
 * LocalStack running).
 */
export async function startAwsWorld(options: { localstack?: LocalStack } = {}): Promise<LyingWorld> {
  const ls = options.localstack ?? (await startLocalStack());
  const proxy = await startFaultProxy(ls.endpoint);
  // Interface writes take time, as on EC2, so two writes of one ENI that overlap show in the log.
  for (const action of INTERFACE_WRITES) {
    proxy.inject({ action, fault: 'latency', latencyMs: 100, times: Number.POSITIVE_INFINITY });
  }
  const ec2 = testEc2Client(ls);
  const vpc = await createVpc(ec2, ['us-east-1a', 'us-east-1b']);
  const [s1, s2] = vpc.subnets;
  const instances = {
    a: await runInstance(ec2, s1!, 'node-a', 'm5.xlarge'),
    b: await runInstance(ec2, s1!, 'node-b', 'm5.xlarge'),
    c: await runInstance(ec2, s2!, 'node-c', 't3.micro'),
  };
  const byName = new Map<string, WorldInstance>(Object.values(instances).map((i) => [i.ref.name, i]));
  const eniOf = (node: WorldNode) => byName.get(node.ref.name)!.eniId;
  const provider = createAwsProviderTuned(
    { owner: 'conformance', endpoint: proxy.endpoint },
    { credentials: ls.credentials, retry: { retries: 2 } },
  );
  return {
    provider,
    lies: proxy.lies,
    nodes: instances,
    missing: { name: 'node-gone', providerID: 'aws:///us-east-1a/i-0123456789abcdef0' },
    outsideIP: '192.0.2.50',
    freeIPs: (subnet, count) => freeIPsIn(ec2, vpc.vpcId, subnet, count),
    cloudIPs: (node) => secondaryIPs(ec2, eniOf(node)),
    primaryIP: async (node) => byName.get(node.ref.name)!.primaryIP,
    addForeignIP: (node, ip) => assignAsOtherTool(ec2, eniOf(node), [ip]),
    writes: async () => proxy.interfaceWrites(),
    reset: async () => {
      await resetEnis(
        ec2,
        [...byName.values()].map((i) => i.eniId),
      );
      proxy.resetCounts();
    },
    close: async () => {
      ec2.destroy();
      await proxy.close();
      if (!options.localstack) await ls.stop();
    },
  };
}
