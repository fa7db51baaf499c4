/**
 * @module
 * Reads what the AWS driver needs from EC2 about one node: its instance and egress ENI (by device index or by
 * tag), the ENI's state, its subnet (CIDRs and ownership tags), its instance type's per-ENI limits (cached), and
 * which other ENIs hold given IPs (the `addresses.private-ip-address` filter). Nothing here retries: the engine
 * retries each resolution and each write attempt or read, and every attempt re-reads what it needs.
 * (list-reads.ts reads many nodes at once.)
 *
 * A node's resolution (instance, ENI id, the ENI's subnet and VPC) does not change while the instance runs, so
 * it is cached: a move reads no DescribeInstances. After a `notFound` on a cached resolution (the ENI or the
 * instance is gone) the engine calls {@link Ec2Reader.refresh}, which drops it and resolves the node again.
 */
import type { Instance, Subnet } from '@aws-sdk/client-ec2';
import { familyOf } from '../../src/net/ip.ts';
import {
  type ClusterProbe,
  type NodeRef,
  ProviderError,
  type ProviderSettings,
} from '../../src/provider/contract.ts';
import type { EniLimits } from './decide.ts';
import type { Ec2Api } from './ec2-api.ts';
import { eniSelector, managedEniRefusal } from './egress-eni.ts';
import { type EniView, eniView } from './eni.ts';
import { parseAwsProviderID, regionOfZone } from './provider-id.ts';

/** A node resolved to its instance and egress ENI. */
export interface ResolvedNode {
  readonly node: NodeRef;
  /** The EC2 region of the node (its zone's, unless the settings name one): nodes listed together share it. */
  readonly region: string;
  readonly api: Ec2Api;
  readonly instanceId: string;
  readonly instanceType: string;
  readonly eniId: string;
  /** The ENI's subnet and VPC (fixed for an ENI's life). */
  readonly subnetId: string;
  readonly vpcId: string;
  /**
   * Why the ENI takes no new egress IP, when the default picked one the VPC CNI manages (egress-eni.ts); what
   * it holds is still listed and can be released, so that IPs placed there before move off it. Such a
   * resolution is not cached: tagging the ENI ends the refusal.
   */
  readonly refused?: ProviderError;
  /**
   * The default picked the ENI while the VPC CNI did not run: the cached resolution is made again once the
   * cluster says it runs (the VPC CNI installed later), so that the refusal then applies.
   */
  readonly withoutVpcCni?: true;
}

/** The most values one EC2 filter takes. */
export const MAX_FILTER_VALUES = 200;

/** `items` cut into runs of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A subnet as the provider sees it. */
export interface SubnetView {
  readonly id: string;
  readonly cidrs: readonly string[];
  readonly tags: ReadonlyMap<string, string>;
}

/** Parses an SDK subnet. */
export function subnetView(id: string, s: Subnet): SubnetView {
  return {
    id,
    cidrs: [
      ...(s.CidrBlock ? [s.CidrBlock] : []),
      ...(s.Ipv6CidrBlockAssociationSet ?? []).map((a) => a.Ipv6CidrBlock).filter((c): c is string => !!c),
    ],
    tags: new Map((s.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
  };
}

/** The reads of {@link createEc2Reader}. */
export interface Ec2Reader {
  /**
   * The node's instance and egress ENI, from the cache when the node was resolved before.
   * @throws ProviderError `notFound` when either is gone.
   */
  resolve(node: NodeRef, signal?: AbortSignal): Promise<ResolvedNode>;
  /** Drops the node's cached resolution and resolves it again (after a `notFound` on the cached one). */
  refresh(node: NodeRef, signal?: AbortSignal): Promise<ResolvedNode>;
  /** The node's egress ENI as EC2 has it now. */
  readEni(r: ResolvedNode, signal?: AbortSignal): Promise<EniView>;
  /** A subnet: its IPv4 and IPv6 CIDRs and its tags (which carry the ownership claims). */
  readSubnet(r: ResolvedNode, subnetId: string, signal?: AbortSignal): Promise<SubnetView>;
  /**
   * The node's ENI and its subnet, read in parallel (the subnet id is known from the resolution); the subnet is
   * read again only if the ENI turns out to sit in another one.
   */
  readEniAndSubnet(r: ResolvedNode, signal?: AbortSignal): Promise<{ eni: EniView; subnet: SubnetView }>;
  /** The per-ENI address limits of the node's instance type (cached). */
  limitsOf(r: ResolvedNode, signal?: AbortSignal): Promise<EniLimits>;
  /**
   * The ENIs other than `eni` that hold any of `ips`, by IP; with `includeSelf`, `eni` too, as this read shows
   * it (after a release: which IPs an ENI still holds although EC2 acknowledged their unassignment).
   */
  holdersOf(
    r: ResolvedNode,
    eni: EniView,
    ips: readonly string[],
    signal?: AbortSignal,
    options?: { readonly includeSelf?: boolean },
  ): Promise<Map<string, EniView>>;
}

/** Creates the reader for one provider instance. */
export function createEc2Reader(
  settings: ProviderSettings,
  ec2For: (region: string) => Ec2Api,
  cluster?: ClusterProbe,
): Ec2Reader {
  const limitCache = new Map<string, Promise<EniLimits>>();
  /** Resolved nodes by providerID; only successes are kept. */
  const nodeCache = new Map<string, ResolvedNode>();

  const apiFor = (node: NodeRef) => {
    const { zone, instanceId } = parseAwsProviderID(node.name, node.providerID);
    const region = settings.region ?? regionOfZone(zone);
    return { region, api: ec2For(region), instanceId };
  };

  /** The node's egress ENI by the settings' selector (egress-eni.ts). */
  async function pickEni(
    api: Ec2Api,
    node: NodeRef,
    instance: Instance,
    signal?: AbortSignal,
  ): Promise<Pick<ResolvedNode, 'eniId' | 'subnetId' | 'vpcId' | 'refused' | 'withoutVpcCni'>> {
    const selector = eniSelector(settings);
    if (selector.by === 'tag') {
      const { key, value } = selector;
      const res = await api.describeNetworkInterfaces(
        {
          Filters: [
            { Name: 'attachment.instance-id', Values: [instance.InstanceId!] },
            value === undefined
              ? { Name: 'tag-key', Values: [key] }
              : { Name: `tag:${key}`, Values: [value] },
          ],
        },
        signal,
      );
      const found = res.NetworkInterfaces?.[0];
      if (!found?.NetworkInterfaceId) {
        throw new ProviderError(
          'notFound',
          `node ${node.name}: instance ${instance.InstanceId} has no ENI tagged ${settings.interfaceTag}`,
        );
      }
      return { eniId: found.NetworkInterfaceId, subnetId: found.SubnetId ?? '', vpcId: found.VpcId ?? '' };
    }
    const found = instance.NetworkInterfaces?.find((n) => n.Attachment?.DeviceIndex === selector.index);
    if (!found?.NetworkInterfaceId) {
      throw new ProviderError(
        'notFound',
        `node ${node.name}: instance ${instance.InstanceId} has no ENI at device index ${selector.index}`,
      );
    }
    const picked = {
      eniId: found.NetworkInterfaceId,
      subnetId: found.SubnetId ?? '',
      vpcId: found.VpcId ?? '',
    };
    if (selector.explicit) return picked;
    if (!(await vpcCniRuns(signal))) return { ...picked, withoutVpcCni: true };
    // The default, with the VPC CNI running: the ENI's tags say whether ipamd manages it.
    const res = await api.describeNetworkInterfaces({ NetworkInterfaceIds: [picked.eniId] }, signal);
    const eni = res.NetworkInterfaces?.[0];
    const refused = managedEniRefusal({
      node: node.name,
      instanceId: instance.InstanceId ?? '',
      eniId: picked.eniId,
      tags: eni ? eniView(eni).tags : new Map(),
      vpcCni: true,
    });
    return refused ? { ...picked, refused } : picked;
  }

  /** Whether the VPC CNI runs, as the cluster says (no probe: not running); a failed answer is transient. */
  async function vpcCniRuns(signal?: AbortSignal): Promise<boolean> {
    if (!cluster) return false;
    try {
      return await cluster.vpcCni(signal);
    } catch (err) {
      throw new ProviderError(
        'transient',
        `whether the Amazon VPC CNI runs could not be read from the API server: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  async function resolve(node: NodeRef, signal?: AbortSignal): Promise<ResolvedNode> {
    const cached = nodeCache.get(node.providerID);
    // The probe keeps its answer for a while, so asking again costs no API call on most resolutions.
    if (cached && !(cached.withoutVpcCni && (await vpcCniRuns(signal)))) return cached;
    return refresh(node, signal);
  }

  async function refresh(node: NodeRef, signal?: AbortSignal): Promise<ResolvedNode> {
    nodeCache.delete(node.providerID);
    const { region, api, instanceId } = apiFor(node);
    const res = await api.describeInstances({ InstanceIds: [instanceId] }, signal);
    const instance = res.Reservations?.flatMap((r) => r.Instances ?? []).find(
      (i) => i.InstanceId === instanceId,
    );
    const state = instance?.State?.Name;
    if (!instance || state === 'terminated' || state === 'shutting-down') {
      throw new ProviderError(
        'notFound',
        `node ${node.name}: instance ${instanceId} not found (${state ?? 'absent'})`,
      );
    }
    const resolved: ResolvedNode = {
      node,
      region,
      api,
      instanceId,
      instanceType: instance.InstanceType ?? '',
      ...(await pickEni(api, node, instance, signal)),
    };
    if (!resolved.refused) nodeCache.set(node.providerID, resolved);
    return resolved;
  }

  async function readEni(r: ResolvedNode, signal?: AbortSignal): Promise<EniView> {
    const res = await r.api.describeNetworkInterfaces({ NetworkInterfaceIds: [r.eniId] }, signal);
    const eni = res.NetworkInterfaces?.[0];
    if (!eni) throw new ProviderError('notFound', `node ${r.node.name}: ENI ${r.eniId} not found`);
    return eniView(eni);
  }

  async function readSubnet(r: ResolvedNode, subnetId: string, signal?: AbortSignal): Promise<SubnetView> {
    const res = await r.api.describeSubnets({ SubnetIds: [subnetId] }, signal);
    const s = res.Subnets?.[0];
    if (!s) throw new ProviderError('notFound', `subnet ${subnetId} not found`);
    return subnetView(subnetId, s);
  }

  async function readEniAndSubnet(r: ResolvedNode, signal?: AbortSignal) {
    const [eni, subnet] = await Promise.all([
      readEni(r, signal),
      r.subnetId ? readSubnet(r, r.subnetId, signal) : undefined,
    ]);
    return {
      eni,
      subnet: subnet?.id === eni.subnetId ? subnet : await readSubnet(r, eni.subnetId, signal),
    };
  }

  function limitsOf(r: ResolvedNode, signal?: AbortSignal): Promise<EniLimits> {
    let cached = limitCache.get(r.instanceType);
    if (!cached) {
      cached = r.api
        .describeInstanceTypes({ InstanceTypes: [r.instanceType as never] }, signal)
        .then((res) => {
          const info = res.InstanceTypes?.[0]?.NetworkInfo;
          if (!info?.Ipv4AddressesPerInterface) {
            throw new ProviderError(
              'terminal',
              `instance type ${r.instanceType}: no IPv4 addresses per interface`,
            );
          }
          return { ipv4: info.Ipv4AddressesPerInterface, ipv6: info.Ipv6AddressesPerInterface ?? 0 };
        });
      cached.catch(() => limitCache.delete(r.instanceType));
      limitCache.set(r.instanceType, cached);
    }
    return cached;
  }

  /** The ENIs (other than `eni`, unless `includeSelf`) holding any of `ips`, by IP. */
  async function holdersOf(
    r: ResolvedNode,
    eni: EniView,
    ips: readonly string[],
    signal?: AbortSignal,
    options: { readonly includeSelf?: boolean } = {},
  ): Promise<Map<string, EniView>> {
    const out = new Map<string, EniView>();
    const skip = (view: EniView) => view.id === eni.id && !options.includeSelf;
    const v4 = ips.filter((ip) => familyOf(ip) === 4);
    const v6 = ips.filter((ip) => familyOf(ip) === 6);
    for (const part of chunks(v4, MAX_FILTER_VALUES)) {
      const res = await r.api.describeNetworkInterfaces(
        {
          Filters: [
            // Private IPs are unique within a VPC only: another VPC may reuse the CIDR.
            { Name: 'vpc-id', Values: [eni.vpcId] },
            { Name: 'addresses.private-ip-address', Values: part },
          ],
        },
        signal,
      );
      for (const raw of res.NetworkInterfaces ?? []) {
        const view = eniView(raw);
        if (skip(view)) continue;
        for (const ip of part) if (view.ipv4.includes(ip)) out.set(ip, view);
      }
    }
    if (v6.length > 0) {
      const res = await r.api.describeNetworkInterfaces(
        { Filters: [{ Name: 'vpc-id', Values: [eni.vpcId] }] },
        signal,
      );
      for (const raw of res.NetworkInterfaces ?? []) {
        const view = eniView(raw);
        if (skip(view)) continue;
        for (const ip of v6) if (view.ipv6.includes(ip)) out.set(ip, view);
      }
    }
    return out;
  }

  return { resolve, refresh, readEni, readSubnet, readEniAndSubnet, limitsOf, holdersOf };
}
