/**
 * @module
 * The agent end to end against a real kube-apiserver: `runAgent` for each simulated node (network
 * namespaces from netns-lab.ts) watches the EgressPolicy, the Nodes, the Namespaces and its own node's Pods
 * in the API server, and programs its namespace. The assertions are the source address the echo server
 * sees, the egress IP on the gateway's interface, and `/healthz`. The gateway nodes (node-2, node-3) run
 * with `--egress-interface eth1`, a dedicated interface on another subnet whose router drops packets of that
 * subnet arriving by any other way, so the flag's whole path (gateway discovery, policy routing) is
 * exercised through `runAgent`. Needs root and `ip netns`.
 */
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { useControlPlane } from '../harness/vitest.ts';
import { createBoundPod, deleteBoundPod } from '../support/bound-pods.ts';
import { createCustomObject, patchCustomObject, refOf } from '../support/custom-objects.ts';
import { egressPolicy } from '../support/egress-policies.ts';
import { eventually } from '../support/eventually.ts';
import { netnsUnavailable } from '../support/netns.ts';
import { createNode } from '../support/nodes.ts';
import { EXTERNAL, type LabNode, NetnsLab } from './netns-lab.ts';

const EGRESS_IP = '192.168.200.50';
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

const unavailable = await netnsUnavailable();

describe.skipIf(unavailable !== undefined)(
  `agent against a real API server${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    const kube = useControlPlane({ namespacePrefix: 'agent' });
    const lab = new NetnsLab();
    afterAll(() => lab.destroy());

    const hasEgressIp = async (node: LabNode) =>
      (await node.run('ip', ['-4', 'addr', 'show', 'dev', 'eth1'])).stdout.includes(`${EGRESS_IP}/32`);

    it('programs the datapath from policies, nodes and its own pods read from the API server', async () => {
      await lab.build(3, { 1: ['n1a', 'n1b'], 2: ['n2a'] }, { egressNics: [2, 3] });
      await lab.startEcho();
      const kc = kube.controlPlane.kubeConfig;
      const core = kc.makeApiClient(CoreV1Api);
      const custom = kc.makeApiClient(CustomObjectsApi);
      const namespace = kube.namespace;

      for (const node of lab.nodes) await createNode(core, { name: node.name, address: node.ip });
      for (const pod of lab.pods) {
        await createBoundPod(core, {
          namespace,
          name: pod.name,
          node: pod.node.name,
          labels: pod.name.endsWith('b') ? { app: 'web' } : { app: 'api' },
          ip: pod.ip,
        });
      }
      const policy = egressPolicy({ namespace, spec: { destinationCIDRs: [EXTERNAL.destinations] } });
      await createCustomObject(custom, policy);
      const assign = (node: string) =>
        patchCustomObject(
          custom,
          refOf(policy),
          { status: { assignments: [{ ip: EGRESS_IP, node, state: 'Ready' }] } },
          'status',
        );
      await assign('node-2');

      const agents = await Promise.all(
        lab.nodes.map((node) =>
          lab.runAgent(
            node,
            [
              '--cluster-cidr',
              '10.244.0.0/16',
              ...(node.name === 'node-1' ? [] : ['--egress-interface', 'eth1']),
            ],
            kc,
          ),
        ),
      );
      await Promise.all(agents.map((a) => a.firstSync));

      const sourceOf = async (pod: string) =>
        (await lab.sources(lab.pod(pod), [EXTERNAL.inPolicy]))[EXTERNAL.inPolicy];
      await eventually('n1a via the egress IP', () => sourceOf('n1a'), {
        until: (source) => source === EGRESS_IP,
        timeoutMs: 20_000,
      });
      expect(await sourceOf('n2a')).toBe(EGRESS_IP);
      expect(await sourceOf('n1b')).toBe('192.168.100.1');
      expect(await hasEgressIp(lab.nodes[1]!)).toBe(true);
      const health = await fetch(`http://${agents[1]!.healthAddress}/healthz`);
      expect(health.status).toBe(200);
      const metrics = await (await fetch(`http://${agents[1]!.healthAddress}/metrics`)).text();
      expect(metrics).toMatch(/cloud_egress_agent_egress_ips_held 1/);
      expect(metrics).toMatch(/cloud_egress_agent_sync_duration_seconds_count\{result="ok"\} [1-9]/);

      // The controller moves the IP: the status changes, the agents follow.
      await assign('node-3');
      await eventually(
        'the egress IP to move from node-2 to node-3',
        async () => ({
          'node-2': await hasEgressIp(lab.nodes[1]!),
          'node-3': await hasEgressIp(lab.nodes[2]!),
        }),
        { until: (held) => held['node-3'] && !held['node-2'], timeoutMs: 20_000 },
      );
      expect(await sourceOf('n1a')).toBe(EGRESS_IP);
      expect(await sourceOf('n2a')).toBe(EGRESS_IP);

      // A new pod on node-1 is picked up from its own node's pod watch.
      await core.patchNamespacedPod(
        { name: 'n1b', namespace, body: { metadata: { labels: { app: 'api' } } } },
        merge,
      );
      await eventually('n1b to be selected after its label changed', () => sourceOf('n1b'), {
        until: (source) => source === EGRESS_IP,
        timeoutMs: 20_000,
      });

      // Deleted, its element goes; created again under its name (a new UID, one watch update), it comes back.
      await deleteBoundPod(core, namespace, 'n1b', { force: true });
      await eventually('n1b to be unselected once its Pod is deleted', () => sourceOf('n1b'), {
        until: (source) => source === '192.168.100.1',
        timeoutMs: 20_000,
      });
      const n1b = lab.pod('n1b');
      await createBoundPod(core, {
        namespace,
        name: 'n1b',
        node: 'node-1',
        labels: { app: 'api' },
        ip: n1b.ip,
      });
      await eventually('n1b to be selected again once its Pod is created again', () => sourceOf('n1b'), {
        until: (source) => source === EGRESS_IP,
        timeoutMs: 20_000,
      });
    });
  },
);
