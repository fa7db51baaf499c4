/**
 * @module
 * The gateway's Preflight condition against a real kube-apiserver: the checks `cloud-egress doctor` makes, run at
 * most once per interval (not on every reconcile), again when the gateway's generation changes. With the inmemory
 * provider (a wrapper adds a check): the rate limit. With the AWS provider on LocalStack: the cluster's facts read
 * from the API server reach the condition (cluster CIDRs not found; with aws-node running, the ENI the VPC CNI
 * manages, and the source/destination check when the agents' return path is podNetwork), each with its fix, until
 * they are mended; the typed cluster CIDRs (`--cluster-cidr`, as the chart passes agent.clusterCIDRs) stand for the
 * CIDRs the agents cannot discover; and `--agent-return-path` (as the chart passes agent.returnPath) decides whether
 * the source/destination check may stay on.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DescribeNetworkInterfacesCommand, DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import { NetworkingV1Api } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAwsProviderTuned } from '../../providers/aws/index.ts';
import { ANNOTATIONS } from '../../src/api/annotations.ts';
import { CONDITION, REASON } from '../../src/api/conditions.ts';
import { parseConfig } from '../../src/config.ts';
import type { CloudProvider } from '../../src/provider/contract.ts';
import { useLocalStackVpc } from '../aws/use-localstack.ts';
import { freeIPsIn, mendForVpcCni, runInstance, tagNoManage } from '../aws/world.ts';
import { useControlPlane } from '../harness/vitest.ts';
import { patchCustomObject } from '../support/custom-objects.ts';
import { eventually } from '../support/eventually.ts';
import { createNode } from '../support/nodes.ts';
import { ControllerWorld, testSettings } from './world.ts';

const kube = useControlPlane();
let world: ControllerWorld;
beforeEach(() => {
  world = new ControllerWorld(kube.controlPlane.kubeConfig, kube.namespace);
});
afterEach(async () => world.close());

/** The gateway's Preflight condition, as the API server has it, once it has `status` (and `until` holds). */
const preflight = (
  gateway: string,
  status: 'True' | 'False',
  until: (message: string) => boolean = () => true,
) =>
  eventually(
    `Preflight ${status}`,
    async () =>
      (await world.getGateway(gateway)).status?.conditions?.find(
        (c) => c.type === CONDITION.Preflight && c.status === status && until(c.message),
      ),
    { timeoutMs: 40_000 },
  );

it('shows the failed checks with their fixes, reruns only when due or the gateway changed, then passes', async () => {
  // A pod CIDR (and the API server's own ServiceCIDR): the cluster checks pass.
  await world.addNode({
    name: 'a1',
    zone: 'zone-a',
    subnet: '10.1.1.0/24',
    primaryIP: '10.1.1.10',
    podCIDR: '10.244.1.0/24',
  });
  const gw = await world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.103'], namespaceSelector: {} });
  let calls = 0;
  let granted = false;
  const withChecks = (inner: CloudProvider): CloudProvider => ({
    name: inner.name,
    capabilities: inner.capabilities,
    describeNode: (node, signal) => inner.describeNode(node, signal),
    listAssignments: (nodes, signal) => inner.listAssignments(nodes, signal),
    apply: (plan, signal) => inner.apply(plan, signal),
    preflight: async (nodes) => {
      calls++;
      return [
        {
          check: 'permission Example/write',
          node: nodes[0]!.name,
          ok: granted,
          message: granted ? 'held' : 'the identity lacks Example/write',
          ...(granted ? {} : { fix: 'grant Example/write' }),
        },
      ];
    },
  });
  await world.startController({
    settings: testSettings({ resyncPeriodMs: 1_000, preflightIntervalMs: 3_600_000 }),
    wrap: withChecks,
  });
  const failed = await preflight(gw, 'False');
  expect(failed.reason).toBe(REASON.PreflightFailed);
  expect(failed.message).toBe(
    `1 of 2 checks failed: ${world.node('a1')}: permission Example/write: the identity lacks Example/write (fix: grant Example/write)`,
  );
  await sleep(2_500); // two resyncs: the gateway is reconciled again, the checks are not
  expect(calls).toBe(1);

  granted = true;
  await patchCustomObject(
    world.custom,
    { kind: 'EgressGateway', name: gw },
    { spec: { ips: ['10.1.1.100-10.1.1.104'] } },
  );
  const passed = await preflight(gw, 'True');
  expect(passed.reason).toBe(REASON.PreflightPassed);
  expect(passed.message).toBe('2 checks passed');
  expect(calls).toBe(2);
});

describe('the AWS provider on LocalStack, with the cluster read from the API server', () => {
  const aws = useLocalStackVpc();

  /**
   * A controller with the AWS provider on LocalStack, the cluster CIDRs and the agents' return path of its command
   * line (`parseConfig`), and this test's timings.
   */
  const started = (...flags: string[]) => {
    const config = parseConfig(['controller', ...flags], {});
    if (config.command !== 'controller') throw new Error(`parsed as ${config.command}`);
    const { clusterCidrs, agentReturnPath } = config.controller.settings;
    return world.startController({
      settings: testSettings({
        resyncPeriodMs: 500,
        preflightIntervalMs: 500,
        agentReturnPath,
        ...(clusterCidrs ? { clusterCidrs } : {}),
      }),
      maker: (_name, settings) => createAwsProviderTuned(settings, { credentials: aws.ls.credentials }),
    });
  };

  /** Runs the Amazon VPC CNI's DaemonSet pod (what the preflight looks for) in kube-system; returns its removal. */
  async function runAwsNode(): Promise<() => Promise<void>> {
    const name = `aws-node-${world.namespace}`;
    await world.core.createNamespacedPod({
      namespace: 'kube-system',
      body: {
        metadata: { name, labels: { 'k8s-app': 'aws-node' } },
        spec: { containers: [{ name: 'aws-node', image: 'amazon-k8s-cni' }] },
      },
    });
    return async () => {
      await world.core.deleteNamespacedPod({ namespace: 'kube-system', name }).catch(() => undefined);
    };
  }

  /**
   * The gateway `gw` on one m5.large instance in the VPC's first subnet (its Node registered), with two free egress
   * IPs from host `.from` on, and the AWS provider pointed at LocalStack.
   */
  async function gatewayOnInstance(from: number) {
    const { ls, ec2, vpc } = aws;
    const inst = await runInstance(ec2, vpc.subnets[0]!, world.node('gw'), 'm5.large');
    await world.addInstanceNode('gw', inst);
    const ips = await freeIPsIn(ec2, vpc.vpcId, vpc.subnets[0]!.cidr, 2, from);
    const gw = await world.createGateway(
      'gw',
      { ips, namespaceSelector: {} },
      { [ANNOTATIONS.endpoint]: ls.endpoint, [ANNOTATIONS.region]: ls.region },
    );
    return { inst, gw, node: world.node('gw') };
  }

  /** Whether EC2's source/destination check is on for `eniId`, as LocalStack has it. */
  const sourceDestCheck = async (eniId: string) =>
    (await aws.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId] })))
      .NetworkInterfaces?.[0]?.SourceDestCheck;

  /**
   * Keeps every ServiceCIDR out of the cluster, as on an API server that has none: a ValidatingAdmissionPolicy
   * refuses their creation (the API server recreates its own `kubernetes` one every 10 s), and the existing ones
   * are deleted. Returns the mend: the policy removed, the API server's own one back.
   */
  async function withoutServiceCidrs(): Promise<() => Promise<void>> {
    const cp = kube.controlPlane;
    const policy = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name: 'no-servicecidrs' },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [
            {
              apiGroups: ['networking.k8s.io'],
              apiVersions: ['*'],
              operations: ['CREATE'],
              resources: ['servicecidrs'],
            },
          ],
        },
        validations: [{ expression: 'false', message: 'no ServiceCIDR in this test' }],
      },
    };
    const binding = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name: 'no-servicecidrs' },
      spec: { policyName: 'no-servicecidrs', validationActions: ['Deny'] },
    };
    await cp.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({ kind: 'List', apiVersion: 'v1', items: [policy, binding] }),
    });
    const net = cp.kubeConfig.makeApiClient(NetworkingV1Api);
    // The policy takes effect once the API server has loaded it: a create is refused.
    await eventually('ServiceCIDR creation refused', async () => {
      try {
        await net.createServiceCIDR({
          body: { metadata: { name: 'probe' }, spec: { cidrs: ['10.97.0.0/24'] } },
        });
        await net.deleteServiceCIDR({ name: 'probe' });
        return false;
      } catch (err) {
        return /no ServiceCIDR in this test/.test(String((err as { body?: unknown }).body ?? err));
      }
    });
    for (const s of (await net.listServiceCIDR()).items)
      await net.deleteServiceCIDR({ name: s.metadata!.name! });
    expect((await net.listServiceCIDR()).items).toEqual([]);
    return async () => {
      await cp.kubectl([
        'delete',
        'validatingadmissionpolicybinding,validatingadmissionpolicy',
        'no-servicecidrs',
      ]);
      await eventually(
        'the API server recreated its ServiceCIDR',
        async () => (await net.listServiceCIDR()).items.length > 0,
        {
          timeoutMs: 60_000,
        },
      );
    };
  }

  it('names missing cluster CIDRs, then the ENI the VPC CNI manages, each with the fix; True once mended, the source/destination check on (return path tunnel)', async () => {
    const { ec2 } = aws;
    const { inst, gw, node } = await gatewayOnInstance(100);
    // No Node with a pod CIDR (this one is the only Node), no ServiceCIDR, no aws-node pod.
    const mendServiceCidrs = await withoutServiceCidrs();
    await started(); // the default return path: tunnel, as the chart's agent.returnPath

    // 5 checks: cluster CIDRs; free IP slots, VPC CNI, source/destination check (the ENI); CreateTags (the subnet).
    const missing = await preflight(gw, 'False');
    expect(missing.reason).toBe(REASON.PreflightFailed);
    expect(missing.message).toBe(
      '1 of 5 checks failed: cluster CIDRs: not found: pod CIDRs (no Node has spec.podCIDRs) and Service CIDRs ' +
        '(no ServiceCIDR object); the agents cannot discover them, so a policy with destinations such as ' +
        '0.0.0.0/0 would send pod-to-pod, Service and DNS traffic through the gateway ' +
        "(fix: set the chart's agent.clusterCIDRs to the pod and Service CIDRs (on EKS: the VPC's CIDRs, " +
        "aws ec2 describe-vpcs --vpc-ids <vpc> --query 'Vpcs[0].CidrBlockAssociationSet[].CidrBlock', and " +
        'aws eks describe-cluster --name <cluster> --query cluster.kubernetesNetworkConfig.serviceIpv4Cidr); ' +
        'the chart gives them to the controller too, and cloud-egress doctor takes them as --cluster-cidr)',
    );

    // The VPC CNI starts; a Node with a pod CIDR (no gateway node), the API server's ServiceCIDR back.
    const worker = `${world.namespace}-worker`;
    const stopAwsNode = await runAwsNode();
    try {
      await createNode(world.core, { name: worker, podCIDR: '10.244.0.0/24' });
      await mendServiceCidrs();
      // Only the managed ENI fails: replies to pods return through the tunnel, so the check on is no fault.
      expect(await sourceDestCheck(inst.eniId)).toBe(true);
      const managed = await preflight(gw, 'False', (m) => m.startsWith(`1 of 5 checks failed: ${node}: `));
      expect(managed.message).toBe(
        `1 of 5 checks failed: ${node}: VPC CNI: ${inst.eniId} is managed by the Amazon VPC CNI (aws-node runs, ` +
          'the ENI has no node.k8s.amazonaws.com/no_manage=true tag): ipamd adds its secondary IPs to the pod IP ' +
          'pool and may give an egress IP to a pod or release it (fix: put egress IPs on a second ENI tagged ' +
          "node.k8s.amazonaws.com/no_manage=true and select it with the chart's cloud.interface.tag and " +
          'agent.egressInterface (docs/quickstart-eks.md §2))',
      );

      // Mended in the cloud as the fix says: the ENI tagged; the source/destination check stays on.
      await tagNoManage(ec2, inst.eniId);
      const passed = await preflight(gw, 'True');
      expect(passed).toMatchObject({ reason: REASON.PreflightPassed, message: '5 checks passed' });
      expect(await sourceDestCheck(inst.eniId)).toBe(true);
    } finally {
      await world.core.deleteNode({ name: worker }).catch(() => undefined);
      await stopAwsNode();
    }
  });

  it('with the VPC CNI and --agent-return-path podNetwork: names the source/destination check with both fixes; True once it is off', async () => {
    const { ec2 } = aws;
    const { inst, gw, node } = await gatewayOnInstance(140);
    await tagNoManage(ec2, inst.eniId); // ipamd leaves the ENI alone: only the source/destination check is left
    // The VPC CNI runs (pods take VPC addresses) beside the API server's own ServiceCIDR.
    const stopAwsNode = await runAwsNode();
    try {
      await started('--agent-return-path', 'podNetwork');
      const dropped = await preflight(gw, 'False');
      expect(dropped.message).toBe(
        `1 of 5 checks failed: ${node}: source/destination check: on for ${inst.eniId} while the VPC CNI routes ` +
          "pod traffic over the VPC and the agents' return path is podNetwork: replies from the gateway to pods " +
          "carry the partner's address as source and EC2 drops them (fix: turn the check off on the gateway " +
          `nodes' ENIs: aws ec2 modify-network-interface-attribute --network-interface-id ${inst.eniId} ` +
          "--no-source-dest-check; or use the chart's agent.returnPath=tunnel, so that replies return through " +
          "the tunnel to the pod's node, which the check allows)",
      );

      // Mended in the cloud as the first fix says: the check off.
      await mendForVpcCni(ec2, inst.eniId);
      expect(await sourceDestCheck(inst.eniId)).toBe(false);
      const passed = await preflight(gw, 'True');
      expect(passed).toMatchObject({ reason: REASON.PreflightPassed, message: '5 checks passed' });
    } finally {
      await stopAwsNode();
    }
  });

  it('EKS before 1.33 with the VPC CNI: names the Service CIDRs missing; True once the controller is started with --cluster-cidr for the VPC and the Services', async () => {
    const { ec2, vpc } = aws;
    const { inst, gw } = await gatewayOnInstance(120);
    // The ENI's checks pass (the return path tunnel lets the source/destination check stay on): only the cluster
    // CIDRs are left.
    await tagNoManage(ec2, inst.eniId);
    // The VPC CNI runs (pods take VPC addresses: no Node has a pod CIDR), and no ServiceCIDR, as before 1.33.
    const stopAwsNode = await runAwsNode();
    const mendServiceCidrs = await withoutServiceCidrs();
    try {
      const untyped = await started();
      const missing = await preflight(gw, 'False');
      expect(missing.message).toMatch(
        /^1 of 5 checks failed: cluster CIDRs: not found: Service CIDRs \(no ServiceCIDR object\); the agents cannot discover them, .*\(fix: set the chart's agent\.clusterCIDRs /,
      );
      await untyped.stop();

      // The fix: the VPC's CIDRs (as `aws ec2 describe-vpcs` gives them) and the Service CIDR, typed.
      const described = await ec2.send(new DescribeVpcsCommand({ VpcIds: [vpc.vpcId] }));
      const vpcCidrs = (described.Vpcs?.[0]?.CidrBlockAssociationSet ?? []).map((a) => a.CidrBlock!);
      expect(vpcCidrs).toHaveLength(1);
      await started(...vpcCidrs.map((c) => `--cluster-cidr=${c}`), '--cluster-cidr', '172.20.0.0/16');
      const passed = await preflight(gw, 'True');
      expect(passed).toMatchObject({ reason: REASON.PreflightPassed, message: '5 checks passed' });
    } finally {
      await mendServiceCidrs();
      await stopAwsNode();
    }
  });
});
