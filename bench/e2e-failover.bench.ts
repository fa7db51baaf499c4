/**
 * @module
 * Egress outage on a hard gateway kill, end to end in the process box (test/e2e/): LocalStack as AWS, a
 * real kube-apiserver, two `cloud-egress controller` replicas and six agents as processes in network
 * namespaces, and a 20 req/s probe in each of two selected pods. Each trial cuts the power of the node that
 * holds the egress IP (NIC down, every process on it killed) and measures the longest run of failed
 * requests any pod saw until traffic flowed again from the same egress IP (bench/hard-kill.ts); then the
 * node comes back and the next trial kills the new holder. Needs root; prints a note and returns nothing
 * otherwise. The same trials on kubelet nodes: real-node-failover.bench.ts.
 *
 * Trials: `E2E_TRIALS` (default 10). `E2E_PROBE_INTERVAL` (e.g. `100ms`) overrides the controllers' agent
 * probe interval (default the box's 100 ms, with 3 misses: a 300 ms detection time). `E2E_POD_NETWORK=vpcCni`
 * runs the box in the Amazon VPC CNI's shape (test/e2e/README.md): pods on VPC addresses, the egress IPs on a
 * dedicated ENI per gateway node, replies back through the tunnel, the source/destination check on.
 * `E2E_PUBLIC=1` measures public egress: the probes call an echo server on the internet, behind the VPC's internet
 * gateway, and count a request good only when it arrived from the Elastic IP paired with the egress IP.
 * `E2E_DUAL_STACK=1` runs the box in dual stack (test/e2e/README.md): each pod probes the echo server over IPv4 and
 * over IPv6, and the trials run twice in the same box, first killing the holder of the IPv6 egress IP (AWS moves it
 * by UnassignIpv6Addresses then AssignIpv6Addresses) and measuring the IPv6 probes, then the holder of the IPv4 one
 * (one AssignPrivateIpAddresses with AllowReassignment) measuring the IPv4 probes.
 */
import {
  BOX_POLICY,
  type CloudBox,
  cliUnavailable,
  ECHO_URL,
  ECHO_URL6,
  INTERNET_ECHO_URL,
  netnsUnavailable,
  ProbeRun,
  startCloudBox,
  waitForHolder,
  waitForSteadyTraffic,
} from '../test/e2e/index.ts';
import { hardKillRows, hardKillTrials } from './hard-kill.ts';
import type { Bench, BenchResult } from './types.ts';

const EXPECTED = new Set<string>(BOX_POLICY.egressIPs);
const IP = BOX_POLICY.egressIPs[0];

const bench: Bench = async () => {
  const why = (await netnsUnavailable()) ?? (await cliUnavailable());
  if (why) {
    process.stderr.write(`e2e-failover: skipped (${why})\n`);
    return [];
  }
  const trials = Number(process.env['E2E_TRIALS'] ?? 10);
  let box: CloudBox | undefined;
  let probes: ProbeRun | undefined;
  let rows: BenchResult[] = [];
  try {
    const interval = process.env['E2E_PROBE_INTERVAL'];
    const podNetwork = process.env['E2E_POD_NETWORK'] ?? 'box';
    if (podNetwork !== 'box' && podNetwork !== 'vpcCni') {
      throw new Error(`E2E_POD_NETWORK: "${podNetwork}" is neither box nor vpcCni`);
    }
    const publicEgress = process.env['E2E_PUBLIC'] === '1';
    const dualStack = process.env['E2E_DUAL_STACK'] === '1';
    box = await startCloudBox({
      provider: 'aws',
      podNetwork,
      publicEgress,
      dualStack,
      ...(interval ? { controllerFlags: ['--probe-interval', interval] } : {}),
    });
    if (dualStack) {
      const [ip4, ip6] = box.egressIPs as [string, string];
      const egress = new Set([ip4, ip6]);
      for (const ip of egress) await waitForHolder(box, ip);
      probes = box.startProbes();
      await waitForSteadyTraffic(probes, egress);
      const keys = (url: string) => box!.pods.map((p) => ProbeRun.key(p.name, url));
      const v6 = await hardKillTrials(box, probes, egress, trials, ip6, keys(ECHO_URL6));
      const v4 = await hardKillTrials(box, probes, egress, trials, ip4, keys(ECHO_URL));
      return [
        ...hardKillRows('process box, dual stack, IPv6 egress IP and probes', v6, box.net.vpc.stats),
        ...hardKillRows('process box, dual stack, IPv4 egress IP and probes', v4, box.net.vpc.stats),
      ];
    }
    await waitForHolder(box, IP);
    const expected = publicEgress ? new Set([box.elasticIp!]) : EXPECTED;
    probes = publicEgress ? box.startProbes(box.pods, 20, INTERNET_ECHO_URL) : box.startProbes();
    await waitForSteadyTraffic(probes, expected);
    const result = await hardKillTrials(box, probes, expected, trials, IP);
    const shape =
      podNetwork === 'vpcCni' ? 'process box, VPC CNI shape, source/destination check on' : 'process box';
    rows = hardKillRows(
      publicEgress ? `${shape}, public egress (Elastic IP)` : shape,
      result,
      box.net.vpc.stats,
    );
  } finally {
    await probes?.stop();
    await box?.stop();
  }
  return rows;
};

export default bench;
