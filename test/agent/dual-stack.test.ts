/**
 * @module
 * The agent's datapath in both families on a real kernel: the network-namespace lab in dual stack (netns-lab.ts,
 * `dualStack`), IPv4 node addresses under the tunnel, pods with an IPv4 and an IPv6 address. One policy holds an
 * egress IP of each family; the echo server in the external namespace must see the policy's IPv4 egress IP for
 * the pods' IPv4 connections and its IPv6 egress IP for their IPv6 ones, from a pod on another node and from one
 * on the gateway itself, never a node or pod address of either family. Then: the IPv6 IP not usable (fails
 * closed), moved to another node (the kernel advertises it there), a restart with IPv6 state (no change), and
 * the cleanup (nothing left, IPv6 rules, routes and neighbours included). Needs root and `ip netns`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandRunner } from '../../src/agent/linux/run-command.ts';
import type { AssignmentState } from '../../src/api/index.ts';
import { egressPolicy } from '../support/egress-policies.ts';
import { netnsUnavailable } from '../support/netns.ts';
import { CLUSTER6, EXTERNAL, EXTERNAL6, LabAgents, type LabNode, NetnsLab } from './netns-lab.ts';

const EGRESS_IP = '192.168.100.50';
const EGRESS_IP6 = 'fd00:100::50';
const CLUSTER_CIDRS = ['10.244.0.0/16', '10.96.0.0/12', CLUSTER6.pods, CLUSTER6.services];

const unavailable = await netnsUnavailable();

interface Placement {
  readonly node6: string;
  readonly state6: AssignmentState;
}

const policy = ({ node6, state6 }: Placement) =>
  egressPolicy({
    spec: {
      egressIPs: [EGRESS_IP, EGRESS_IP6],
      destinationCIDRs: [EXTERNAL.destinations, EXTERNAL6.destinations],
      excludedCIDRs: [`${EXTERNAL.excluded}/32`, `${EXTERNAL6.excluded}/128`],
    },
    assignments: [
      { ip: EGRESS_IP, node: 'node-2', state: 'Ready' },
      { ip: EGRESS_IP6, node: node6, state: state6 },
    ],
  });

describe.skipIf(unavailable !== undefined)(
  `agent datapath in dual stack${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    const lab = new NetnsLab();
    let before: Map<string, Record<string, string>>;
    let placement: Placement = { node6: 'node-2', state6: 'Ready' };

    const inputs = (node: LabNode) => lab.inputs(node, [policy(placement)], { clusterCidrs: CLUSTER_CIDRS });
    const agents = new LabAgents(lab, inputs);
    const syncAll = () => agents.syncAll();
    const holds6 = async (node: LabNode) =>
      (await node.run('ip', ['-6', 'addr', 'show', 'dev', 'eth0'])).stdout.includes(`${EGRESS_IP6}/128`);

    beforeAll(async () => {
      await lab.build(3, { 1: ['n1a', 'n1b'], 2: ['n2a'], 3: ['n3a'] }, { dualStack: true });
      await lab.startEcho();
      before = new Map();
      for (const node of lab.nodes) before.set(node.name, await lab.snapshot(node));
      await syncAll();
    });
    afterAll(async () => {
      await agents.close();
      await lab.destroy();
    });

    it('sends each family of a selected pod out with the egress IP of that family, through the tunnel and on the gateway', async () => {
      expect(await holds6(lab.nodes[1]!)).toBe(true);
      expect(await holds6(lab.nodes[0]!)).toBe(false);
      for (const pod of ['n1a', 'n3a', 'n2a']) {
        expect(await lab.sources(lab.pod(pod), [EXTERNAL.inPolicy, EXTERNAL6.inPolicy])).toEqual({
          [EXTERNAL.inPolicy]: EGRESS_IP,
          [EXTERNAL6.inPolicy]: EGRESS_IP6,
        });
      }
    });

    it('keeps the node source for an unselected pod, a destination outside the policy and an excluded CIDR, in IPv6', async () => {
      const node1 = lab.nodes[0]!.ip6!;
      expect(await lab.sources(lab.pod('n1b'), [EXTERNAL6.inPolicy])).toEqual({
        [EXTERNAL6.inPolicy]: node1,
      });
      expect(await lab.sources(lab.pod('n1a'), [EXTERNAL6.outside, EXTERNAL6.excluded])).toEqual({
        [EXTERNAL6.outside]: node1,
        [EXTERNAL6.excluded]: node1,
      });
    });

    it('carries full-size IPv6 TCP segments through the tunnel (the MSS clamp counts the IPv6 header)', async () => {
      expect(await lab.sources(lab.pod('n1a'), [EXTERNAL6.inPolicy], 4 * 1024 * 1024)).toEqual({
        [EXTERNAL6.inPolicy]: EGRESS_IP6,
      });
    });

    it('fails closed in IPv6 alone while the IPv6 egress IP is not usable: no node or pod address leaves', async () => {
      placement = { node6: 'node-2', state6: 'Failed' };
      await syncAll();
      expect(await holds6(lab.nodes[1]!)).toBe(false);
      const out = await lab.sources(lab.pod('n1a'), [EXTERNAL.inPolicy, EXTERNAL6.inPolicy]);
      expect(out[EXTERNAL.inPolicy]).toBe(EGRESS_IP);
      expect(out[EXTERNAL6.inPolicy]).toMatch(/^error/);
      placement = { node6: 'node-2', state6: 'Ready' };
      await syncAll();
      expect(await lab.sources(lab.pod('n1a'), [EXTERNAL6.inPolicy])).toEqual({
        [EXTERNAL6.inPolicy]: EGRESS_IP6,
      });
    });

    it('moves the IPv6 egress IP to another node, which advertises it (no stale neighbour entry upstream)', async () => {
      placement = { node6: 'node-3', state6: 'Ready' };
      await syncAll();
      expect(await holds6(lab.nodes[2]!)).toBe(true);
      expect(await holds6(lab.nodes[1]!)).toBe(false);
      const neighbour = (await lab.nodes[2]!.run('ip', ['-j', 'link', 'show', 'dev', 'eth0'])).stdout;
      const mac = (JSON.parse(neighbour) as { address: string }[])[0]!.address;
      const upstream = JSON.parse(
        (await commandRunner(lab.ext)('ip', ['-j', '-6', 'neigh', 'show', EGRESS_IP6])).stdout,
      ) as { lladdr?: string }[];
      expect(upstream[0]?.lladdr).toBe(mac);
      for (const pod of ['n1a', 'n2a', 'n3a']) {
        expect(await lab.sources(lab.pod(pod), [EXTERNAL.inPolicy, EXTERNAL6.inPolicy])).toEqual({
          [EXTERNAL.inPolicy]: EGRESS_IP,
          [EXTERNAL6.inPolicy]: EGRESS_IP6,
        });
      }
    });

    it('restarting the agent with IPv6 state changes nothing in the kernel', async () => {
      const now = new Map<string, Record<string, string>>();
      for (const node of lab.nodes) now.set(node.name, await lab.snapshot(node));
      for (const node of lab.nodes) {
        expect((await agents.start(node).sync(inputs(node))).changes).toEqual([]);
      }
      for (const node of lab.nodes) expect(await lab.snapshot(node)).toEqual(now.get(node.name));
    });

    it('`cloud-egress agent --cleanup` leaves each node as it found it, IPv6 included', async () => {
      for (const node of lab.nodes) {
        const code = await lab.agentCli(node, ['--cleanup', '--node-name', node.name, '--interface', 'eth0']);
        expect(code).toBe(0);
        expect(await lab.snapshot(node)).toEqual(before.get(node.name));
      }
      expect(await lab.sources(lab.pod('n1a'), [EXTERNAL6.inPolicy])).toEqual({
        [EXTERNAL6.inPolicy]: lab.nodes[0]!.ip6!,
      });
    });
  },
);
