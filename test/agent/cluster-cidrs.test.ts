/**
 * @module
 * Cluster CIDRs discovered, not typed, against a real kube-apiserver: agents started without `--cluster-cidr`
 * (`runAgent`, one per lab node, network namespaces from netns-lab.ts) put every Node's `spec.podCIDRs` and
 * every ServiceCIDR's CIDRs in their kernel's cluster set, read back from nftables, and follow a Node that
 * gets its pod CIDR, a new ServiceCIDR and a Node that goes, without a restart. With a policy to `0.0.0.0/0`,
 * a pod reaches a pod on another node directly (the echo server in that pod sees the pod's own IP) once that
 * node's pod CIDR is known, and not before; the outside sees the egress IP all along. Needs root and
 * `ip netns`.
 */
import {
  CoreV1Api,
  CustomObjectsApi,
  NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { parseInterval } from '../../src/agent/ip-intervals.ts';
import { SETS } from '../../src/agent/nft-model.ts';
import { SERVICE_CIDR } from '../harness/control-plane.ts';
import { useControlPlane } from '../harness/vitest.ts';
import { createBoundPod } from '../support/bound-pods.ts';
import { createCustomObject } from '../support/custom-objects.ts';
import { egressPolicy } from '../support/egress-policies.ts';
import { eventually } from '../support/eventually.ts';
import { netnsUnavailable } from '../support/netns.ts';
import { createNode } from '../support/nodes.ts';
import { EXTERNAL, type LabNode, NetnsLab } from './netns-lab.ts';

const EGRESS_IP = '192.168.200.50';
const EXTRA_SERVICE_CIDR = '10.100.0.0/16';
/** A Node of the API server only (no namespace of the lab), there to be deleted. */
const GONE = { name: 'node-gone', podCIDR: '10.244.9.0/24' };

const unavailable = await netnsUnavailable();

describe.skipIf(unavailable !== undefined)(
  `cluster CIDRs discovered by the agent${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    const kube = useControlPlane({ namespacePrefix: 'cidrs' });
    const lab = new NetnsLab();
    afterAll(() => lab.destroy());

    /** Whether the kernel's cluster set on `node` covers all of `cidr`. */
    const bypassed = async (node: LabNode, cidr: string) => {
      const state = await lab.dataplane(node).observe();
      const want = parseInterval(cidr);
      return [...(state.nft?.sets[SETS.cluster]?.keys() ?? [])]
        .map(parseInterval)
        .some((r) => r.start <= want.start && want.end <= r.end);
    };
    const bypassedAll = async (node: LabNode, cidrs: readonly string[]) =>
      Object.fromEntries(await Promise.all(cidrs.map(async (c) => [c, await bypassed(node, c)] as const)));

    it('puts the Nodes pod CIDRs and the ServiceCIDRs in the cluster set, follows their changes, keeps pod-to-pod direct', async () => {
      await lab.build(2, { 1: ['n1a'], 2: ['n2a'] }, { egressNics: [2] });
      await lab.startEcho();
      const [node1, node2] = lab.nodes as [LabNode, LabNode];
      const n1a = lab.pod('n1a');
      const n2a = lab.pod('n2a');
      await lab.startPodEcho(n2a); // it answers with the address it sees the caller come from

      const kc = kube.controlPlane.kubeConfig;
      const core = kc.makeApiClient(CoreV1Api);
      const networking = kc.makeApiClient(NetworkingV1Api);
      const namespace = kube.namespace;
      // node-2 is registered before its pod CIDR is allocated; node-gone only exists in the API.
      await createNode(core, { name: node1.name, address: node1.ip, podCIDR: node1.podCidr });
      await createNode(core, { name: node2.name, address: node2.ip });
      await createNode(core, { name: GONE.name, address: '192.168.100.99', podCIDR: GONE.podCIDR });
      for (const [pod, app] of [
        [n1a, 'api'],
        [n2a, 'web'],
      ] as const) {
        await createBoundPod(core, {
          namespace,
          name: pod.name,
          node: pod.node.name,
          labels: { app },
          ip: pod.ip,
        });
      }
      await createCustomObject(
        kc.makeApiClient(CustomObjectsApi),
        egressPolicy({
          namespace,
          spec: { destinationCIDRs: ['0.0.0.0/0'] },
          assignments: [{ ip: EGRESS_IP, node: node2.name, state: 'Ready' }],
        }),
      );

      // No --cluster-cidr: everything the cluster set holds beyond the node IPs is discovered.
      const agents = await Promise.all(
        lab.nodes.map((node) => lab.runAgent(node, node === node2 ? ['--egress-interface', 'eth1'] : [], kc)),
      );
      await Promise.all(agents.map((a) => a.firstSync));

      // Discovered: node-1's and node-gone's pod CIDRs, the API server's own ServiceCIDR; node IPs as always.
      // Link-local (the instance metadata service) always.
      expect(
        await bypassedAll(node1, [node1.podCidr, GONE.podCIDR, SERVICE_CIDR, node2.ip, '169.254.169.254']),
      ).toEqual({
        [node1.podCidr]: true,
        [GONE.podCIDR]: true,
        [SERVICE_CIDR]: true,
        [node2.ip]: true,
        '169.254.169.254': true,
      });
      expect(await bypassed(node1, node2.podCidr)).toBe(false);
      const sourceSeenBy = async (ip: string) => (await lab.sources(n1a, [ip]))[ip];
      await eventually('n1a to reach the outside with the egress IP', () => sourceSeenBy(EXTERNAL.inPolicy), {
        until: (source) => source === EGRESS_IP,
        timeoutMs: 20_000,
      });
      // Without node-2's pod CIDR, a pod on node-2 is a destination like any other: not reached directly.
      expect(await sourceSeenBy(n2a.ip)).not.toBe(n1a.ip);

      // node-2 gets its pod CIDR: every agent follows, and pod-to-pod is direct.
      await core.patchNode(
        { name: node2.name, body: { spec: { podCIDR: node2.podCidr, podCIDRs: [node2.podCidr] } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      for (const node of lab.nodes) {
        await eventually(`${node.name} to bypass ${node2.podCidr}`, () => bypassed(node, node2.podCidr), {
          timeoutMs: 20_000,
        });
      }
      expect(await sourceSeenBy(n2a.ip)).toBe(n1a.ip);
      expect(await sourceSeenBy(EXTERNAL.inPolicy)).toBe(EGRESS_IP);

      // A new ServiceCIDR joins the set; a deleted Node's pod CIDR leaves it.
      await networking.createServiceCIDR({
        body: { metadata: { name: 'extra' }, spec: { cidrs: [EXTRA_SERVICE_CIDR] } },
      });
      await core.deleteNode({ name: GONE.name });
      await eventually(
        'the new ServiceCIDR in and the deleted Node out',
        () => bypassedAll(node1, [EXTRA_SERVICE_CIDR, GONE.podCIDR]),
        { until: (s) => s[EXTRA_SERVICE_CIDR] === true && s[GONE.podCIDR] === false, timeoutMs: 20_000 },
      );
      expect(await sourceSeenBy(n2a.ip)).toBe(n1a.ip);

      const metrics = await (await fetch(`http://${agents[0]!.healthAddress}/metrics`)).text();
      expect(metrics).toContain('cloud_egress_agent_cluster_cidrs{source="node-podcidr"} 2');
      expect(metrics).toContain('cloud_egress_agent_cluster_cidrs{source="servicecidr"} 2');
      expect(metrics).toContain('cloud_egress_agent_cluster_cidrs{source="configured"} 0');
      expect(metrics).toContain('cloud_egress_agent_servicecidr_api{state="served"} 1');
    });
  },
);
