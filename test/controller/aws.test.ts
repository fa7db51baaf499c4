/**
 * The controller with the AWS provider on LocalStack and a real kube-apiserver: the ENIs hold exactly the IPs
 * the policy's status reports, and after a node failure the IPs move between ENIs and EC2 agrees.
 * The provider's endpoint and region come from the gateway's annotations (the per-gateway settings path).
 * Then the lying-cloud cases (verification.case.ts) on the same LocalStack, through the fault proxy.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../localstack/localstack.ts';
import { createAwsProviderTuned } from '../../providers/aws/index.ts';
import { ANNOTATIONS } from '../../src/api/annotations.ts';
import { startAwsWorld } from '../aws/conformance-world.ts';
import {
  createVpc,
  freeIPsIn,
  runInstance,
  secondaryIPs,
  testEc2Client,
  type Vpc,
  type WorldInstance,
} from '../aws/world.ts';
import { useControlPlane } from '../harness/vitest.ts';
import { eventually } from '../support/eventually.ts';
import { runVerificationCases } from './verification.case.ts';
import { ControllerWorld, testSettings } from './world.ts';

const kube = useControlPlane();
let ls: LocalStack;
let ec2: EC2Client;
let vpc: Vpc;
let world: ControllerWorld;

beforeAll(async () => {
  ls = await startLocalStack();
  ec2 = testEc2Client(ls);
  vpc = await createVpc(ec2, ['us-east-1a']);
}, 900_000);
afterAll(async () => {
  ec2?.destroy();
  await ls?.stop();
});
beforeEach(() => {
  world = new ControllerWorld(kube.controlPlane.kubeConfig, kube.namespace);
});
afterEach(async () => {
  await world.close();
});

it('places a policy on ENIs in LocalStack and moves the IPs when a node fails; EC2 agrees each time', async () => {
  const instances: WorldInstance[] = [];
  for (const short of ['a1', 'a2']) {
    const inst = await runInstance(ec2, vpc.subnets[0]!, world.node(short), 'm5.large');
    instances.push(inst);
    await world.addNodeObject({
      name: short,
      providerID: inst.ref.providerID,
      zone: inst.zone,
      address: inst.primaryIP,
    });
  }
  const pool = await freeIPsIn(ec2, vpc.vpcId, vpc.subnets[0]!.cidr, 4, 100);
  const gw = await world.createGateway(
    'gw',
    { ips: pool, namespaceSelector: {} },
    { [ANNOTATIONS.endpoint]: ls.endpoint, [ANNOTATIONS.region]: ls.region },
  );
  const endpoints: (string | undefined)[] = [];
  await world.startController({
    settings: testSettings({ provider: 'auto' }),
    maker: (name, settings) => {
      endpoints.push(settings.endpoint);
      expect(name).toBe('aws');
      return createAwsProviderTuned(settings, { credentials: ls.credentials });
    },
  });
  await world.createPolicy('p', { gatewayName: gw, count: 4 });

  const onEnis = async () => {
    const out = new Map<string, string>();
    for (const inst of instances)
      for (const ip of await secondaryIPs(ec2, inst.eniId)) out.set(ip, inst.ref.name);
    return out;
  };
  const ready = await eventually(
    '4 IPs Ready',
    async () => {
      const a = (await world.getPolicy('p'))?.status?.assignments ?? [];
      return a.length === 4 && a.every((x) => x.state === 'Ready') ? a : undefined;
    },
    { timeoutMs: 60_000 },
  );
  expect(endpoints[0]).toBe(ls.endpoint);
  expect(Object.fromEntries(await onEnis())).toEqual(Object.fromEntries(ready.map((a) => [a.ip, a.node])));

  const victim = ready[0]!.node!;
  await world.setNodeReady(victim.slice(world.namespace.length + 1), { ready: false });
  const moved = await eventually(
    'IPs moved off the failed node',
    async () => {
      const a = (await world.getPolicy('p'))?.status?.assignments ?? [];
      return a.length === 4 && a.every((x) => x.state === 'Ready' && x.node !== victim) ? a : undefined;
    },
    { timeoutMs: 60_000 },
  );
  const after = await onEnis();
  expect(Object.fromEntries(after)).toEqual(Object.fromEntries(moved.map((a) => [a.ip, a.node])));
  expect([...after.values()]).not.toContain(victim);
});

runVerificationCases({
  name: 'aws (LocalStack behind the fault proxy)',
  kube,
  setup: () => startAwsWorld({ localstack: ls }),
});
