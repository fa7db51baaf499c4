/**
 * @module
 * Where an egress IP (of either family) is, as the cloud and the VPC see it, for both boxes (cloud-box.ts, test/cluster/):
 * which ENIs hold it in LocalStack, which IPs two ENIs hold at once (never allowed), and which node the VPC
 * router delivers it to right now.
 */
import { DescribeNetworkInterfacesCommand, type NetworkInterface } from '@aws-sdk/client-ec2';
import type { NetworkBox } from './network-box.ts';

async function vpcEnis(net: NetworkBox): Promise<NetworkInterface[]> {
  const out = await net.world.ec2.send(
    new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'vpc-id', Values: [net.world.vpcId] }] }),
  );
  return out.NetworkInterfaces ?? [];
}

/** Every address an ENI holds: its private IPv4 addresses and its IPv6 addresses. */
function addressesOf(eni: NetworkInterface): string[] {
  return [
    ...(eni.PrivateIpAddresses ?? []).map((a) => a.PrivateIpAddress!),
    ...(eni.Ipv6Addresses ?? []).map((a) => a.Ipv6Address!),
  ];
}

/**
 * The nodes whose ENI (primary or dedicated egress ENI) holds `ip` in LocalStack (ENI ids for ENIs of no node);
 * more than one is a bug.
 */
export async function holdersInCloud(net: NetworkBox, ip: string): Promise<string[]> {
  const byEni = new Map(
    [...net.world.enis, ...net.world.egressEnis].map(([node, eni]) => [eni, node] as const),
  );
  return (await vpcEnis(net))
    .filter((n) => addressesOf(n).includes(ip))
    .map((n) => byEni.get(n.NetworkInterfaceId!) ?? n.NetworkInterfaceId!);
}

/** The ENIs that hold `ip` in LocalStack. */
export async function enisHolding(net: NetworkBox, ip: string): Promise<string[]> {
  return (await vpcEnis(net)).filter((n) => addressesOf(n).includes(ip)).map((n) => n.NetworkInterfaceId!);
}

/** Every IP held by two or more ENIs (must stay empty). */
export async function doubleHeldIps(net: NetworkBox): Promise<string[]> {
  const count = new Map<string, number>();
  for (const eni of await vpcEnis(net)) {
    for (const ip of addressesOf(eni)) count.set(ip, (count.get(ip) ?? 0) + 1);
  }
  return [...count].filter(([, n]) => n > 1).map(([ip]) => ip);
}

/** The node the VPC router delivers `ip` to right now (by any of its ENIs). */
export function deliveredTo(net: NetworkBox, ip: string): string | undefined {
  const link = net.vpc.delivery.get(ip);
  return net.topology.nodes.find((n) => n.vpcLink === link || n.egressLink === link)?.name;
}
