/**
 * The controller with the AWS provider on LocalStack and a real kube-apiserver: the ENIs hold exactly the IPs
 * the policy's status reports, and after a node failure the IPs move between ENIs and EC2 agrees.
 * The provider's endpoint and region come from the gateway's annotations (the per-gateway settings path).
 * Then the lying-cloud cases (verification.case.ts) on the same LocalStack, through the fault proxy.
 */
import {
  AllocateAddressCommand,
  AssignPrivateIpAddressesCommand,
  DescribeAddressesCommand,
} from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createAwsProviderTuned } from '../../providers/aws/index.ts';
import { ANNOTATIONS } from '../../src/api/annotations.ts';
import { startAwsWorld } from '../aws/conformance-world.ts';
import { useLocalStackVpc } from '../aws/use-localstack.ts';
import {
  createVpc,
  freeIPsIn,
  runInstance,
  secondaryIPs,
  type Vpc,
  type WorldInstance,
} from '../aws/world.ts';
import { useControlPlane } from '../harness/vitest.ts';
import { eventually } from '../support/eventually.ts';
import { runVerificationCases } from './verification.case.ts';
import { ControllerWorld, testSettings } from './world.ts';

const kube = useControlPlane();
const aws = useLocalStackVpc();
let world: ControllerWorld;
beforeEach(() => {
  world = new ControllerWorld(kube.controlPlane.kubeConfig, kube.namespace);
});
afterEach(async () => {
  await world.close();
});

/** Instances a1 and a2 in `subnet`, each with its Ready Node. */
async function gatewayNodes(subnet: Vpc['subnets'][number]): Promise<WorldInstance[]> {
  const instances: WorldInstance[] = [];
  for (const short of ['a1', 'a2']) {
    const inst = await runInstance(aws.ec2, subnet, world.node(short), 'm5.large');
    instances.push(inst);
    await world.addNodeObject({
      name: short,
      providerID: inst.ref.providerID,
      zone: inst.zone,
      address: inst.primaryIP,
    });
  }
  return instances;
}

/** The secondary IPs on the instances' ENIs, IP -> node, as EC2 has them. */
async function secondariesOn(instances: readonly WorldInstance[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const inst of instances)
    for (const ip of await secondaryIPs(aws.ec2, inst.eniId)) out.set(ip, inst.ref.name);
  return out;
}

/** The policy's assignments once it has `n`, all Ready. */
const readyAssignments = (name: string, n: number) =>
  eventually(
    `${name}: ${n} IPs Ready`,
    async () => {
      const a = (await world.getPolicy(name))?.status?.assignments ?? [];
      return a.length === n && a.every((x) => x.state === 'Ready') ? a : undefined;
    },
    { timeoutMs: 60_000 },
  );

it('places a policy on ENIs in LocalStack and moves the IPs when a node fails; EC2 agrees each time', async () => {
  const instances = await gatewayNodes(aws.vpc.subnets[0]!);
  const pool = await freeIPsIn(aws.ec2, aws.vpc.vpcId, aws.vpc.subnets[0]!.cidr, 4, 100);
  const gw = await world.createGateway(
    'gw',
    { ips: pool, namespaceSelector: {} },
    { [ANNOTATIONS.endpoint]: aws.ls.endpoint, [ANNOTATIONS.region]: aws.ls.region },
  );
  const endpoints: (string | undefined)[] = [];
  await world.startController({
    settings: testSettings({ provider: 'auto' }),
    maker: (name, settings) => {
      endpoints.push(settings.endpoint);
      expect(name).toBe('aws');
      return createAwsProviderTuned(settings, { credentials: aws.ls.credentials });
    },
  });
  await world.createPolicy('p', { gatewayName: gw, count: 4 });

  const onEnis = () => secondariesOn(instances);
  const ready = await readyAssignments('p', 4);
  expect(endpoints[0]).toBe(aws.ls.endpoint);
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

it('with the VPC CNI running puts no egress IP on the primary ENIs it manages: the nodes and Preflight say why with the fix; the annotation interface=0 takes them; back to the default they keep what they hold', async () => {
  const instances = await gatewayNodes(aws.vpc.subnets[0]!);
  const pool = await freeIPsIn(aws.ec2, aws.vpc.vpcId, aws.vpc.subnets[0]!.cidr, 2, 60);
  const awsNode = `aws-node-${world.namespace}`;
  await world.core.createNamespacedPod({
    namespace: 'kube-system',
    body: {
      metadata: { name: awsNode, labels: { 'k8s-app': 'aws-node' } },
      spec: { containers: [{ name: 'aws-node', image: 'amazon-k8s-cni' }] },
    },
  });
  try {
    const annotations = { [ANNOTATIONS.endpoint]: aws.ls.endpoint, [ANNOTATIONS.region]: aws.ls.region };
    const gw = await world.createGateway('gw', { ips: pool, namespaceSelector: {} }, annotations);
    await world.startController({
      settings: testSettings({ provider: 'auto', preflightIntervalMs: 500 }),
      // As the registry does: the controller's answers (whether aws-node runs) reach the provider.
      maker: (_name, settings, context) =>
        createAwsProviderTuned(settings, {
          credentials: aws.ls.credentials,
          ...(context.cluster ? { cluster: context.cluster } : {}),
        }),
    });
    await world.createPolicy('p', { gatewayName: gw, count: 2 });

    const refused = await eventually('both nodes refused', async () => {
      const nodes = (await world.getGateway(gw)).status?.nodes ?? [];
      return nodes.length === 2 && nodes.every((n) => /no egress IPs go on/.test(n.message ?? ''))
        ? nodes
        : undefined;
    });
    for (const n of refused) {
      const inst = instances.find((i) => i.ref.name === n.name)!;
      expect(n.ready).toBe(true); // it forwards what it holds
      expect(n.message).toBe(
        `node ${n.name}: no egress IPs go on ${inst.eniId}, the primary ENI of ${inst.instanceId}, by default: the ` +
          'Amazon VPC CNI manages it (aws-node runs, the ENI has no node.k8s.amazonaws.com/no_manage=true tag), ' +
          'and ipamd adds its secondary IPs to the pod IP pool and may give an egress IP to a pod or release it ' +
          '(fix: give each gateway node a second ENI tagged node.k8s.amazonaws.com/no_manage=true and select it ' +
          "with the chart's cloud.interface.tag and agent.egressInterface (docs/quickstart-eks.md §2); or keep " +
          'egress IPs on the primary ENI anyway with cloud.interface.index=0)',
      );
    }
    const preflight = await eventually('Preflight names the refusal', async () =>
      (await world.getGateway(gw)).status?.conditions?.find(
        (c) => c.type === 'Preflight' && c.status === 'False' && c.message.includes('VPC CNI'),
      ),
    );
    expect(preflight.message).toContain(
      'so by default no egress IP goes on it, and those it holds move off it (fix: put egress IPs on a second ENI',
    );
    expect(preflight.message).toContain(
      'or keep egress IPs on this ENI anyway with cloud.interface.index=0)',
    );
    // The policy says where to look; no IP is Ready, none is in EC2.
    const policy = await eventually('the policy status', async () => {
      const status = (await world.getPolicy('p'))?.status;
      return status?.assignments?.length === 2 ? status : undefined;
    });
    for (const a of policy.assignments ?? []) {
      expect(a).toMatchObject({
        state: 'Failed',
        reason: 'NoEligibleNode',
        message: `no healthy node of EgressGateway "${gw}" can hold ${a.ip} (nodes in its subnet: ${instances
          .map((i) => i.ref.name)
          .sort()
          .join(', ')}; none that takes new egress IPs: ${instances
          .map((i) => i.ref.name)
          .sort()
          .join(', ')} leaving or refused by the cloud, the gateway's status.nodes say why)`,
      });
    }
    expect(await secondariesOn(instances)).toEqual(new Map());

    // The user's own choice, on the gateway: the primary ENI anyway.
    await world.patchGateway(gw, { metadata: { annotations: { [ANNOTATIONS.interface]: '0' } } });
    const ready = await readyAssignments('p', 2);
    expect(Object.fromEntries(await secondariesOn(instances))).toEqual(
      Object.fromEntries(ready.map((a) => [a.ip, a.node])),
    );

    // Back to the default (an upgrade that kept no index): the nodes are refused again, and the IPs they hold stay
    // where they are, Ready, as no other node can take them (the holder keeps its IP).
    await world.patchGateway(gw, { metadata: { annotations: { [ANNOTATIONS.interface]: null } } });
    await eventually('both nodes refused again', async () => {
      const nodes = (await world.getGateway(gw)).status?.nodes ?? [];
      return nodes.length === 2 && nodes.every((n) => /no egress IPs go on/.test(n.message ?? ''));
    });
    const kept = (await world.getPolicy('p'))?.status?.assignments ?? [];
    expect(kept.map((a) => [a.ip, a.node, a.state])).toEqual(ready.map((a) => [a.ip, a.node, 'Ready']));
    expect(Object.fromEntries(await secondariesOn(instances))).toEqual(
      Object.fromEntries(ready.map((a) => [a.ip, a.node])),
    );
  } finally {
    await world.core.deleteNamespacedPod({ namespace: 'kube-system', name: awsNode }).catch(() => undefined);
  }
});

it('pairs an Elastic IP from spec.publicAddresses with its egress IP, shows it in the status, and carries it on a failover', async () => {
  const instances = await gatewayNodes(aws.vpc.subnets[0]!);
  const [ip] = await freeIPsIn(aws.ec2, aws.vpc.vpcId, aws.vpc.subnets[0]!.cidr, 1, 200);
  const eip = await aws.ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
  const allocationId = eip.AllocationId!;
  const gw = await world.createGateway(
    'gw',
    { ips: [ip!], namespaceSelector: {}, publicAddresses: [{ ip: ip!, address: allocationId }] },
    { [ANNOTATIONS.endpoint]: aws.ls.endpoint, [ANNOTATIONS.region]: aws.ls.region },
  );
  await world.startController({
    settings: testSettings({ provider: 'auto' }),
    maker: (_name, settings) => createAwsProviderTuned(settings, { credentials: aws.ls.credentials }),
  });
  await world.createPolicy('p', { gatewayName: gw, count: 1 });
  const eipOn = async () =>
    (await aws.ec2.send(new DescribeAddressesCommand({ AllocationIds: [allocationId] }))).Addresses![0]!;
  const eniOf = (node: string) => instances.find((i) => i.ref.name === node)!.eniId;

  const [first] = await readyAssignments('p', 1);
  const paired = await eventually('the EIP on the egress IP', async () => {
    const a = await eipOn();
    return a.PrivateIpAddress === ip ? a : undefined;
  });
  expect(paired.NetworkInterfaceId).toBe(eniOf(first!.node!));
  // The public IP shows once EC2 has listed the association (the next pass after the one that made it).
  const status = await eventually('the gateway status shows the pairing and its public IP', async () => {
    const s = (await world.getGateway(gw)).status?.publicAddresses;
    return s?.[0]?.publicIp ? s : undefined;
  });
  expect(status).toEqual([{ ip, address: allocationId, publicIp: eip.PublicIp }]);

  await world.setNodeReady(first!.node!.slice(world.namespace.length + 1), { ready: false });
  const moved = await eventually(
    'the IP moved off the failed node',
    async () => {
      const [a] = (await world.getPolicy('p'))?.status?.assignments ?? [];
      return a?.state === 'Ready' && a.node !== first!.node ? a : undefined;
    },
    { timeoutMs: 60_000 },
  );
  const after = await eipOn();
  expect({ eni: after.NetworkInterfaceId, ip: after.PrivateIpAddress }).toEqual({
    eni: eniOf(moved.node!),
    ip,
  });
});

it('hands out none of the addresses EC2 reserves, and an IP another ENI holds is a conflict naming that ENI', async () => {
  const own = await createVpc(aws.ec2, ['us-east-1a']);
  const subnet = own.subnets[0]!;
  const instances = await gatewayNodes(subnet);
  // An instance that is no Node of the cluster, holding another tool's secondary IP (untagged) of the subnet.
  const other = await runInstance(aws.ec2, subnet, `${world.namespace}-other`, 'm5.large');
  const [foreign] = await freeIPsIn(aws.ec2, own.vpcId, subnet.cidr, 1, 200);
  await aws.ec2.send(
    new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: other.eniId, PrivateIpAddresses: [foreign!] }),
  );

  const prefix = subnet.cidr.split('.').slice(0, 3).join('.');
  const reserved = [0, 1, 2, 3, 255].map((h) => `${prefix}.${h}`);
  const gw = await world.createGateway(
    'gw',
    { ips: [subnet.cidr], namespaceSelector: {} },
    { [ANNOTATIONS.endpoint]: aws.ls.endpoint, [ANNOTATIONS.region]: aws.ls.region },
  );
  await world.startController({
    maker: (_name, settings) => createAwsProviderTuned(settings, { credentials: aws.ls.credentials }),
  });
  await world.createPolicy('p', { gatewayName: gw, count: 3 });
  await world.createPolicy('r', { gatewayName: gw, egressIPs: [`${prefix}.1`] });
  await world.createPolicy('q', { gatewayName: gw, egressIPs: [foreign!] });

  const ready = await readyAssignments('p', 3);

  const primaries = instances.map((i) => i.primaryIP);
  for (const a of ready) {
    expect(reserved).not.toContain(a.ip);
    expect(primaries).not.toContain(a.ip);
  }
  const r = await eventually('r refused', async () => {
    const a = (await world.getPolicy('r'))?.status?.assignments?.[0];
    return a?.reason === 'IPReserved' ? a : undefined;
  });
  expect(r.state).toBe('Failed');
  const q = await eventually(
    'q refused naming the ENI that holds its IP',
    async () => {
      const p = await world.getPolicy('q');
      return p?.status?.assignments?.[0]?.reason === 'IPHeldInCloud' ? p : undefined;
    },
    { timeoutMs: 60_000 },
  );
  expect(q.status?.assignments?.[0]?.message).toContain(other.eniId);
  expect(q.status?.conditions?.find((c) => c.type === 'Conflicted')).toMatchObject({
    status: 'True',
    reason: 'IPHeldInCloud',
  });
  // EC2 agrees: p's IPs on the gateway ENIs, nothing else there; the other ENI keeps its IP.
  const onEnis = await secondariesOn(instances);
  expect(Object.fromEntries(onEnis)).toEqual(Object.fromEntries(ready.map((a) => [a.ip, a.node])));
  expect(await secondaryIPs(aws.ec2, other.eniId)).toEqual([foreign]);
});

runVerificationCases({
  name: 'aws (LocalStack behind the fault proxy)',
  kube,
  setup: () => startAwsWorld({ localstack: aws.ls }),
});
