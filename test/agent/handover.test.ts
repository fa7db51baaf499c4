/**
 * @module
 * A planned move (handover) of an egress IP between two gateway nodes on a real kernel, with the cloud's
 * delivery modelled: the external namespace plays the VPC, which delivers the egress IP only to the node
 * whose interface the cloud has it on and drops what another node sends from it (a source check), so the
 * cloud's move is a step of its own between the agents' steps, as in a cloud.
 *
 * ```
 *   step                                  node-2 (old)            node-3 (new)            cloud
 *   1  node-2 Ready                        holds, SNATs            -                       node-2
 *   2  node-2 handoverTo node-3            holds, copies to node-3 holds, copies to node-2 node-2
 *   3  the cloud moves the IP              "                       "                       node-3
 *   4  node-3 handoverFrom node-2          holds, copies to node-3 holds, copies to node-2 node-3
 *   5  node-3 Ready                        -                       holds, SNATs            node-3
 * ```
 *
 * The suite runs on both shapes of the lab: the Flannel-like overlay, and the VPC CNI's pods with the VPC's
 * source/destination check on, where the check must drop nothing (the replies go back through the tunnel, and so
 * do the answers the gateways send on to each other).
 *
 * Three connections from a pod on node-1, kept open from before the move, opened during it (step 2: its
 * handshake answer reaches node-2 alone) and opened after the cloud's move (step 3: node-3 alone), must each
 * go on answering from the egress IP to the end. Needs root and `ip netns`; skipped with the reason
 * otherwise.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentSync } from '../../src/agent/agent-sync.ts';
import { HandoverAdopter } from '../../src/agent/handover-adopter.ts';
import type { LinuxDataplane } from '../../src/agent/linux/linux-dataplane.ts';
import { commandRunner } from '../../src/agent/linux/run-command.ts';
import { answersTable } from '../../src/agent/nft-model.ts';
import { HANDOVER_ADOPT_INTERVAL_MS } from '../../src/agent/run-agent.ts';
import { DEFAULT_DATAPLANE_SETTINGS } from '../../src/agent/settings.ts';
import type { IpAssignmentStatus } from '../../src/api/index.ts';
import { egressPolicy } from '../support/egress-policies.ts';
import { netnsUnavailable } from '../support/netns.ts';
import { ECHO_PORTS, EXTERNAL, type LabNode, NetnsLab, VPC } from './netns-lab.ts';

const EGRESS_IP = '192.168.100.50';
const settings = DEFAULT_DATAPLANE_SETTINGS;

const unavailable = await netnsUnavailable();

/**
 * The two shapes of the lab (netns-lab.ts): pods behind a Flannel-like overlay, and pods with "VPC" addresses as
 * the Amazon VPC CNI gives them, where the VPC also drops what a node sends from an address that is not its own.
 */
const SHAPES = [
  { shape: 'Flannel-like overlay', vpcCni: false },
  { shape: 'VPC CNI, source/destination check on', vpcCni: true },
] as const;

describe.skipIf(unavailable !== undefined).each(SHAPES)(
  `planned move of an egress IP in network namespaces, $shape${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  ({ vpcCni }) => {
    const lab = new NetnsLab();
    const clusterCidrs = vpcCni ? { clusterCidrs: [VPC.pods, '10.96.0.0/12'] } : {};
    let dropsBefore = 0;
    const agents = new Map<string, { sync: AgentSync; adopter: HandoverAdopter }>();
    const dataplanes: LinuxDataplane[] = [];
    let assignment: IpAssignmentStatus = { ip: EGRESS_IP, node: 'node-2', state: 'Ready' };

    const node = (name: string) => lab.nodes.find((n) => n.name === name)!;
    const policy = () =>
      egressPolicy({ spec: { destinationCIDRs: [EXTERNAL.destinations] }, assignments: [assignment] });
    const syncAll = async () => {
      // As the agent does: each sync tells the adopter which moves are under way here.
      for (const n of lab.nodes) {
        const agent = agents.get(n.name)!;
        const outcome = await agent.sync.sync(lab.inputs(n, [policy()], clusterCidrs));
        agent.adopter.update(outcome.result.handingOver);
      }
      await Promise.all(dataplanes.map((d) => d.settle()));
    };
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

    /**
     * The cloud puts the egress IP on `holder`'s interface: the VPC (the external namespace) delivers it to
     * that node's MAC alone and drops packets from the IP that another node sends.
     */
    const cloudHolds = (holder: LabNode) => cloudStep(holder, [holder]);
    /**
     * One instant of the cloud's move as its data plane applies it: the VPC delivers the egress IP to
     * `deliverTo` and lets through what the nodes in `sendFrom` send from it (both switch, not at once).
     */
    const cloudStep = async (deliverTo: LabNode, sendFrom: readonly LabNode[]) => {
      const mac = async (n: LabNode) => {
        const { stdout } = await n.run('ip', ['-j', 'link', 'show', 'dev', 'eth0']);
        return (JSON.parse(stdout) as [{ address: string }])[0].address;
      };
      const senders = await Promise.all(sendFrom.map(mac));
      const ext = commandRunner(lab.ext);
      await ext('ip', [
        'neigh',
        'replace',
        EGRESS_IP,
        'lladdr',
        await mac(deliverTo),
        'dev',
        'eth0',
        'nud',
        'permanent',
      ]);
      await ext(
        'nft',
        ['-f', '-'],
        'table ip vpc\ndelete table ip vpc\ntable ip vpc {\n\tchain pre {\n' +
          '\t\ttype filter hook prerouting priority raw; policy accept;\n' +
          `\t\tip saddr ${EGRESS_IP} ether saddr != { ${senders.join(', ')} } counter drop\n\t}\n}\n`,
      );
    };

    /** A move of the IP from node-3 (where the sources still send) to node-2 begins. */
    const moveFromNode3 = async () => {
      assignment = { ip: EGRESS_IP, node: 'node-3', state: 'Ready', handoverTo: 'node-2' };
      await syncAll();
    };
    /** The cloud holds the IP on node-3 again and the move is called off: the next test starts from there. */
    const node3HoldsAgain = async () => {
      await cloudHolds(node('node-3'));
      assignment = { ip: EGRESS_IP, node: 'node-3', state: 'Ready' };
      await syncAll();
    };

    beforeAll(async () => {
      await lab.build(3, { 1: ['n1a'] }, { vpcCni });
      await lab.startEcho();
      if (vpcCni) {
        // Both gateways may send from the egress IP as far as the check goes; which one the cloud lets
        // through and delivers to is the cloud's step (cloudStep).
        await lab.vpcAllow(node('node-2'), EGRESS_IP);
        await lab.vpcAllow(node('node-3'), EGRESS_IP);
        dropsBefore = await lab.vpcDrops();
      }
      for (const n of lab.nodes) {
        const dataplane = lab.dataplane(n, { nftSession: true, announce: false });
        dataplanes.push(dataplane);
        agents.set(n.name, {
          sync: new AgentSync({ dataplane, settings }),
          adopter: new HandoverAdopter({
            adopt: (ips) => dataplane.adoptHandoverFlows(ips),
            intervalMs: HANDOVER_ADOPT_INTERVAL_MS,
            tracking: (on) => dataplane.handoverTracking(on),
          }),
        });
      }
      await cloudHolds(node('node-2'));
      await syncAll();
    });
    afterAll(async () => {
      for (const a of agents.values()) await a.adopter.stop();
      for (const d of dataplanes) await d.close();
      await lab.destroy();
    });

    it('keeps connections opened before, during and after the cloud move answering from the egress IP', async () => {
      const pod = lab.pod('n1a');
      const hold = () => lab.client(pod, ['hold', String(ECHO_PORTS.tcp), EXTERNAL.inPolicy, '0', '100']);
      const before = hold();
      await before.first;
      await pause(300);

      assignment = { ip: EGRESS_IP, node: 'node-2', state: 'Ready', handoverTo: 'node-3' };
      await syncAll();
      const during = hold();
      await during.first;
      await pause(300);

      await cloudHolds(node('node-3'));
      const after = hold();
      await after.first;
      await pause(500);

      assignment = { ip: EGRESS_IP, node: 'node-3', state: 'Ready', handoverFrom: 'node-2' };
      await syncAll();
      await pause(500);
      assignment = { ip: EGRESS_IP, node: 'node-3', state: 'Ready' };
      await syncAll();
      await pause(1000);

      const answers = async (client: ReturnType<typeof hold>) => {
        client.stop();
        const [, report] = (await client.lines) as [unknown, { answers: string[] }];
        return report.answers;
      };
      const got = {
        before: await answers(before),
        during: await answers(during),
        after: await answers(after),
      };
      for (const [name, list] of Object.entries(got)) {
        expect(list.length, name).toBeGreaterThan(5);
        expect(list, name).toEqual(Array(list.length).fill(EGRESS_IP));
      }
      // The move is over: the old gateway no longer holds the IP.
      const old = await node('node-2').run('ip', ['-4', 'addr', 'show', 'dev', 'eth0']);
      expect(old.stdout).not.toContain(`${EGRESS_IP}/32`);
    });

    it('a connection adopted at the cloud holder before its handshake answer arrives still connects', async () => {
      // The cloud holds the IP on node-3; a move to node-2 begins. The server's handshake answers are held
      // back until node-3 has adopted the connection's entry, then let through.
      await moveFromNode3();
      const ext = commandRunner(lab.ext);
      await ext(
        'nft',
        ['-f', '-'],
        'table ip holdback {\n\tchain out {\n\t\ttype filter hook output priority filter; policy accept;\n' +
          `\t\tip daddr ${EGRESS_IP} tcp flags & (syn | ack) == syn | ack counter drop\n\t}\n}\n`,
      );
      const pod = lab.pod('n1a');
      const entries = async (state: string) =>
        (await node('node-3').run('conntrack', ['-L', '-p', 'tcp', '-s', pod.ip, '--state', state])).stdout
          .split('\n')
          .filter((l) => l.includes('[UNREPLIED]'))
          .map((l) => /sport=(\d+)/.exec(l)![1]!);
      const known = new Set(await entries('ESTABLISHED'));
      const client = lab.client(pod, ['hold', String(ECHO_PORTS.tcp), EXTERNAL.inPolicy, '0', '100']);
      // Its entry on node-3 becomes ESTABLISHED with no answer seen: adopted (the answers are held back).
      let adopted: string[] = [];
      for (let i = 0; i < 50 && adopted.length === 0; i++) {
        await pause(100);
        adopted = (await entries('ESTABLISHED')).filter((port) => !known.has(port));
      }
      expect(adopted).toHaveLength(1);
      await ext('nft', ['delete', 'table', 'ip', 'holdback']);
      await client.first;
      await pause(500);
      client.stop();
      const [, report] = (await client.lines) as [unknown, { answers: string[] }];
      expect(report.answers.length).toBeGreaterThan(2);
      expect(report.answers).toEqual(Array(report.answers.length).fill(EGRESS_IP));
      assignment = { ip: EGRESS_IP, node: 'node-3', state: 'Ready' };
      await syncAll();
    });

    it('an answer that reaches a gateway before the connection does goes through the tunnel to the other gateway', async () => {
      // A move from node-3 to node-2 begins; the sources still send to node-3. The cloud's data plane has
      // switched the delivery to node-2 but still lets node-3 send. node-2 never gets the copies of the
      // connection's opening segments (as when a copy is slower than the server's answer).
      await moveFromNode3();
      await cloudStep(node('node-2'), [node('node-3')]);
      const pod = lab.pod('n1a');
      const n2 = commandRunner(node('node-2').ns);
      await n2(
        'nft',
        ['-f', '-'],
        'table ip late {\n\tchain pre {\n\t\ttype filter hook prerouting priority raw - 10; policy accept;\n' +
          `\t\tiifname "${settings.tunnelName}" ip saddr ${pod.ip} tcp flags syn / syn,ack counter drop\n\t}\n}\n`,
      );
      try {
        // node-2 has no entry for the answers; node-3, which sent the connection's packets, has.
        expect(await lab.sources(pod, [EXTERNAL.inPolicy])).toEqual({ [EXTERNAL.inPolicy]: EGRESS_IP });
        // It did: node-2 never saw the connection open, and sent its answers on.
        const late = await n2('nft', ['list', 'table', 'ip', 'late']);
        expect(late.stdout).not.toMatch(/packets 0 /);
        const sentOn = await n2('nft', ['list', 'table', 'ip', answersTable(settings.nftTable)]);
        expect(sentOn.stdout).toMatch(/counter packets [1-9]\d* .* dup to/);
      } finally {
        await n2('nft', ['delete', 'table', 'ip', 'late']);
      }
      await node3HoldsAgain();
    });

    it("the old gateway copies a handshake answer to the new one, whose entry then knows the server's side", async () => {
      // A move from node-3 to node-2 begins; the sources still send to node-3. The cloud's data plane already lets
      // node-2 alone send from the IP but still delivers to node-3: node-2's copy of the opening segment is what
      // reaches the server, and the answer reaches node-3.
      await moveFromNode3();
      await cloudStep(node('node-3'), [node('node-2')]);
      const pod = lab.pod('n1a');
      const entries = async () =>
        (await node('node-2').run('conntrack', ['-L', '-p', 'tcp', '-s', pod.ip])).stdout
          .split('\n')
          .filter((l) => l.includes(`dst=${EGRESS_IP}`));
      const sport = (line: string) => /sport=(\d+)/.exec(line)?.[1];
      const known = new Set((await entries()).map(sport));
      const client = lab.client(pod, ['hold', String(ECHO_PORTS.tcp), EXTERNAL.inPolicy, '0', '100']);
      try {
        await client.first;
        // node-2 saw the answer (a copy from node-3): its entry is not left waiting for one, so the client's next
        // segments pass it without an adoption (on node-3's answers alone it stayed SYN_SENT, [UNREPLIED]).
        const opened = (await entries()).filter((l) => !known.has(sport(l)));
        expect(opened).toHaveLength(1);
        expect(opened[0]).not.toContain('[UNREPLIED]');
        const copied = await node('node-3').run('nft', [
          'list',
          'table',
          'ip',
          answersTable(settings.nftTable),
        ]);
        expect(copied.stdout).toMatch(/tcp flags syn,ack \/ syn,ack .*counter packets [1-9]/);
        await pause(500);
      } finally {
        client.stop();
      }
      const [, report] = (await client.lines) as [unknown, { answers: string[] }];
      // The server's answers reach node-3 alone, so node-2 has seen none of the data the client acknowledges:
      // the client's segments pass node-2 because both gateways track TCP windows liberally during the move.
      expect(report.answers.length).toBeGreaterThan(2);
      expect(report.answers).toEqual(Array(report.answers.length).fill(EGRESS_IP));
      const liberal = (n: string) =>
        node(n)
          .run('cat', ['/proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal'])
          .then((r) => r.stdout.trim());
      expect([await liberal('node-2'), await liberal('node-3'), await liberal('node-1')]).toEqual([
        '1',
        '1',
        '0',
      ]);
      await node3HoldsAgain();
      // The move is over: each gateway's setting is back to what it was.
      for (let i = 0; i < 20 && (await liberal('node-2')) !== '0'; i++) await pause(50);
      expect([await liberal('node-2'), await liberal('node-3')]).toEqual(['0', '0']);
    });

    it.skipIf(!vpcCni)(
      'the source/destination check dropped nothing: every reply went back through the tunnel',
      async () => {
        expect(await lab.vpcDrops()).toBe(dropsBefore);
      },
    );
  },
);
