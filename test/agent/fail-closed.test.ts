/**
 * @module
 * The source node fails closed while it is reprogrammed, on a real kernel: a selected pod on node-1 sends
 * a steady stream of UDP datagrams (each from a new socket, so each is a new connection for conntrack and
 * NAT, plus one long-lived flow) to the external namespace while its egress IP moves between node-2 and
 * node-3 (Pending on the new node, then Ready) and goes Failed and back, several times. The external namespace records the source address of
 * every datagram in an nftables set: it must only ever hold the egress IP, never node-1's IP (masqueraded
 * by the CNI after falling through to the main table) or the pod's IP (a flow whose NAT was settled while
 * it went through the tunnel). The guard chain is also tested alone (the agent's rule deleted under traffic)
 * and on a node that becomes the gateway of a flow it used to tunnel. Needs root and `ip netns`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentInputs } from '../../src/agent/agent-inputs.ts';
import { AgentSync } from '../../src/agent/agent-sync.ts';
import { desiredState } from '../../src/agent/desired-state.ts';
import type { LinuxDataplane } from '../../src/agent/linux/linux-dataplane.ts';
import { commandRunner } from '../../src/agent/linux/run-command.ts';
import { DEFAULT_DATAPLANE_SETTINGS } from '../../src/agent/settings.ts';
import type { AssignmentState } from '../../src/api/index.ts';
import { egressPolicy } from '../support/egress-policies.ts';
import { netnsUnavailable } from '../support/netns.ts';
import { ECHO_PORTS, EXTERNAL, type LabNode, NetnsLab } from './netns-lab.ts';

const EGRESS_IP = '192.168.100.50';
const SPRAY_PORT = 8082;
const settings = DEFAULT_DATAPLANE_SETTINGS;

const unavailable = await netnsUnavailable();

/** Records the source address of every UDP datagram to the echo server's address, with a count. */
const RECORDER =
  'table ip recorder {\n\tset seen {\n\t\ttype ipv4_addr\n\t\tflags dynamic\n\t\tcounter\n\t}\n' +
  '\tchain pre {\n\t\ttype filter hook prerouting priority raw; policy accept;\n' +
  `\t\tip daddr ${EXTERNAL.inPolicy} meta l4proto udp update @seen { ip saddr }\n\t}\n}\n`;

interface SeenJson {
  nftables: { set?: { elem?: { elem: { val: string; counter: { packets: number } } }[] } }[];
}

describe.skipIf(unavailable !== undefined)(
  `a source node fails closed while reprogrammed${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    const lab = new NetnsLab();
    const agents = new Map<string, AgentSync>();
    const dataplanes: LinuxDataplane[] = [];
    const ext = () => commandRunner(lab.ext);

    const inputs = (node: LabNode, gateway: string, state: AssignmentState): AgentInputs =>
      lab.inputs(node, [
        egressPolicy({
          spec: { destinationCIDRs: [EXTERNAL.destinations] },
          assignments: [{ ip: EGRESS_IP, node: gateway, state }],
        }),
      ]);
    /** Programs every node, the new holder first, then the source node, then the rest. */
    const assign = async (gateway: string, state: AssignmentState) => {
      const order = [...lab.nodes].sort((a, b) => Number(b.name === gateway) - Number(a.name === gateway));
      for (const node of order) await agents.get(node.name)!.sync(inputs(node, gateway, state));
    };
    /** Source addresses the external namespace saw, with datagram counts; clears the record. */
    const seen = async (): Promise<Record<string, number>> => {
      const out = JSON.parse((await ext()('nft', ['-j', 'list', 'set', 'ip', 'recorder', 'seen'])).stdout);
      await ext()('nft', ['flush', 'set', 'ip', 'recorder', 'seen']);
      const elems = (out as SeenJson).nftables.find((i) => i.set)?.set?.elem ?? [];
      return Object.fromEntries(elems.map((e) => [e.elem.val, e.elem.counter.packets]));
    };

    beforeAll(async () => {
      await lab.build(3, { 1: ['n1a', 'n1b'], 2: ['n2a'] });
      await lab.startEcho();
      await ext()('nft', ['-f', '-'], RECORDER);
      for (const node of lab.nodes) {
        const dataplane = lab.dataplane(node);
        dataplanes.push(dataplane);
        agents.set(node.name, new AgentSync({ dataplane, settings }));
      }
      await assign('node-2', 'Ready');
    });
    afterAll(async () => {
      for (const d of dataplanes) await d.close();
      await lab.destroy();
    });

    it('records every source address it is shown (an unselected pod: the node IP)', async () => {
      await seen();
      await lab.client(lab.pod('n1b'), ['spray', String(SPRAY_PORT), EXTERNAL.inPolicy, '100', '10']).lines;
      await lab.client(lab.pod('n1a'), ['spray', String(SPRAY_PORT), EXTERNAL.inPolicy, '100', '10']).lines;
      const sources = await seen();
      expect(Object.keys(sources).sort()).toEqual([lab.nodes[0]!.ip, EGRESS_IP].sort());
    });

    it('shows the outside only the egress IP while the gateway moves (Pending, Ready) and the IP goes Failed and back', async () => {
      await seen();
      const durationMs = 15_000;
      const spray = lab.client(lab.pod('n1a'), [
        'spray',
        String(SPRAY_PORT),
        EXTERNAL.inPolicy,
        String(durationMs),
        '1',
      ]);
      const flow = lab.client(lab.pod('n1a'), [
        'udp',
        String(ECHO_PORTS.udp),
        EXTERNAL.inPolicy,
        '1500',
        '5',
      ]);
      const start = Date.now();
      const settle = () => new Promise((r) => setTimeout(r, 150));
      await settle();
      // Pending names the node the IP is moving to: the path moves there at once.
      const transitions: [string, AssignmentState][] = [
        ['node-3', 'Ready'],
        ['node-2', 'Pending'],
        ['node-2', 'Ready'],
        ['node-2', 'Failed'],
        ['node-3', 'Pending'],
        ['node-3', 'Failed'],
        ['node-3', 'Ready'],
      ];
      for (let round = 0; round < 2; round++) {
        for (const [gateway, state] of transitions) {
          await assign(gateway, state);
          await settle();
        }
      }
      const elapsed = Date.now() - start;
      const [{ sent }] = (await spray.lines) as [{ sent: number }];
      await flow.lines;
      // The transitions all happened while the stream was running.
      expect(elapsed).toBeLessThan(durationMs);
      const sources = await seen();
      expect(sources).toEqual({ [EGRESS_IP]: expect.any(Number) });
      expect(sources[EGRESS_IP]).toBeGreaterThan(sent / 4);
    });

    it.each([
      ['one nft process per transaction', false],
      ['the agent’s nft -i session', true],
    ])(
      'never lets a packet out unmarked while the table is replaced under traffic (%s)',
      async (_, nftSession) => {
        await assign('node-2', 'Ready');
        const node1 = lab.nodes[0]!;
        const { desired } = desiredState(inputs(node1, 'node-2', 'Ready'), settings);
        const dataplane = nftSession ? lab.dataplane(node1, { nftSession }) : dataplanes[0]!;
        await seen();
        const durationMs = 4000;
        const spray = lab.client(lab.pod('n1a'), [
          'spray',
          String(SPRAY_PORT),
          EXTERNAL.inPolicy,
          String(durationMs),
          '1',
          '20',
        ]);
        const end = Date.now() + durationMs - 500;
        let replaced = 0;
        while (Date.now() < end) {
          await dataplane.apply([{ kind: 'nft.replace', desired }]);
          replaced++;
        }
        if (nftSession) await dataplane.close();
        const [{ sent }] = (await spray.lines) as [{ sent: number }];
        const sources = await seen();
        expect(replaced).toBeGreaterThan(10);
        expect(sources).toEqual({ [EGRESS_IP]: expect.any(Number) });
        expect(sources[EGRESS_IP]).toBeGreaterThan(sent / 2);
      },
    );

    it('finishes a replace an agent stopped half-way', async () => {
      const node1 = lab.nodes[0]!;
      // An agent stopped half-way leaves the handover table: the next sync replaces again and removes it.
      const handover = `${settings.nftTable}_handover`;
      await node1.run('nft', ['add', 'table', 'inet', handover]);
      agents.get(node1.name)!.resync();
      await agents.get(node1.name)!.sync(inputs(node1, 'node-2', 'Ready'));
      const tables = (await node1.run('nft', ['list', 'tables'])).stdout;
      expect(tables).toContain(`inet ${settings.nftTable}\n`);
      expect(tables).not.toContain(handover);
    });

    it('drops, never leaks, the packets of a mark whose rule is gone (the guard chain alone)', async () => {
      await assign('node-2', 'Ready');
      const node1 = lab.nodes[0]!;
      await seen();
      const spray = lab.client(lab.pod('n1a'), ['spray', String(SPRAY_PORT), EXTERNAL.inPolicy, '1500', '2']);
      await new Promise((r) => setTimeout(r, 300));
      // Someone else removes the agent's rule: marked packets now meet the main table.
      await node1.run('ip', ['-4', 'rule', 'del', 'priority', String(settings.rulePriority)]);
      await new Promise((r) => setTimeout(r, 500));
      const guard = JSON.parse(
        (await node1.run('nft', ['-j', 'list', 'chain', 'inet', settings.nftTable, 'guard'])).stdout,
      ) as { nftables: { rule?: { expr: { counter?: { packets: number } }[] } }[] };
      const dropped = guard.nftables.flatMap((i) => i.rule?.expr ?? []).find((e) => e.counter)
        ?.counter?.packets;
      const agent = agents.get(node1.name)!;
      agent.resync();
      expect((await agent.sync(inputs(node1, 'node-2', 'Ready'))).changes.map((c) => c.kind)).toEqual([
        'rule.add',
      ]);
      await spray.lines;
      expect(dropped).toBeGreaterThan(0);
      expect(await seen()).toEqual({ [EGRESS_IP]: expect.any(Number) });
    });

    it('never shows the pod IP of a flow that was tunnelled when its own node becomes the gateway', async () => {
      await assign('node-3', 'Ready');
      await seen();
      const flow = lab.client(lab.pod('n2a'), ['udp', String(ECHO_PORTS.udp), EXTERNAL.inPolicy, '300', '5']);
      await new Promise((r) => setTimeout(r, 400));
      await assign('node-2', 'Ready');
      const [result] = (await flow.lines) as [{ received: number }];
      expect(result.received).toBeGreaterThan(0);
      expect(await seen()).toEqual({ [EGRESS_IP]: expect.any(Number) });
    });
  },
);
