/**
 * @module
 * The `none` provider, for on-prem clusters and clouds without an IP control plane: there is nothing to
 * call. The node agent adds the egress IP to the gateway node's interface and announces it with a
 * gratuitous ARP (IPv4) or an unsolicited neighbour advertisement (IPv6), which L2 networks honour.
 *
 * So the provider only keeps the placement it was given: `apply` always succeeds for IPs inside the
 * configured subnets, and `listAssignments` returns what was applied in this process. After a controller
 * restart the controller seeds the placement from the policies' status (the only record there is).
 */
import { cidrContains } from '../../src/net/ip.ts';
import {
  type ChangeOutcome,
  type CloudAssignment,
  type CloudProvider,
  type NodeRef,
  ProviderError,
  type ProviderSettings,
} from '../../src/provider/contract.ts';
import type { ProviderFactory } from '../../src/provider/descriptor.ts';
import { noneProvider } from './descriptor.ts';

/** Subnets egress IPs may come from when none are configured: any address (the network decides). */
export const ANY_SUBNET = ['0.0.0.0/0', '::/0'] as const;
/** Egress IPs one node may hold with this provider. */
export const NONE_CAPACITY = 1024;

/** Options of the `none` provider. */
export interface NoneProviderOptions {
  /** CIDRs of the nodes' L2 segment(s); egress IPs must lie inside one. Default any. */
  readonly subnets?: readonly string[];
}

/** Creates the provider. `settings.interface` names the zone label value to report, if any. */
export function createNoneProvider(
  _settings: ProviderSettings,
  options: NoneProviderOptions = {},
): CloudProvider {
  const subnets = options.subnets ?? ANY_SUBNET;
  const held = new Map<string, NodeRef>();
  const ownedBy = (node: string) =>
    [...held.entries()]
      .filter(([, n]) => n.name === node)
      .map(([ip]) => ip)
      .sort();

  return {
    name: noneProvider.name,
    capabilities: noneProvider.capabilities,
    async describeNode(node) {
      const owned = ownedBy(node.name);
      return {
        node: node.name,
        interfaceId: node.name,
        zone: '',
        subnets: [...subnets],
        reservedIPs: [],
        ownedIPs: owned,
        freeSlots: NONE_CAPACITY - owned.length,
      };
    },
    async listAssignments(nodes) {
      const names = new Set(nodes.map((n) => n.name));
      const out: CloudAssignment[] = [];
      for (const [ip, node] of [...held.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
        if (names.has(node.name)) out.push({ ip, node: node.name, interfaceId: node.name });
      }
      return out;
    },
    async apply(plan) {
      const outcomes: ChangeOutcome[] = plan.changes.map((change) => {
        if (change.kind === 'allocate') {
          return {
            change,
            ok: false,
            error: new ProviderError(
              'terminal',
              'the none provider cannot pick IPs: list them in spec.ips instead of cloudAllocated',
            ),
          };
        }
        if (change.kind === 'release') {
          if (held.get(change.ip)?.name === change.node.name) held.delete(change.ip);
          return { change, ok: true };
        }
        if (!subnets.some((s) => cidrContains(s, change.ip))) {
          return {
            change,
            ok: false,
            error: new ProviderError(
              'terminal',
              `${change.ip} is outside the configured subnets (${subnets.join(', ')})`,
            ),
          };
        }
        held.set(change.ip, change.node);
        return { change, ok: true };
      });
      return { outcomes };
    },
  };
}

/** Registry factory: the `none` provider with its defaults (any subnet). */
export const noneProviderFactory: ProviderFactory = (settings) => createNoneProvider(settings);
