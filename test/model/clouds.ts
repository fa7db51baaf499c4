/**
 * @module
 * The clouds the model-based test runs on, behind one face: three gateway nodes in one subnet, two disjoint
 * pools of ten IPs, the cloud's own view of who holds which IP, and its lies (test/conformance/
 * lying-cloud.case.ts). The in-memory cloud, and AWS on LocalStack through the fault proxy.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { LocalStack } from '../../localstack/localstack.ts';
import { createAwsProviderTuned } from '../../providers/aws/index.ts';
import { createInMemoryProviderFor, InMemoryCloud } from '../../providers/inmemory/index.ts';
import type { ProviderMaker } from '../../src/controller/provider-pool.ts';
import { type FaultProxy, startFaultProxy } from '../aws/fault-proxy.ts';
import {
  createVpc,
  freeIPsIn,
  resetEnis,
  runInstance,
  secondaryIPs,
  testEc2Client,
  type WorldInstance,
} from '../aws/world.ts';
import type { CloudLies } from '../conformance/lying-cloud.case.ts';

/** A node of the model's cloud, as its Node object names it. */
export interface ModelNode {
  /** Short name: `n1`, `n2`, `n3` (the Node is `<namespace>-<short>`). */
  readonly short: string;
  readonly providerID: string;
  readonly address: string;
}

/** A cloud for the model-based test; see the module comment. */
export interface ModelCloud {
  readonly name: string;
  readonly nodes: readonly ModelNode[];
  /** The pools of gateways `g1` and `g2`: ten IPs each, disjoint, in the nodes' subnet. */
  readonly pools: readonly [readonly string[], readonly string[]];
  /** Egress IPs one node can hold. */
  readonly perNode: number;
  readonly lies: CloudLies;
  /** Lies told so far, by kind (counts since the cloud was made). */
  told(): LiesTold;
  /** The controller's providers, over this cloud. */
  readonly maker: ProviderMaker;
  /** Every secondary IP on every node's interface, short node name -> IPs (read from the cloud itself). */
  holdings(): Promise<Map<string, string[]>>;
  /** Between runs: every secondary IP removed, lies cleared and landed. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** Lies told, by kind. */
export interface LiesTold {
  readonly lost: number;
  readonly late: number;
  readonly stale: number;
}

const SHORTS = ['n1', 'n2', 'n3'] as const;

/** The in-memory cloud. */
export function inMemoryModelCloud(): ModelCloud {
  const cloud = new InMemoryCloud();
  cloud.lies.record();
  const nodes = SHORTS.map((short, i) => {
    const name = `model-${short}`;
    cloud.addInstance({ name, zone: 'zone-1', subnet: '10.1.1.0/24', primaryIP: `10.1.1.${10 + i}` });
    return { short, providerID: `inmemory:///zone-1/${name}`, address: `10.1.1.${10 + i}` };
  });
  const range = (from: number) => Array.from({ length: 10 }, (_, i) => `10.1.1.${from + i}`);
  return {
    name: 'inmemory',
    nodes,
    pools: [range(100), range(110)],
    perNode: 29,
    lies: cloud.lies,
    told: () => ({ ...cloud.lies.told }),
    maker: (_name, settings) => createInMemoryProviderFor(cloud, settings),
    holdings: async () =>
      new Map(SHORTS.map((short) => [short, cloud.secondaryIPs(`model-${short}`)] as const)),
    reset: async () => {
      cloud.lies.clear();
      await cloud.lies.settled();
      for (const inst of cloud.instances.values()) inst.secondary.clear();
    },
    close: async () => {},
  };
}

/** AWS on `localstack`: three m5.large instances (9 secondary IPv4 each), the provider through the fault proxy. */
export async function localStackModelCloud(localstack: LocalStack): Promise<ModelCloud> {
  const proxy: FaultProxy = await startFaultProxy(localstack.endpoint);
  const ec2: EC2Client = testEc2Client(localstack);
  const vpc = await createVpc(ec2, ['us-east-1a']);
  const subnet = vpc.subnets[0]!;
  const instances: WorldInstance[] = [];
  for (const short of SHORTS) instances.push(await runInstance(ec2, subnet, `model-${short}`, 'm5.large'));
  const free = await freeIPsIn(ec2, vpc.vpcId, subnet.cidr, 20, 100);
  const nodes = instances.map((inst, i) => ({
    short: SHORTS[i]!,
    providerID: inst.ref.providerID,
    address: inst.primaryIP,
  }));
  return {
    name: 'aws (LocalStack)',
    nodes,
    pools: [free.slice(0, 10), free.slice(10, 20)],
    perNode: 9,
    lies: proxy.lies,
    told: () => {
      const injected = proxy.injected();
      return {
        lost: injected.get('lostWrite') ?? 0,
        late: injected.get('lateWrite') ?? 0,
        stale: injected.get('staleRead') ?? 0,
      };
    },
    maker: (_name, settings) =>
      createAwsProviderTuned(
        { ...settings, endpoint: proxy.endpoint },
        { credentials: localstack.credentials, retry: { retries: 3, baseDelayMs: 20, maxDelayMs: 200 } },
      ),
    holdings: async () => {
      const out = new Map<string, string[]>();
      for (const [i, inst] of instances.entries()) out.set(SHORTS[i]!, await secondaryIPs(ec2, inst.eniId));
      return out;
    },
    reset: async () => {
      proxy.lies.clear();
      await proxy.settled();
      await resetEnis(
        ec2,
        instances.map((i) => i.eniId),
      );
    },
    close: async () => {
      ec2.destroy();
      await proxy.close();
    },
  };
}
