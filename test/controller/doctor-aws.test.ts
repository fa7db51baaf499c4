/**
 * @module
 * `cloud-egress doctor` on EKS-shaped gateways: the AWS provider on LocalStack (through the fault proxy, which
 * answers an IAM denial as EC2 does) and a real kube-apiserver. Each case breaks one thing and asserts the doctor
 * names it with its fix: cluster CIDRs not found (typed ones, `--cluster-cidr`, stand for them), a denied permission
 * (CreateTags DryRun on the subnet), a full ENI, an ENI the VPC CNI manages and the source/destination check it
 * needs off when the agents' return path is podNetwork (`--agent-return-path`; with the default, tunnel, the check
 * may stay on); then each is mended.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../localstack/localstack.ts';
import { createAwsProviderTuned } from '../../providers/aws/index.ts';
import { runDoctor } from '../../src/cli/doctor.ts';
import { parseConfig } from '../../src/config.ts';
import type { ProviderMaker } from '../../src/controller/provider-pool.ts';
import { silentLogger } from '../../src/log.ts';
import type { CloudProvider } from '../../src/provider/contract.ts';
import { type FaultProxy, startFaultProxy } from '../aws/fault-proxy.ts';
import {
  assignAsOtherTool,
  createVpc,
  freeIPsIn,
  mendForVpcCni,
  runInstance,
  testEc2Client,
  type Vpc,
  type WorldInstance,
} from '../aws/world.ts';
import { useControlPlane } from '../harness/vitest.ts';
import { createCustomObject } from '../support/custom-objects.ts';
import { egressGateway } from '../support/egress-gateways.ts';
import { createNode } from '../support/nodes.ts';

const kube = useControlPlane({ namespacePerTest: false });
let ls: LocalStack;
let proxy: FaultProxy;
let ec2: EC2Client;
let vpc: Vpc;
let provider: CloudProvider;
let core: CoreV1Api;
let roomy: WorldInstance;
let small: WorldInstance;

beforeAll(async () => {
  ls = await startLocalStack();
  proxy = await startFaultProxy(ls.endpoint);
  ec2 = testEc2Client(ls);
  vpc = await createVpc(ec2, ['us-east-1a']);
  roomy = await runInstance(ec2, vpc.subnets[0]!, 'gw-roomy', 'm5.large');
  // t3.micro: 2 IPv4 addresses per ENI, the primary included.
  small = await runInstance(ec2, vpc.subnets[0]!, 'gw-small', 't3.micro');
  provider = createAwsProviderTuned(
    { owner: 'doctor', endpoint: proxy.endpoint },
    { credentials: ls.credentials, retry: { retries: 0 } },
  );
  core = kube.controlPlane.kubeConfig.makeApiClient(CoreV1Api);
  const custom = kube.controlPlane.kubeConfig.makeApiClient(CustomObjectsApi);
  for (const n of [roomy, small]) {
    await createNode(core, { name: n.ref.name, providerID: n.ref.providerID, labels: { pool: 'eks' } });
  }
  await createCustomObject(
    custom,
    egressGateway({
      name: 'eks',
      spec: { nodeSelector: { matchLabels: { pool: 'eks' } }, ips: ['10.0.1.0/28'] },
    }),
  );
});
afterAll(async () => {
  ec2?.destroy();
  await proxy?.close();
  await ls?.stop();
});

/** The doctor on gateway `eks`, configured from its command line (`parseConfig`) with `flags` added. */
const doctor = (...flags: string[]) => doctorWith(async () => provider, ...flags);

/**
 * The doctor with the AWS provider made from its own settings and context, as the registry makes it: the doctor's
 * answer whether the VPC CNI runs reaches the provider.
 */
const registryDoctor = (...flags: string[]) =>
  doctorWith(
    async (_name, settings, context) =>
      createAwsProviderTuned(
        { ...settings, endpoint: proxy.endpoint },
        {
          credentials: ls.credentials,
          retry: { retries: 0 },
          ...(context.cluster ? { cluster: context.cluster } : {}),
        },
      ),
    ...flags,
  );

async function doctorWith(make: ProviderMaker, ...flags: string[]) {
  const config = parseConfig(
    [
      'doctor',
      '--kubeconfig',
      kube.controlPlane.kubeconfigPath,
      '--owner',
      'doctor',
      '--gateway',
      'eks',
      ...flags,
    ],
    {},
  );
  if (config.command !== 'doctor') throw new Error(`parsed as ${config.command}`);
  let text = '';
  const code = await runDoctor(config.doctor, {
    logger: silentLogger(),
    make,
    write: (t) => {
      text += t;
    },
  });
  return { code, text };
}

it('names missing cluster CIDRs with the fix; a Node with a pod CIDR (and the default ServiceCIDR) mends it', async () => {
  const before = await doctor();
  expect(before.code).toBe(1);
  expect(before.text).toMatch(/FAIL +cluster CIDRs: not found: pod CIDRs \(no Node has spec.podCIDRs\)/);
  expect(before.text).toContain("fix: set the chart's agent.clusterCIDRs to the pod and Service CIDRs");
  // Typed, as the fix says (the doctor's --cluster-cidr): they may stand for the pod CIDRs no Node lists.
  const typed = await doctor('--cluster-cidr', '10.244.0.0/16');
  expect(typed.text).toMatch(
    /ok +cluster CIDRs: pods: none discovered \(no Node has spec.podCIDRs\); Services: \S+ \(discovered\); typed: 10\.244\.0\.0\/16 \(these must include the pod CIDRs\)\n/,
  );
  expect(typed.code).toBe(0);
  // A Node the kubelet registered with a pod CIDR (not a gateway node).
  await createNode(core, { name: 'worker', podCIDR: '10.244.0.0/24' });
  const after = await doctor();
  expect(after.text).toMatch(
    /ok +cluster CIDRs: pods: 10\.244\.0\.0\/24 \(discovered\); Services: \S+ \(discovered\); typed: none/,
  );
  expect(after.text).toContain('gateway eks (provider aws, 2 nodes)');
  expect(after.text).toMatch(/ok +gw-roomy +free IP slots: 9 of 10 IPv4 addresses free/);
  expect(after.text).toMatch(/ok +permission ec2:CreateTags: granted on subnet/);
  expect(after.code).toBe(0);
});

it('names a denied permission: CreateTags(DryRun) of the claim tags on the subnet answered UnauthorizedOperation', async () => {
  proxy.inject({ action: 'CreateTags', fault: 'unauthorized', times: 1, withParam: 'DryRun' });
  const denied = await doctor();
  expect(denied.code).toBe(1);
  expect(denied.text).toMatch(
    /FAIL +permission ec2:CreateTags: denied on subnet subnet-\S+ \(nodes gw-roomy, gw-small\)/,
  );
  expect(denied.text).toContain(
    'fix: grant ec2:CreateTags and ec2:DeleteTags on arn:aws:ec2:<region>:<account>:subnet/* for tag keys cloudegress.io/owner/*',
  );
  expect((await doctor()).code).toBe(0);
});

it('names a full ENI with the fix', async () => {
  const [ip] = await freeIPsIn(ec2, vpc.vpcId, small.subnet, 1, 60);
  await assignAsOtherTool(ec2, small.eniId, [ip!]);
  const full = await doctor();
  expect(full.code).toBe(1);
  expect(full.text).toMatch(
    new RegExp(
      `FAIL +gw-small +free IP slots: ${small.eniId} holds 2 of the 2 IPv4 addresses a t3.micro ENI can`,
    ),
  );
  expect(full.text).toContain(`fix: free secondary IPs on ${small.eniId}`);
});

it('with aws-node running: names the ENI the VPC CNI manages, and the source/destination check with --agent-return-path podNetwork only; the tag and the check off mend them', async () => {
  await core.createNamespacedPod({
    namespace: 'kube-system',
    body: {
      metadata: { name: 'aws-node-x', labels: { 'k8s-app': 'aws-node' } },
      spec: { containers: [{ name: 'aws-node', image: 'amazon-k8s-cni' }] },
    },
  });
  const managed = await doctor();
  expect(managed.text).toMatch(
    new RegExp(`FAIL +gw-roomy +VPC CNI: ${roomy.eniId} is managed by the Amazon VPC CNI`),
  );
  expect(managed.text).toContain(
    'fix: put egress IPs on a second ENI tagged node.k8s.amazonaws.com/no_manage=true',
  );
  // The default return path, tunnel: the check on is no fault.
  expect(managed.text).toMatch(
    new RegExp(
      `ok +gw-roomy +source/destination check: on for ${roomy.eniId}: the agents' return path is tunnel, so replies to pods return through the tunnel to the pod's node, which the check allows\n`,
    ),
  );
  expect(managed.text).not.toMatch(/FAIL +gw-\S+ +source\/destination check/);
  const podNetwork = await doctor('--agent-return-path', 'podNetwork');
  expect(podNetwork.code).toBe(1);
  expect(podNetwork.text).toMatch(
    new RegExp(
      `FAIL +gw-roomy +source/destination check: on for ${roomy.eniId} while the VPC CNI routes pod traffic over the VPC and the agents' return path is podNetwork`,
    ),
  );
  expect(podNetwork.text).toContain(
    `fix: turn the check off on the gateway nodes' ENIs: aws ec2 modify-network-interface-attribute --network-interface-id ${roomy.eniId} --no-source-dest-check; or use the chart's agent.returnPath=tunnel`,
  );
  // By default such an ENI takes no egress IP: the doctor says so, with the second fix; an index set is a choice.
  const refused = await registryDoctor();
  expect(refused.text).toMatch(
    new RegExp(
      `FAIL +gw-roomy +VPC CNI: ${roomy.eniId} is managed by the Amazon VPC CNI .*; so by default no egress IP goes on it, and those it holds move off it\n`,
    ),
  );
  expect(refused.text).toContain('or keep egress IPs on this ENI anyway with cloud.interface.index=0');
  const chosen = await registryDoctor('--interface', '0');
  expect(chosen.text).toMatch(new RegExp(`FAIL +gw-roomy +VPC CNI: ${roomy.eniId} is managed`));
  expect(chosen.text).not.toContain('so by default no egress IP goes on it');

  await mendForVpcCni(ec2, roomy.eniId);
  const mended = await doctor();
  expect(mended.text).toMatch(
    /ok +gw-roomy +VPC CNI: eni-\S+ is tagged node.k8s.amazonaws.com\/no_manage=true/,
  );
  expect(mended.text).toMatch(/ok +gw-roomy +source\/destination check: off/);
  expect((await doctor('--agent-return-path=podNetwork')).text).toMatch(
    /ok +gw-roomy +source\/destination check: off/,
  );
  expect(mended.text).toMatch(/FAIL +gw-small +VPC CNI/);
  // Pods take the VPC's addresses: untyped, the doctor says to list the VPC's CIDRs; typed, that they must be there.
  expect(mended.text).toMatch(
    /ok +cluster CIDRs: pods: the VPC's CIDRs \(the VPC CNI gives pods VPC addresses; the agents do not discover them: agent\.clusterCIDRs must list them\); Services: \S+ \(discovered\); typed: none\n/,
  );
  const typed = await doctor('--cluster-cidr=10.0.0.0/16');
  expect(typed.text).toMatch(
    /ok +cluster CIDRs: pods: the VPC's CIDRs \(the VPC CNI gives pods VPC addresses; the agents do not discover them\); Services: \S+ \(discovered\); typed: 10\.0\.0\.0\/16 \(with the VPC CNI these must include the VPC's CIDRs\)\n/,
  );
});
