/**
 * @module
 * The agent's datapath on a real kernel: three nodes, pods and an external echo server in network
 * namespaces (see netns-lab.ts). Each node's agent is driven with its inputs directly (no API server) and
 * programs its namespace through the Linux dataplane; the assertions are the source addresses the echo
 * server saw and the kernel state read back. Needs root and `ip netns`; skipped with the reason otherwise.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandRunner } from '../../src/agent/linux/run-command.ts';
import { DEFAULT_DATAPLANE_SETTINGS } from '../../src/agent/settings.ts';
import type { AssignmentState } from '../../src/api/index.ts';
import { egressPolicy } from '../support/egress-policies.ts';
import { netnsUnavailable } from '../support/netns.ts';
import { ECHO_PORTS, EXTERNAL, LabAgents, type LabNode, NetnsLab } from './netns-lab.ts';

const EGRESS_IP = '192.168.100.50';

const unavailable = await netnsUnavailable();

const policy = (node: string, state: AssignmentState) =>
  egressPolicy({
    spec: { destinationCIDRs: [EXTERNAL.destinations], excludedCIDRs: [`${EXTERNAL.excluded}/32`] },
    assignments: [{ ip: EGRESS_IP, node, state }],
  });

describe.skipIf(unavailable !== undefined)(
  `agent datapath in network namespaces${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    const lab = new NetnsLab();
    let snapshotsBefore: Map<string, Record<string, string>>;
    let gateway = 'node-2';
    let state: AssignmentState = 'Ready';

    const inputs = (node: LabNode, gatewayNode = gateway) => lab.inputs(node, [policy(gatewayNode, state)]);

    const agents = new LabAgents(lab, (node) => inputs(node));
    const syncAll = () => agents.syncAll();

    const hasEgressIp = async (node: LabNode) =>
      (await node.run('ip', ['-4', 'addr', 'show', 'dev', 'eth0'])).stdout.includes(`${EGRESS_IP}/32`);

    beforeAll(async () => {
      await lab.build(3, { 1: ['n1a', 'n1b'], 2: ['n2a'], 3: ['n3a'] });
      await lab.startEcho();
      snapshotsBefore = new Map();
      for (const node of lab.nodes) snapshotsBefore.set(node.name, await lab.snapshot(node));
      await syncAll();
    });
    afterAll(async () => {
      await agents.close();
      await lab.destroy();
    });

    it('sends selected pods on a non-gateway node and on the gateway itself out with the egress IP', async () => {
      expect(await hasEgressIp(lab.nodes[1]!)).toBe(true);
      expect(await hasEgressIp(lab.nodes[0]!)).toBe(false);
      expect(await lab.sources(lab.pod('n1a'), [EXTERNAL.inPolicy])).toEqual({
        [EXTERNAL.inPolicy]: EGRESS_IP,
      });
      expect(await lab.sources(lab.pod('n3a'), [EXTERNAL.inPolicy])).toEqual({
        [EXTERNAL.inPolicy]: EGRESS_IP,
      });
      expect(await lab.sources(lab.pod('n2a'), [EXTERNAL.inPolicy])).toEqual({
        [EXTERNAL.inPolicy]: EGRESS_IP,
      });
    });

    it('keeps the normal source for an unselected pod, a destination outside the policy and an excluded CIDR', async () => {
      expect(await lab.sources(lab.pod('n1b'), [EXTERNAL.inPolicy])).toEqual({
        [EXTERNAL.inPolicy]: '192.168.100.1',
      });
      expect(await lab.sources(lab.pod('n1a'), [EXTERNAL.outside, EXTERNAL.excluded])).toEqual({
        [EXTERNAL.outside]: '192.168.100.1',
        [EXTERNAL.excluded]: '192.168.100.1',
      });
    });

    it('carries full-size TCP segments through the tunnel without fragmenting or black-holing', async () => {
      const bytes = 4 * 1024 * 1024;
      expect(await lab.sources(lab.pod('n1a'), [EXTERNAL.inPolicy], bytes)).toEqual({
        [EXTERNAL.inPolicy]: EGRESS_IP,
      });
      const link = JSON.parse(
        (await lab.nodes[0]!.run('ip', ['-j', 'link', 'show', 'dev', DEFAULT_DATAPLANE_SETTINGS.tunnelName]))
          .stdout,
      );
      expect(link[0].mtu).toBe(1450);
    });

    it('sends a pod on another non-gateway node through the gateway node (its tunnel receives the flow)', async () => {
      const received = async (node: LabNode) =>
        JSON.parse(
          (await node.run('ip', ['-j', '-s', 'link', 'show', 'dev', DEFAULT_DATAPLANE_SETTINGS.tunnelName]))
            .stdout,
        )[0].stats64.rx.packets as number;
      const before = await received(lab.nodes[1]!);
      expect(await lab.sources(lab.pod('n3a'), [EXTERNAL.inPolicy])).toEqual({
        [EXTERNAL.inPolicy]: EGRESS_IP,
      });
      expect(await received(lab.nodes[1]!)).toBeGreaterThan(before);
    });

    it('drops, never leaks, traffic tunnelled to a node that does not hold the egress IP', async () => {
      // node-1 already follows a move to node-3 that node-3 has not seen yet; node-3 has no pod of its own
      // on the IP, so nothing there would route the packets on: without the guard they would leave node-3
      // with its node IP.
      const node3 = lab.nodes[2]!;
      await agents.of('node-3').sync({ ...inputs(node3), pods: [] });
      await agents.of('node-1').sync(inputs(lab.nodes[0]!, 'node-3'));
      expect(await lab.sources(lab.pod('n1a'), [EXTERNAL.inPolicy])).toEqual({
        [EXTERNAL.inPolicy]: 'error: timeout',
      });
      await agents.of('node-1').sync(inputs(lab.nodes[0]!));
      await agents.of('node-3').sync(inputs(node3));
      expect(await lab.sources(lab.pod('n1a'), [EXTERNAL.inPolicy])).toEqual({
        [EXTERNAL.inPolicy]: EGRESS_IP,
      });
    });

    it('moves the source path when the assignment moves (Pending, then Ready), and the old node drops the IP', async () => {
      const extNeighbour = async () =>
        JSON.parse((await commandRunner(lab.ext)('ip', ['-j', 'neigh', 'show', EGRESS_IP])).stdout)[0]
          ?.lladdr;
      const macOf = async (node: LabNode) =>
        JSON.parse((await node.run('ip', ['-j', 'link', 'show', 'dev', 'eth0'])).stdout)[0].address;
      expect(await extNeighbour()).toBe(await macOf(lab.nodes[1]!));

      // The controller writes Pending on the new node right before the cloud call: the agents move the path
      // at once (here, with no cloud in between, traffic flows through node-3 already).
      gateway = 'node-3';
      state = 'Pending';
      await syncAll();
      await Promise.all(agents.dataplanes.map((d) => d.settle()));
      expect(await hasEgressIp(lab.nodes[1]!)).toBe(false);
      expect(await hasEgressIp(lab.nodes[2]!)).toBe(true);
      // The gratuitous ARP moved the external host's neighbour entry before any new traffic.
      expect(await extNeighbour()).toBe(await macOf(lab.nodes[2]!));
      for (const pod of ['n1a', 'n2a', 'n3a']) {
        expect(await lab.sources(lab.pod(pod), [EXTERNAL.inPolicy])).toEqual({
          [EXTERNAL.inPolicy]: EGRESS_IP,
        });
      }
      // Ready on the same node changes nothing in the kernel.
      state = 'Ready';
      for (const node of lab.nodes) {
        expect((await agents.of(node.name).sync(inputs(node))).changes).toEqual([]);
      }
    });

    it('keeps a running UDP flow and TCP connection through moves onto, off and between gateway nodes', async () => {
      // A pod on node-1, tunnelled to node-3. The IP moves to node-1 (the pod's own node: its packets are
      // SNATed there now), to node-2 (tunnelled again), to node-3 (from one remote gateway to another).
      expect(gateway).toBe('node-3');
      const stream = lab.client(lab.pod('n1a'), [
        'udp',
        String(ECHO_PORTS.udp),
        EXTERNAL.inPolicy,
        '400',
        '10',
      ]);
      const held = lab.client(lab.pod('n1a'), [
        'hold',
        String(ECHO_PORTS.tcp),
        EXTERNAL.inPolicy,
        '40',
        '100',
      ]);
      await held.first;
      await new Promise((r) => setTimeout(r, 400));
      for (const next of ['node-1', 'node-2', 'node-3']) {
        gateway = next;
        await syncAll();
        await Promise.all(agents.dataplanes.map((d) => d.settle()));
        await new Promise((r) => setTimeout(r, 1000));
      }
      const [udp] = (await stream.lines) as [
        { sent: number; received: number; sources: Record<string, number> },
      ];
      // Datagrams sent while the nodes sync one after another may be lost (the new holder drops tunnelled
      // packets until its own sync); the flow goes on, always from the egress IP.
      expect(udp.sources).toEqual({ [EGRESS_IP]: udp.received });
      expect(udp.received).toBeGreaterThan(250);
      // The TCP connection survives every move: the new gateway takes it up mid-stream and SNATs it to the
      // same address and port, so the server sees one connection from the egress IP throughout.
      const [, tcp] = (await held.lines) as [unknown, { answers: string[] }];
      expect(tcp.answers).toEqual(Array(40).fill(EGRESS_IP));
    });

    it('restarting the agent changes nothing in the kernel and loses no packet of a running flow', async () => {
      const before = new Map<string, Record<string, string>>();
      for (const node of lab.nodes) before.set(node.name, await lab.snapshot(node));
      const stream = lab.client(lab.pod('n1a'), [
        'udp',
        String(ECHO_PORTS.udp),
        EXTERNAL.inPolicy,
        '200',
        '10',
      ]);
      const held = lab.client(lab.pod('n2a'), [
        'hold',
        String(ECHO_PORTS.tcp),
        EXTERNAL.inPolicy,
        '20',
        '100',
      ]);
      await held.first;
      await new Promise((r) => setTimeout(r, 300));
      for (const node of lab.nodes) {
        const { changes } = await agents.start(node).sync(inputs(node));
        expect(changes).toEqual([]);
      }
      const [udp] = (await stream.lines) as [
        { sent: number; received: number; sources: Record<string, number> },
      ];
      expect(udp).toEqual({ sent: 200, received: 200, sources: { [EGRESS_IP]: 200 } });
      const [, tcp] = (await held.lines) as [unknown, { answers: string[] }];
      expect(tcp.answers).toEqual(Array(20).fill(EGRESS_IP));
      for (const node of lab.nodes) expect(await lab.snapshot(node)).toEqual(before.get(node.name));
    });

    it('`cloud-egress agent --cleanup` leaves each node as it found it', async () => {
      for (const node of lab.nodes) {
        const code = await lab.agentCli(node, ['--cleanup', '--node-name', node.name, '--interface', 'eth0']);
        expect(code).toBe(0);
        expect(await lab.snapshot(node)).toEqual(snapshotsBefore.get(node.name));
      }
      expect(await lab.sources(lab.pod('n1a'), [EXTERNAL.inPolicy])).toEqual({
        [EXTERNAL.inPolicy]: '192.168.100.1',
      });
    });
  },
);
