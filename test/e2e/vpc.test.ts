/**
 * @module
 * The box's "VPC" against LocalStack, without Kubernetes: delivery follows the ENIs' IPs as
 * AssignPrivateIpAddresses / UnassignPrivateIpAddresses change them, the source/destination check drops
 * packets from IPs the sending node's ENI does not hold, and tearing the box down leaves nothing behind.
 * Needs root and `ip netns`; skipped with the reason otherwise.
 */
import { AssignPrivateIpAddressesCommand, UnassignPrivateIpAddressesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandRunner } from '../../src/agent/linux/run-command.ts';
import { netnsUnavailable } from '../support/netns.ts';
import { enisHolding as enisHoldingIn } from './cloud-state.ts';
import { type NetworkBox, startNetworkBox } from './network-box.ts';
import { summarize } from './outage.ts';
import { CNI_RULESET, hostLinksContaining, namespacesWithPrefix, Topology, VPC } from './topology.ts';
import { SOURCES_SET, VPC_TABLE } from './vpc-plan.ts';

const unavailable = await netnsUnavailable();
const title = (name: string) => `${name}${unavailable ? ` (skipped: ${unavailable})` : ''}`;

const EGRESS_IP = '10.0.1.100';

/**
 * How long a request that must be served may take: the default 1.5 s (what the requests that must time out wait)
 * was too short for a first connection through the router's proxy ARP in a clean-clone CI run.
 */
const SERVED_MS = 5000;

describe.skipIf(unavailable !== undefined)(title('the VPC in a box follows LocalStack'), () => {
  let box: NetworkBox;
  const enisHolding = (ip: string) => enisHoldingIn(box, ip);
  const spoofedDrops = () => box.vpc.spoofedDrops();

  beforeAll(async () => {
    box = await startNetworkBox({ pods: { 'wk-a': ['client-a'] } });
  });
  afterAll(async () => {
    const prefix = box?.topology.prefix;
    await box?.stop();
    if (prefix) expect(await namespacesWithPrefix(prefix)).toEqual([]);
  });

  it('routes every primary IP to its node; the echo server sees node IPs, pods leave masqueraded', async () => {
    for (const node of box.topology.nodes) expect(box.vpc.delivery.get(node.ip)).toBe(node.vpcLink);
    for (const node of box.topology.nodes) {
      expect(await box.request(node.ns, `http://${VPC.echoIp}:${VPC.echoPort}/`)).toMatchObject({
        source: node.ip,
      });
    }
    const pod = box.topology.pod('client-a');
    expect(await box.request(pod.ns, `http://${VPC.echoIp}:${VPC.echoPort}/`)).toMatchObject({
      source: box.topology.node('wk-a').ip,
    });
  });

  it('delivers a secondary IP only to the node whose ENI holds it, and follows it when it moves', async () => {
    const a1 = box.topology.node('gw-a1');
    const a2 = box.topology.node('gw-a2');
    // Both nodes claim the IP locally (as a stale gateway would); only the cloud decides who receives it.
    for (const node of [a1, a2]) {
      await node.run('ip', ['addr', 'add', `${EGRESS_IP}/32`, 'dev', 'eth0']);
      await box.serveIn(node.ns, node.name);
    }
    // Nodes of one subnet reach each other through the router (proxy ARP), and across zones.
    for (const client of ['wk-a', 'wk-b']) {
      const from = box.topology.node(client);
      expect(
        await box.request(from.ns, `http://${a1.ip}:${VPC.echoPort}/`, undefined, SERVED_MS),
      ).toMatchObject({
        servedBy: 'gw-a1',
        source: from.ip,
      });
    }
    const url = `http://${EGRESS_IP}:${VPC.echoPort}/`;
    expect(await box.request(box.topology.echo, url)).toMatchObject({ error: 'timeout' });

    const lags: number[] = [];
    const assign = async (eni: string, ip: string, link: string) => {
      await box.world.ec2.send(
        new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eni, PrivateIpAddresses: [ip] }),
      );
      const done = performance.now();
      const event = await box.vpc.waitFor(ip, link);
      lags.push(event ? event.appliedAt - done : 0);
    };
    await assign(box.world.enis.get('gw-a1')!, EGRESS_IP, a1.vpcLink);
    expect(await box.request(box.topology.echo, url, undefined, SERVED_MS)).toMatchObject({
      servedBy: 'gw-a1',
      source: VPC.echoIp,
    });

    for (let round = 0; round < 6; round++) {
      const [from, to] = round % 2 === 0 ? [a1, a2] : [a2, a1];
      await box.world.ec2.send(
        new UnassignPrivateIpAddressesCommand({
          NetworkInterfaceId: box.world.enis.get(from.name)!,
          PrivateIpAddresses: [EGRESS_IP],
        }),
      );
      await assign(box.world.enis.get(to.name)!, EGRESS_IP, to.vpcLink);
      expect(await enisHolding(EGRESS_IP)).toEqual([box.world.enis.get(to.name)]);
      expect(await box.request(box.topology.echo, url, undefined, SERVED_MS)).toMatchObject({
        servedBy: to.name,
      });
    }
    const lag = summarize(lags);
    console.log(
      `VPC lag from AssignPrivateIpAddresses to the router's change: median ${lag.median.toFixed(0)} ms, ` +
        `max ${lag.max.toFixed(0)} ms (n=${lag.n}); describe median ${box.vpc.stats.describeMedianMs.toFixed(1)} ms`,
    );
    expect(lag.max).toBeLessThan(1000);
  });

  it('drops packets whose source IP is not on the sending node’s ENI (source/destination check)', async () => {
    const holder = box.topology.nodes.find((n) => box.vpc.delivery.get(EGRESS_IP) === n.vpcLink)!;
    const other = holder.name === 'gw-a1' ? box.topology.node('gw-a2') : box.topology.node('gw-a1');
    const echoUrl = `http://${VPC.echoIp}:${VPC.echoPort}/`;
    const before = await spoofedDrops();
    const seenBefore = box.echoLog.length;

    // `other` still has the address locally, but its ENI does not hold it: the VPC drops what it sends.
    expect(await box.request(other.ns, echoUrl, EGRESS_IP)).toMatchObject({ error: 'timeout' });
    expect(box.echoLog.slice(seenBefore).filter((r) => r.source === EGRESS_IP)).toEqual([]);
    expect(await spoofedDrops()).toBeGreaterThan(before);

    // A pod IP that was not masqueraded is not on any ENI either.
    const pod = box.topology.pod('client-a');
    await pod.node.run('nft', ['delete', 'table', 'ip', 'boxcni']);
    expect(await box.request(pod.ns, echoUrl)).toMatchObject({ error: 'timeout' });
    await pod.node.run('nft', ['-f', '-'], CNI_RULESET);

    // The holder sends from the same IP and gets through.
    expect(await box.request(holder.ns, echoUrl, EGRESS_IP, SERVED_MS)).toMatchObject({
      source: EGRESS_IP,
    });
    expect(box.echoLog.at(-1)?.source).toBe(EGRESS_IP);

    const { stdout } = await commandRunner(box.topology.vpc)('nft', [
      'list',
      'set',
      'inet',
      VPC_TABLE,
      SOURCES_SET,
    ]);
    expect(stdout).toContain(EGRESS_IP);
    expect(box.vpc.stats.conflicts.size).toBe(0);
  });
});

describe.skipIf(unavailable !== undefined)(title('tearing the box down'), () => {
  it('removes every namespace and link, also after a build that failed half-way', async () => {
    const topology = new Topology();
    await topology.build(undefined, { 'wk-a': ['p1'] });
    expect((await namespacesWithPrefix(topology.prefix)).length).toBe(9);
    await topology.destroy();
    expect(await namespacesWithPrefix(topology.prefix)).toEqual([]);
    expect(await hostLinksContaining(topology.prefix)).toEqual([]);

    const broken = new Topology();
    const bad = [
      {
        name: 'gw-a1',
        zone: { name: 'z', cidr: '10.0.1.0/24', router: '10.0.1.1' },
        ip: 'not-an-ip',
        gateway: true,
        index: 1,
      },
    ];
    await expect(broken.build(bad)).rejects.toThrow(/building the box failed/);
    expect(await namespacesWithPrefix(broken.prefix)).toEqual([]);
    expect(await hostLinksContaining('n-gw-a1')).toEqual([]);
  });
});
