/**
 * @module
 * Reads what the AWS provider needs from EC2: a node's instance and egress ENI (by device index or by tag), the
 * ENI's state, its subnet (CIDRs and ownership tags), its instance type's per-ENI limits (cached), and which other ENIs
 * hold given IPs (the `addresses.private-ip-address` filter); for many nodes at once, their ENIs, subnets and
 * Elastic IPs in one filtered call each (per 200 ids). A node's resolution is retried here; the other reads are
 * retried by the provider's step that makes them, which re-reads everything it needs.
 *
 * A node's resolution (instance, ENI id, the ENI's subnet and VPC) does not change while the instance runs, so
 * it is cached: a move reads no DescribeInstances. Whoever meets a `notFound` on a cached resolution (the ENI
 * or the instance is gone) calls {@link Ec2Reader.refresh}, which drops it and resolves the node again.
 */
import type { Address, Instance, Subnet } from '@aws-sdk/client-ec2';
import { familyOf } from '../../src/net/ip.ts';
import { type NodeRef, ProviderError, type ProviderSettings } from '../../src/provider/contract.ts';
import { type RetryOptions, withRetry } from '../../src/provider/retry.ts';
import type { EniLimits } from './decide.ts';
import type { Ec2Api } from './ec2-api.ts';
import { type EniView, eniView } from './eni.ts';
import { parseAwsProviderID, regionOfZone } from './provider-id.ts';

/** A node resolved to its instance and egress ENI. */
export interface ResolvedNode {
  readonly node: NodeRef;
  readonly api: Ec2Api;
  readonly instanceId: string;
  readonly instanceType: string;
  readonly eniId: string;
  /** The ENI's subnet and VPC (fixed for an ENI's life). */
  readonly subnetId: string;
  readonly vpcId: string;
}

const MAX_FILTER_VALUES = 200;

function chunks<T>(items: readonly T[], size: number): T[][] {
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

function subnetView(id: string, s: Subnet): SubnetView {
  return {
    id,
    cidrs: [
      ...(s.CidrBlock ? [s.CidrBlock] : []),
      ...(s.Ipv6CidrBlockAssociationSet ?? []).map((a) => a.Ipv6CidrBlock).filter((c): c is string => !!c),
    ],
    tags: new Map((s.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
  };
}

/**
 * Runs `describe` on the distinct `values` in chunks of at most {@link MAX_FILTER_VALUES} (one call when they
 * fit), in parallel, and joins the answers; no call at all for no values.
 */
async function describeChunked<T>(
  values: Iterable<string>,
  describe: (part: string[]) => Promise<readonly T[] | undefined>,
): Promise<T[]> {
  const parts = await Promise.all(chunks([...new Set(values)], MAX_FILTER_VALUES).map(describe));
  return parts.flatMap((part) => part ?? []);
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
   * The ENIs of `eniIds` that exist, by id: one DescribeNetworkInterfaces with a `network-interface-id` filter
   * (per 200 ids), so a missing ENI is left out of the answer instead of failing the call.
   */
  readEnis(api: Ec2Api, eniIds: Iterable<string>, signal?: AbortSignal): Promise<Map<string, EniView>>;
  /** The subnets of `subnetIds` that exist, by id: one DescribeSubnets with a `subnet-id` filter (per 200 ids). */
  readSubnets(
    api: Ec2Api,
    subnetIds: Iterable<string>,
    signal?: AbortSignal,
  ): Promise<Map<string, SubnetView>>;
  /**
   * The Elastic IPs associated with any of `eniIds`: one DescribeAddresses with a `network-interface-id` filter
   * (per 200 ids).
   */
  readAddresses(api: Ec2Api, eniIds: Iterable<string>, signal?: AbortSignal): Promise<Address[]>;
  /** The per-ENI address limits of the node's instance type (cached). */
  limitsOf(r: ResolvedNode, signal?: AbortSignal): Promise<EniLimits>;
  /** The ENIs other than `eni` that hold any of `ips`, by IP. */
  holdersOf(
    r: ResolvedNode,
    eni: EniView,
    ips: readonly string[],
    signal?: AbortSignal,
  ): Promise<Map<string, EniView>>;
}

/** Creates the reader for one provider instance. */
export function createEc2Reader(
  settings: ProviderSettings,
  ec2For: (region: string) => Ec2Api,
  retry: RetryOptions,
): Ec2Reader {
  const limitCache = new Map<string, Promise<EniLimits>>();
  /** Resolved nodes by providerID; only successes are kept. */
  const nodeCache = new Map<string, ResolvedNode>();

  const apiFor = (node: NodeRef) => {
    const { zone, instanceId } = parseAwsProviderID(node.name, node.providerID);
    return { api: ec2For(settings.region ?? regionOfZone(zone)), instanceId };
  };

  async function pickEni(
    api: Ec2Api,
    node: NodeRef,
    instance: Instance,
    signal?: AbortSignal,
  ): Promise<{ eniId: string; subnetId: string; vpcId: string }> {
    if (settings.interfaceTag) {
      const eq = settings.interfaceTag.indexOf('=');
      const [key, value] =
        eq < 0
          ? [settings.interfaceTag, undefined]
          : [settings.interfaceTag.slice(0, eq), settings.interfaceTag.slice(eq + 1)];
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
    const index = Number(settings.interface || '0');
    if (!Number.isInteger(index) || index < 0) {
      throw new ProviderError(
        'terminal',
        `interface "${settings.interface}" is not an ENI device index (0, 1, ...); to pick an ENI by tag, set the interface tag instead`,
      );
    }
    const found = instance.NetworkInterfaces?.find((n) => n.Attachment?.DeviceIndex === index);
    if (!found?.NetworkInterfaceId) {
      throw new ProviderError(
        'notFound',
        `node ${node.name}: instance ${instance.InstanceId} has no ENI at device index ${index}`,
      );
    }
    return { eniId: found.NetworkInterfaceId, subnetId: found.SubnetId ?? '', vpcId: found.VpcId ?? '' };
  }

  async function resolve(node: NodeRef, signal?: AbortSignal): Promise<ResolvedNode> {
    return nodeCache.get(node.providerID) ?? refresh(node, signal);
  }

  async function refresh(node: NodeRef, signal?: AbortSignal): Promise<ResolvedNode> {
    nodeCache.delete(node.providerID);
    const { api, instanceId } = apiFor(node);
    const resolved = await withRetry(
      async () => {
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
        return {
          node,
          api,
          instanceId,
          instanceType: instance.InstanceType ?? '',
          ...(await pickEni(api, node, instance, signal)),
        };
      },
      retry,
      signal,
    );
    nodeCache.set(node.providerID, resolved);
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

  async function readEnis(api: Ec2Api, eniIds: Iterable<string>, signal?: AbortSignal) {
    const found = await describeChunked(
      eniIds,
      async (part) =>
        (
          await api.describeNetworkInterfaces(
            { Filters: [{ Name: 'network-interface-id', Values: part }] },
            signal,
          )
        ).NetworkInterfaces,
    );
    return new Map(found.map((raw) => eniView(raw)).map((eni) => [eni.id, eni]));
  }

  async function readSubnets(api: Ec2Api, subnetIds: Iterable<string>, signal?: AbortSignal) {
    const found = await describeChunked(
      subnetIds,
      async (part) =>
        (await api.describeSubnets({ Filters: [{ Name: 'subnet-id', Values: part }] }, signal)).Subnets,
    );
    return new Map(
      found.flatMap((s) => (s.SubnetId ? [[s.SubnetId, subnetView(s.SubnetId, s)] as const] : [])),
    );
  }

  function readAddresses(api: Ec2Api, eniIds: Iterable<string>, signal?: AbortSignal) {
    return describeChunked(
      eniIds,
      async (part) =>
        (await api.describeAddresses({ Filters: [{ Name: 'network-interface-id', Values: part }] }, signal))
          .Addresses,
    );
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

  /** The ENIs (other than `except`) holding any of `ips`, by IP. */
  async function holdersOf(
    r: ResolvedNode,
    eni: EniView,
    ips: readonly string[],
    signal?: AbortSignal,
  ): Promise<Map<string, EniView>> {
    const out = new Map<string, EniView>();
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
        if (view.id === eni.id) continue;
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
        if (view.id === eni.id) continue;
        for (const ip of v6) if (view.ipv6.includes(ip)) out.set(ip, view);
      }
    }
    return out;
  }

  return { resolve, refresh, readEni, readSubnet, readEnis, readSubnets, readAddresses, limitsOf, holdersOf };
}
