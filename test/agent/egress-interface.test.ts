/**
 * @module
 * Egress IPs on a dedicated interface (EKS: an ENI the VPC CNI leaves alone) on a real kernel: the gateway
 * node has its node IP on eth0 and its egress IP on eth1, in another subnet whose router drops packets of
 * that subnet arriving any other way (a cloud's source check). Pods on another node and on the gateway
 * itself must reach the echo server with the egress IP, which works only when SNATed traffic leaves by
 * eth1. The per-egress-IP counters rise with that traffic; a restart changes nothing and `--cleanup`
 * leaves the node as found. Needs root and `ip netns`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentInputs } from '../../src/agent/agent-inputs.ts';
import { AgentSync } from '../../src/agent/agent-sync.ts';
import { gateway6Of, gatewayOf } from '../../src/agent/linux/iproute.ts';
import type { LinuxDataplane } from '../../src/agent/linux/linux-dataplane.ts';
import { createAgentMetrics } from '../../src/agent/metrics.ts';
import { DEFAULT_DATAPLANE_SETTINGS } from '../../src/agent/settings.ts';
import { egressPolicy } from '../support/egress-policies.ts';
import { netnsUnavailable } from '../support/netns.ts';
import {
  CLUSTER6,
  EGRESS_SUBNET,
  EGRESS_SUBNET6,
  EXTERNAL,
  EXTERNAL6,
  LabAgents,
  type LabNode,
  NetnsLab,
} from './netns-lab.ts';

const EGRESS_IP = '192.168.200.50';
const settings = DEFAULT_DATAPLANE_SETTINGS;

const unavailable = await netnsUnavailable();

const policy = egressPolicy({
  spec: { destinationCIDRs: [EXTERNAL.destinations] },
  assignments: [{ ip: EGRESS_IP, node: 'node-2', state: 'Ready' }],
});

describe.skipIf(unavailable !== undefined)(
  `egress IPs on a dedicated interface${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    const lab = new NetnsLab();
    const dataplanes: LinuxDataplane[] = [];
    let before: Map<string, Record<string, string>>;
    let egressGateway: string | undefined;

    const inputs = (node: LabNode): AgentInputs =>
      lab.inputs(node, [policy], {
        ...(node.name === 'node-2' ? { egress: { iface: 'eth1', gateway: egressGateway! } } : {}),
        clusterCidrs: ['10.244.0.0/16'],
      });
    const newAgent = (node: LabNode) => {
      const dataplane = lab.dataplane(node);
      dataplanes.push(dataplane);
      return { dataplane, sync: new AgentSync({ dataplane, settings }) };
    };
    const txPackets = async (node: LabNode, dev: string) =>
      JSON.parse((await node.run('ip', ['-j', '-s', 'link', 'show', 'dev', dev])).stdout)[0].stats64.tx
        .packets as number;
    const gateway = () => lab.nodes[1]!;

    beforeAll(async () => {
      await lab.build(2, { 1: ['n1a'], 2: ['n2a'] }, { egressNics: [2] });
      await lab.startEcho();
      before = new Map();
      for (const node of lab.nodes) before.set(node.name, await lab.snapshot(node));
      // eth1 has no default route: the gateway is the first address of its subnet.
      egressGateway = await gatewayOf(gateway().run, 'eth1', settings.routeProtocol);
      for (const node of lab.nodes) await newAgent(node).sync.sync(inputs(node));
    });
    afterAll(async () => {
      for (const d of dataplanes) await d.close();
      await lab.destroy();
    });

    it('finds the egress gateway from the interface', () => {
      expect(egressGateway).toBe(EGRESS_SUBNET.router);
    });

    it('holds the egress IP on eth1 and sends SNATed traffic out by eth1 (the source check passes)', async () => {
      const gw = gateway();
      expect((await gw.run('ip', ['-4', 'addr', 'show', 'dev', 'eth1'])).stdout).toContain(`${EGRESS_IP}/32`);
      expect((await gw.run('ip', ['-4', 'addr', 'show', 'dev', 'eth0'])).stdout).not.toContain(EGRESS_IP);
      const sent = await txPackets(gw, 'eth1');
      for (const pod of ['n1a', 'n2a']) {
        expect(await lab.sources(lab.pod(pod), [EXTERNAL.inPolicy])).toEqual({
          [EXTERNAL.inPolicy]: EGRESS_IP,
        });
      }
      expect(await txPackets(gw, 'eth1')).toBeGreaterThan(sent + 4);
      // Traffic outside the policy still leaves with the node IP by eth0.
      expect(await lab.sources(lab.pod('n2a'), [EXTERNAL.outside])).toEqual({
        [EXTERNAL.outside]: '192.168.100.2',
      });
    });

    it('counts connections, packets and bytes per egress IP on the gateway (/metrics)', async () => {
      const gwDataplane = dataplanes[1]!;
      const metrics = createAgentMetrics({ snatCounters: () => gwDataplane.snatCounters() });
      const value = async (name: string) => {
        const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
        return m?.values.find((v) => v.labels['egress_ip'] === EGRESS_IP)?.value ?? -1;
      };
      const [connections, packets, bytes] = await Promise.all(
        ['connections', 'packets', 'bytes'].map((k) => value(`cloud_egress_agent_snat_${k}_total`)),
      );
      expect(packets).toBeGreaterThan(0);
      await lab.sources(lab.pod('n1a'), [EXTERNAL.inPolicy], 64 * 1024);
      expect(await value('cloud_egress_agent_snat_connections_total')).toBe(connections! + 1);
      // Packets are the kernel's (GRO/GSO merge segments): more of them, and every byte.
      expect(await value('cloud_egress_agent_snat_packets_total')).toBeGreaterThan(packets!);
      expect(await value('cloud_egress_agent_snat_bytes_total')).toBeGreaterThan(bytes! + 64 * 1024);
      expect(await metrics.registry.metrics()).toContain(
        `cloud_egress_agent_snat_bytes_total{egress_ip="${EGRESS_IP}"}`,
      );
    });

    it('restarting changes nothing in the kernel; --cleanup leaves each node as found', async () => {
      const running = new Map<string, Record<string, string>>();
      for (const node of lab.nodes) running.set(node.name, await lab.snapshot(node));
      for (const node of lab.nodes) {
        const { changes } = await newAgent(node).sync.sync(inputs(node));
        expect(changes).toEqual([]);
        expect(await lab.snapshot(node)).toEqual(running.get(node.name));
      }
      const rules = (await gateway().run('ip', ['rule'])).stdout;
      expect(rules).toContain(`from ${EGRESS_IP} lookup ${settings.tableBase}`);
      for (const node of lab.nodes) {
        const code = await lab.agentCli(node, ['--cleanup', '--node-name', node.name]);
        expect(code).toBe(0);
        expect(await lab.snapshot(node)).toEqual(before.get(node.name));
      }
    });
  },
);

const EGRESS_IP6 = 'fd00:200::50';

describe.skipIf(unavailable !== undefined)(
  `IPv6 egress IPs on a dedicated interface, dual stack${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    const lab = new NetnsLab();
    const dual = egressPolicy({
      spec: { destinationCIDRs: [EXTERNAL.destinations, EXTERNAL6.destinations] },
      assignments: [
        { ip: EGRESS_IP, node: 'node-2', state: 'Ready' },
        { ip: EGRESS_IP6, node: 'node-2', state: 'Ready' },
      ],
    });
    let egress: { iface: string; gateway: string; gateway6?: string } | undefined;
    let before: Map<string, Record<string, string>>;
    const inputs = (node: LabNode): AgentInputs =>
      lab.inputs(node, [dual], {
        ...(node.name === 'node-2' ? { egress: egress! } : {}),
        clusterCidrs: ['10.244.0.0/16', CLUSTER6.pods],
      });
    const agents = new LabAgents(lab, inputs);
    const gateway = () => lab.nodes[1]!;

    beforeAll(async () => {
      await lab.build(2, { 1: ['n1a'], 2: ['n2a'] }, { egressNics: [2], dualStack: true });
      await lab.startEcho();
      before = new Map();
      for (const node of lab.nodes) before.set(node.name, await lab.snapshot(node));
      const run = gateway().run;
      const gateway6 = await gateway6Of(run, 'eth1', settings.routeProtocol);
      egress = {
        iface: 'eth1',
        gateway: (await gatewayOf(run, 'eth1', settings.routeProtocol))!,
        ...(gateway6 ? { gateway6 } : {}),
      };
      await agents.syncAll();
    });
    afterAll(async () => {
      await agents.close();
      await lab.destroy();
    });

    it("finds the interface's IPv6 gateway from its IPv6 default route", () => {
      expect(egress?.gateway6).toBe(EGRESS_SUBNET6.router);
    });

    it('sends each family out by eth1 with its egress IP (the IPv6 source check passes), from another node and the gateway', async () => {
      const gw = gateway();
      expect((await gw.run('ip', ['-6', 'addr', 'show', 'dev', 'eth1'])).stdout).toContain(
        `${EGRESS_IP6}/128`,
      );
      for (const pod of ['n1a', 'n2a']) {
        expect(await lab.sources(lab.pod(pod), [EXTERNAL.inPolicy, EXTERNAL6.inPolicy])).toEqual({
          [EXTERNAL.inPolicy]: EGRESS_IP,
          [EXTERNAL6.inPolicy]: EGRESS_IP6,
        });
      }
      // Outside the policy, IPv6 keeps the node's address and eth0.
      expect(await lab.sources(lab.pod('n2a'), [EXTERNAL6.outside])).toEqual({
        [EXTERNAL6.outside]: gw.ip6!,
      });
    });

    it('restarting changes nothing in the kernel; --cleanup leaves each node as found', async () => {
      const running = new Map<string, Record<string, string>>();
      for (const node of lab.nodes) running.set(node.name, await lab.snapshot(node));
      for (const node of lab.nodes) {
        expect((await agents.start(node).sync(inputs(node))).changes).toEqual([]);
        expect(await lab.snapshot(node)).toEqual(running.get(node.name));
      }
      const rules6 = (await gateway().run('ip', ['-6', 'rule'])).stdout;
      expect(rules6).toContain(`from ${EGRESS_IP6} lookup ${settings.tableBase}`);
      for (const node of lab.nodes) {
        const code = await lab.agentCli(node, ['--cleanup', '--node-name', node.name]);
        expect(code).toBe(0);
        expect(await lab.snapshot(node)).toEqual(before.get(node.name));
      }
    });
  },
);
