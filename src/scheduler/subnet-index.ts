/**
 * @module
 * Which nodes can hold which IP: nodes grouped by the subnets of their egress interface, with the
 * subnets pre-parsed to bigint ranges so a lookup costs no string parsing.
 */
import { cidrRange, familyOfValidIp, type IpRange, ipToBigInt } from '../net/ip.ts';

/** A subnet and the nodes whose interface is in it. */
export interface SubnetGroup {
  readonly cidr: string;
  readonly range: IpRange;
  readonly nodes: readonly string[];
}

const NO_NODES: readonly string[] = Object.freeze([]);

/** Subnet groups of one gateway's nodes. */
export class SubnetIndex {
  readonly groups: readonly SubnetGroup[];

  constructor(nodes: readonly { name: string; subnets: readonly string[] }[]) {
    const byCidr = new Map<string, string[]>();
    for (const node of nodes) {
      for (const cidr of node.subnets) byCidr.set(cidr, [...(byCidr.get(cidr) ?? []), node.name]);
    }
    this.groups = [...byCidr.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([cidr, names]) => ({ cidr, range: cidrRange(cidr), nodes: names.sort() }));
  }

  /** Groups whose subnet contains `ip` (usually one). */
  groupsOf(ip: string, value: bigint = ipToBigInt(ip)): SubnetGroup[] {
    const family = familyOfValidIp(ip);
    return this.groups.filter(
      (g) => g.range.family === family && value >= g.range.start && value <= g.range.end,
    );
  }

  /** Nodes whose interface can hold `ip`, sorted, without duplicates. */
  nodesFor(ip: string, value: bigint = ipToBigInt(ip)): readonly string[] {
    const family = familyOfValidIp(ip);
    let only: SubnetGroup | undefined;
    let count = 0;
    for (const g of this.groups) {
      if (g.range.family === family && value >= g.range.start && value <= g.range.end) {
        only = g;
        count++;
      }
    }
    if (count === 0) return NO_NODES;
    if (count === 1) return only!.nodes;
    return [...new Set(this.groupsOf(ip, value).flatMap((g) => g.nodes))].sort();
  }
}
