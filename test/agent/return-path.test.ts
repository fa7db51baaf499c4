/**
 * @module
 * The return path (docs/agent.md, "The return path") on a real kernel: a lab shaped like the Amazon VPC CNI
 * (pods take addresses the "VPC" routes to their node; the VPC drops a frame whose source is not an address of
 * the node that sent it, as EC2's source/destination check does) and the Flannel-like lab. With the return path
 * `tunnel` the gateway sends the replies back through the tunnel to the pod's node, so the check never sees the
 * partner's address leave the gateway; with `podNetwork` (the behaviour before, "item 2 reverted") the check
 * drops them. Needs root and `ip netns`; skipped with the reason otherwise.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentSync } from '../../src/agent/agent-sync.ts';
import type { LinuxDataplane } from '../../src/agent/linux/linux-dataplane.ts';
import { type DataplaneSettings, DEFAULT_DATAPLANE_SETTINGS } from '../../src/agent/settings.ts';
import { egressPolicy } from '../support/egress-policies.ts';
import { netnsUnavailable } from '../support/netns.ts';
import { EXTERNAL, type LabNode, NetnsLab, VPC } from './netns-lab.ts';

const EGRESS_IP = '192.168.100.50';
const TUNNEL: DataplaneSettings = DEFAULT_DATAPLANE_SETTINGS;
const POD_NETWORK: DataplaneSettings = { ...DEFAULT_DATAPLANE_SETTINGS, returnPath: 'podNetwork' };

const unavailable = await netnsUnavailable();

const policy = egressPolicy({
  spec: { destinationCIDRs: [EXTERNAL.destinations] },
  assignments: [{ ip: EGRESS_IP, node: 'node-2', state: 'Ready' }],
});

/** Packets `node`'s tunnel device has received. */
async function tunnelReceived(node: LabNode): Promise<number> {
  const out = await node.run('ip', ['-j', '-s', 'link', 'show', 'dev', TUNNEL.tunnelName]);
  return JSON.parse(out.stdout)[0].stats64.rx.packets as number;
}

/** A lab of three nodes (pods n1a, n1b on node-1, n2a on node-2, the gateway) and agents that program it. */
function labWithAgents(options: { readonly vpcCni: boolean }) {
  const lab = new NetnsLab();
  const dataplanes: LinuxDataplane[] = [];
  const clusterCidrs = options.vpcCni ? [VPC.pods, '10.96.0.0/12'] : undefined;
  const syncAll = async (settings: DataplaneSettings) => {
    for (const node of lab.nodes) {
      const dataplane = lab.dataplane(node, { settings, announce: false });
      dataplanes.push(dataplane);
      await new AgentSync({ dataplane, settings }).sync(
        lab.inputs(node, [policy], clusterCidrs ? { clusterCidrs } : {}),
      );
    }
  };
  const setup = async () => {
    await lab.build(3, { 1: ['n1a', 'n1b'], 2: ['n2a'] }, { vpcCni: options.vpcCni });
    await lab.startEcho();
  };
  const teardown = async () => {
    for (const d of dataplanes) await d.close();
    await lab.destroy();
  };
  return { lab, syncAll, setup, teardown };
}

describe.skipIf(unavailable !== undefined)(
  `return path, VPC CNI shape with the source/destination check on${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    const { lab, syncAll, setup, teardown } = labWithAgents({ vpcCni: true });
    beforeAll(async () => {
      await setup();
      // The cloud has put the egress IP on the gateway's interface.
      await lab.vpcAllow(lab.nodes[1]!, EGRESS_IP);
    });
    afterAll(teardown);

    it('the lab is the VPC CNI shape: an unselected pod reaches the outside masqueraded, a pod on another node through the VPC', async () => {
      await syncAll(TUNNEL);
      const drops = await lab.vpcDrops();
      expect(await lab.sources(lab.pod('n1b'), [EXTERNAL.inPolicy])).toEqual({
        [EXTERNAL.inPolicy]: lab.nodes[0]!.ip,
      });
      await lab.startPodEcho(lab.pod('n2a'));
      expect(await lab.sources(lab.pod('n1b'), [lab.pod('n2a').ip])).toEqual({
        [lab.pod('n2a').ip]: lab.pod('n1b').ip,
      });
      expect(await lab.vpcDrops()).toBe(drops);
    });

    it('with the return path tunnel, a tunnelled pod gets its replies through the tunnel and the check drops nothing', async () => {
      await syncAll(TUNNEL);
      const drops = await lab.vpcDrops();
      const received = await tunnelReceived(lab.nodes[0]!);
      // The echo server saw the egress IP, and the answer came back to the pod.
      expect(await lab.sources(lab.pod('n1a'), [EXTERNAL.inPolicy], 256 * 1024)).toEqual({
        [EXTERNAL.inPolicy]: EGRESS_IP,
      });
      // The replies (at least the SYN-ACK, the answer and the FIN; the upload's ACKs vary with GRO) came out of
      // the pod's node's tunnel; nothing was dropped by the VPC's check.
      expect(await tunnelReceived(lab.nodes[0]!)).toBeGreaterThanOrEqual(received + 3);
      expect(await lab.vpcDrops()).toBe(drops);
      // A selected pod on the gateway itself: SNATed there, its replies never touch the tunnel.
      expect(await lab.sources(lab.pod('n2a'), [EXTERNAL.inPolicy])).toEqual({
        [EXTERNAL.inPolicy]: EGRESS_IP,
      });
      expect(await lab.vpcDrops()).toBe(drops);
    });

    it('with the return path podNetwork (item 2 reverted), the check drops the replies and the request fails', async () => {
      await syncAll(POD_NETWORK);
      const drops = await lab.vpcDrops();
      expect(await lab.sources(lab.pod('n1a'), [EXTERNAL.inPolicy])).toEqual({
        [EXTERNAL.inPolicy]: 'error: timeout',
      });
      expect(await lab.vpcDrops()).toBeGreaterThan(drops);
    });

    it('back to tunnel: the replies flow again', async () => {
      await syncAll(TUNNEL);
      const drops = await lab.vpcDrops();
      expect(await lab.sources(lab.pod('n1a'), [EXTERNAL.inPolicy])).toEqual({
        [EXTERNAL.inPolicy]: EGRESS_IP,
      });
      expect(await lab.vpcDrops()).toBe(drops);
    });
  },
);

describe.skipIf(unavailable !== undefined)(
  `return path, Flannel-like shape${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    const { lab, syncAll, setup, teardown } = labWithAgents({ vpcCni: false });
    beforeAll(setup);
    afterAll(teardown);

    it('with the return path tunnel, the replies come back through the tunnel', async () => {
      await syncAll(TUNNEL);
      const received = await tunnelReceived(lab.nodes[0]!);
      expect(await lab.sources(lab.pod('n1a'), [EXTERNAL.inPolicy], 256 * 1024)).toEqual({
        [EXTERNAL.inPolicy]: EGRESS_IP,
      });
      // At least the SYN-ACK, the answer and the FIN came by the tunnel (with podNetwork, below, none does).
      // The upload's ACKs add more, but how many depends on GRO and delayed ACKs, so they are not counted.
      expect(await tunnelReceived(lab.nodes[0]!)).toBeGreaterThanOrEqual(received + 3);
    });

    it('with podNetwork, the replies take the pod network (nothing arrives by the tunnel) and still arrive', async () => {
      await syncAll(POD_NETWORK);
      const received = await tunnelReceived(lab.nodes[0]!);
      expect(await lab.sources(lab.pod('n1a'), [EXTERNAL.inPolicy], 256 * 1024)).toEqual({
        [EXTERNAL.inPolicy]: EGRESS_IP,
      });
      expect(await tunnelReceived(lab.nodes[0]!)).toBe(received);
    });
  },
);
