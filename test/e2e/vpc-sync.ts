/**
 * @module
 * Keeps the "VPC" router namespace in step with LocalStack: every `intervalMs` it reads the VPC's ENIs
 * (one `DescribeNetworkInterfaces`), decides where each IP goes ({@link desiredDelivery}) and applies only
 * the difference, atomically: one `nft -f` transaction for the source check, one `ip -batch` for the /32
 * routes. So packets for an IP reach exactly the node whose ENI holds it in LocalStack right now, and a
 * node may only send from IPs its ENI holds.
 *
 * ```
 * start(): nft -f vpcRuleset ─► loop { describe ─► decide ─► plan ─► nft -f || ip -batch ─► emit 'applied' }
 * stop():  loop ends (the namespace and everything in it go with the topology)
 * ```
 *
 * With an `internet` link the router is also the VPC's internet gateway (igw-plan.ts): each round reads the
 * Elastic IPs too (one `DescribeAddresses`, beside the ENIs' call) and keeps the 1:1 NAT in step.
 *
 * The lag from a cloud call to the router's change is one poll interval at worst plus a describe call
 * and two commands; {@link VpcSync.stats} reports the measured per-round times.
 */
import { EventEmitter } from 'node:events';
import {
  DescribeAddressesCommand,
  DescribeNetworkInterfacesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { commandRunner, type RunCommand } from '../../src/agent/linux/run-command.ts';
import { nftCounterPackets } from '../support/netns.ts';
import {
  desiredNat,
  type EipView,
  IGW_TABLE,
  igwRuleset,
  NO_PUBLIC_IP_COUNTER,
  type PublicNat,
  planNat,
} from './igw-plan.ts';
import {
  type Delivery,
  desiredDelivery,
  type EniLinks,
  type EniView,
  planVpc,
  VPC_TABLE,
  vpcRuleset,
} from './vpc-plan.ts';

/** Options of {@link VpcSync}. */
export interface VpcSyncOptions {
  readonly ec2: EC2Client;
  readonly vpcId: string;
  /** The router namespace. */
  readonly ns: string;
  /** Where the router reaches each ENI. */
  readonly links: EniLinks;
  /** The router links towards the internet and other networks outside the VPC (exempt from the source check). */
  readonly uplink: string | readonly string[];
  /** The router link towards the internet, where it acts as the internet gateway (none by default). */
  readonly internet?: string;
  /** Poll interval (default 50 ms). */
  readonly intervalMs?: number;
}

/** One applied change set. */
export interface AppliedEvent {
  /** When the describe call that saw the change started (ms, performance.now()). */
  readonly observedAt: number;
  /** When the router held the new state (ms, performance.now()). */
  readonly appliedAt: number;
  readonly changed: readonly string[];
  readonly delivery: Delivery;
}

/** Per-round timings, in ms. */
export interface VpcSyncStats {
  readonly rounds: number;
  readonly describeMedianMs: number;
  readonly applyMedianMs: number;
  readonly errors: number;
  /** IPs seen on two ENIs at once (a cloud never allows this). */
  readonly conflicts: ReadonlyMap<string, readonly string[]>;
}

const median = (xs: readonly number[]) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

/** Reads the ENIs of a VPC. */
export async function describeVpcEnis(ec2: EC2Client, vpcId: string): Promise<EniView[]> {
  const out: EniView[] = [];
  let token: string | undefined;
  do {
    const page = await ec2.send(
      new DescribeNetworkInterfacesCommand({
        Filters: [{ Name: 'vpc-id', Values: [vpcId] }],
        ...(token ? { NextToken: token } : {}),
      }),
    );
    for (const eni of page.NetworkInterfaces ?? []) {
      const addresses = [...(eni.PrivateIpAddresses ?? [])].sort(
        (a, b) => Number(!!b.Primary) - Number(!!a.Primary),
      );
      out.push({
        id: eni.NetworkInterfaceId!,
        instanceId: eni.Attachment?.InstanceId,
        ips: [
          ...addresses.map((a) => a.PrivateIpAddress!),
          ...(eni.Ipv6Addresses ?? []).map((a) => a.Ipv6Address!),
        ].filter(Boolean),
      });
    }
    token = page.NextToken;
  } while (token);
  return out;
}

/** Reads the region's Elastic IPs. */
export async function describeElasticIps(ec2: EC2Client): Promise<EipView[]> {
  const page = await ec2.send(
    new DescribeAddressesCommand({ Filters: [{ Name: 'domain', Values: ['vpc'] }] }),
  );
  return (page.Addresses ?? []).map((a) => ({
    publicIp: a.PublicIp!,
    networkInterfaceId: a.NetworkInterfaceId,
    privateIp: a.PrivateIpAddress,
  }));
}

/** The sync loop. */
export class VpcSync extends EventEmitter<{ applied: [AppliedEvent]; error: [Error] }> {
  readonly #options: VpcSyncOptions;
  readonly #run: RunCommand;
  #applied: Delivery = new Map();
  #nat: PublicNat = new Map();
  #running = false;
  #loop: Promise<void> | undefined;
  #describeMs: number[] = [];
  #applyMs: number[] = [];
  #errors = 0;
  #conflicts = new Map<string, readonly string[]>();

  constructor(options: VpcSyncOptions) {
    super();
    this.#options = options;
    this.#run = commandRunner(options.ns);
  }

  /** What the router delivers now. */
  get delivery(): Delivery {
    return this.#applied;
  }

  /** The internet gateway's NAT now: private IP -> Elastic IP (empty without an `internet` link). */
  get publicNat(): PublicNat {
    return this.#nat;
  }

  /** Measured timings. */
  get stats(): VpcSyncStats {
    return {
      rounds: this.#describeMs.length,
      describeMedianMs: median(this.#describeMs),
      applyMedianMs: median(this.#applyMs),
      errors: this.#errors,
      conflicts: this.#conflicts,
    };
  }

  /** How many forwarded packets the source/destination check has dropped so far. */
  async spoofedDrops(): Promise<number> {
    return nftCounterPackets(this.#run, 'inet', VPC_TABLE, 'spoofed');
  }

  /** How many packets towards the internet the gateway has dropped because their source has no Elastic IP. */
  async noPublicIpDrops(): Promise<number> {
    return nftCounterPackets(this.#run, 'ip', IGW_TABLE, NO_PUBLIC_IP_COUNTER);
  }

  /** Installs the ruleset, runs one round (so the router is in step when this resolves) and starts the loop. */
  async start(): Promise<void> {
    const { internet } = this.#options;
    await this.#run(
      'nft',
      ['-f', '-'],
      vpcRuleset(this.#options.uplink) + (internet ? igwRuleset(internet) : ''),
    );
    await this.#round();
    this.#running = true;
    this.#loop = this.#forever();
  }

  /** Stops the loop and waits for the round in flight. */
  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }

  /** Resolves when the router delivers `ip` to `link` (or nowhere, when `link` is undefined). */
  waitFor(ip: string, link: string | undefined, timeoutMs = 10_000): Promise<AppliedEvent | undefined> {
    if (this.#applied.get(ip) === link) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('applied', onApplied);
        reject(new Error(`the VPC did not deliver ${ip} to ${link ?? 'nowhere'} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onApplied = (event: AppliedEvent) => {
        if (event.delivery.get(ip) !== link) return;
        clearTimeout(timer);
        this.off('applied', onApplied);
        resolve(event);
      };
      this.on('applied', onApplied);
    });
  }

  async #forever(): Promise<void> {
    const interval = this.#options.intervalMs ?? 50;
    while (this.#running) {
      const started = performance.now();
      try {
        await this.#round();
      } catch (err) {
        this.#errors++;
        if (this.listenerCount('error') > 0) this.emit('error', err as Error);
      }
      const wait = interval - (performance.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }

  async #round(): Promise<void> {
    const observedAt = performance.now();
    const { ec2, vpcId, internet } = this.#options;
    const [enis, addresses] = await Promise.all([
      describeVpcEnis(ec2, vpcId),
      internet ? describeElasticIps(ec2) : [],
    ]);
    const described = performance.now();
    this.#describeMs.push(described - observedAt);
    const { delivery, conflicts } = desiredDelivery(enis, this.#options.links, this.#applied);
    for (const [ip, list] of conflicts) this.#conflicts.set(ip, list);
    const plan = planVpc(this.#applied, delivery);
    const nat = internet ? desiredNat(addresses, new Set(enis.map((e) => e.id))) : this.#nat;
    const natPlan = planNat(this.#nat, nat);
    if (plan.changed.length === 0 && !natPlan) return;
    // Both at once, each a single transaction: until both are in, a moved IP is either still delivered to its
    // old node or not yet allowed from its new one, which a real VPC's propagation looks like too; never to
    // or from a node the cloud did not give it to at one time or the other.
    const nft = plan.nft + natPlan;
    await Promise.all([
      nft ? this.#run('nft', ['-f', '-'], nft) : undefined,
      plan.routes.length ? this.#run('ip', ['-batch', '-'], `${plan.routes.join('\n')}\n`) : undefined,
    ]);
    this.#applied = delivery;
    this.#nat = nat;
    const appliedAt = performance.now();
    this.#applyMs.push(appliedAt - described);
    this.emit('applied', { observedAt, appliedAt, changed: plan.changed, delivery });
  }
}
