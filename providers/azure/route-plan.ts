/**
 * @module
 * The pure half of a route-table update for scale-set gateway nodes (docs/adr/0005): given the table's routes
 * as just read, the node (its next-hop address, its subnet) and the wanted edits, compute the routes to PUT back
 * and a verdict per edit. No I/O.
 *
 * An egress IP of a scale-set node is a route `<ip>/32` (or `/128`) with next hop type `VirtualAppliance` and
 * next hop the node's primary address, named `cloudegress-<owner>-<ip>` as the NIC ipConfigurations are
 * (ip-configs.ts `ownedName`). Only routes with exactly that name for their own prefix are ours.
 *
 * | edit   | the table now                              | verdict                                          |
 * |--------|--------------------------------------------|--------------------------------------------------|
 * | remove | our route to this node                     | dropped                                          |
 * | remove | our route to another node, or no route     | ok, nothing to write (not on this node)          |
 * | remove | the node's own address, or another route   | terminal: not owned by cloud-egress              |
 * |        | for the IP to this node                    |                                                  |
 * | add    | our route to this node                     | ok, nothing to write                             |
 * | add    | our route to another node                  | next hop set to this node: a move in one write   |
 * | add    | another route for the same prefix          | terminal: in use and not owned                   |
 * | add    | outside the VNet's address space           | terminal, naming the IP and the address space    |
 * | add    | inside the nodes' own subnet               | terminal: Azure gives its addresses to NICs      |
 * | add    | with a public address                      | terminal: a routed IP has no public IP           |
 * | add    | new, past 400 routes                       | capacity, for every new route of the batch       |
 * | allocate |                                          | terminal: Azure picks no routed address          |
 */
import type { Route } from '@azure/arm-network';
import { cidrContains, familyOf } from '../../src/net/ip.ts';
import { ProviderError } from '../../src/provider/contract.ts';
import type { Edit } from '../../src/provider/interface-driver.ts';
import { ownedName } from './ip-configs.ts';

/** Most routes a route table holds (Azure networking limits). */
export const ROUTES_PER_TABLE = 400;

/** The prefix of the route that carries `ip`. */
export const hostPrefix = (ip: string) => `${ip}/${familyOf(ip) === 4 ? 32 : 128}`;

/** True when the route is this installation's route for the IP it names. */
export function isOwnedRoute(route: Route, owner: string): boolean {
  const ip = routedIP(route);
  return ip !== undefined && route.name === ownedName(owner, ip);
}

/** The single address a host route carries, or undefined for a wider route. */
export function routedIP(route: Route): string | undefined {
  const [ip, bits] = (route.addressPrefix ?? '').split('/');
  if (!ip || bits === undefined) return undefined;
  return Number(bits) === (familyOf(ip) === 4 ? 32 : 128) ? ip : undefined;
}

/** Inputs of {@link planRouteEdits}. */
export interface RoutePlanInput {
  readonly owner: string;
  /** Words naming the node in messages. */
  readonly where: string;
  /** The table's routes, as read. */
  readonly routes: readonly Route[];
  /** The node's primary address: the next hop of its egress IPs. */
  readonly nextHop: string;
  /** Prefixes of the nodes' own subnet (Azure hands them to NICs). */
  readonly nodeSubnet: readonly string[];
  /** The VNet's address space (needed when adding). */
  readonly addressSpace: readonly string[];
  readonly edits: readonly Edit[];
}

/** What a plan decided. */
export interface RoutePlan {
  readonly routes: Route[];
  readonly changed: boolean;
  readonly failed: ReadonlyMap<Edit, ProviderError>;
}

/** Plans one route-table update (see the module table). */
export function planRouteEdits(input: RoutePlanInput): RoutePlan {
  const { owner, where, nextHop } = input;
  let routes = input.routes.map((r) => ({ ...r }));
  const failed = new Map<Edit, ProviderError>();
  let changed = false;
  const forPrefix = (ip: string) => routes.find((r) => r.addressPrefix === hostPrefix(ip));
  const notOwned = (ip: string, verb: string) =>
    new ProviderError('terminal', `${ip} on ${where} is not owned by cloud-egress; not ${verb}`, {
      code: 'NotOwned',
    });

  for (const edit of input.edits) {
    if (edit.kind !== 'remove') continue;
    const held = forPrefix(edit.ip);
    if (edit.ip === nextHop) failed.set(edit, notOwned(edit.ip, 'released'));
    else if (!held || held.nextHopIpAddress !== nextHop) continue;
    else if (!isOwnedRoute(held, owner)) failed.set(edit, notOwned(edit.ip, 'released'));
    else {
      routes = routes.filter((r) => r !== held);
      changed = true;
    }
  }

  const added: { edit: Edit; route: Route }[] = [];
  for (const edit of input.edits) {
    if (edit.kind === 'remove') continue;
    if (edit.kind === 'allocate') {
      failed.set(
        edit,
        new ProviderError(
          'terminal',
          `${where}: a scale-set node's egress IPs are routed, so Azure cannot pick them; list them in spec.ips`,
          { code: 'AllocationUnsupported' },
        ),
      );
      continue;
    }
    if (edit.publicAddress) {
      failed.set(
        edit,
        new ProviderError(
          'terminal',
          `${edit.ip}: a scale-set node's egress IP is routed, not on its NIC, so no public IP can be paired with it`,
          { code: 'PublicAddressUnsupported' },
        ),
      );
      continue;
    }
    const held = forPrefix(edit.ip);
    if (held && !isOwnedRoute(held, owner)) {
      failed.set(
        edit,
        new ProviderError(
          'terminal',
          `${edit.ip} is routed by route ${held.name} on ${where}, not owned by cloud-egress`,
          {
            code: 'NotOwned',
          },
        ),
      );
      continue;
    }
    if (held) {
      if (held.nextHopIpAddress !== nextHop) {
        routes = routes.map((r) =>
          r === held ? { ...r, nextHopType: 'VirtualAppliance', nextHopIpAddress: nextHop } : r,
        );
        changed = true;
      }
      continue;
    }
    if (!input.addressSpace.some((p) => cidrContains(p, edit.ip))) {
      failed.set(
        edit,
        new ProviderError(
          'terminal',
          `${edit.ip} is outside the address space ${input.addressSpace.join(', ') || '(none)'} of the virtual network of ${where}`,
          { code: 'PrivateIPAddressNotInSubnet' },
        ),
      );
      continue;
    }
    const inSubnet = input.nodeSubnet.find((p) => cidrContains(p, edit.ip));
    if (inSubnet) {
      failed.set(
        edit,
        new ProviderError(
          'terminal',
          `${edit.ip} is inside the nodes' subnet ${inSubnet}, whose addresses Azure gives to NICs; take routed egress IPs from the virtual network's address space outside it`,
          { code: 'IPInNodeSubnet' },
        ),
      );
      continue;
    }
    added.push({
      edit,
      route: {
        name: ownedName(owner, edit.ip),
        addressPrefix: hostPrefix(edit.ip),
        nextHopType: 'VirtualAppliance',
        nextHopIpAddress: nextHop,
      },
    });
  }

  if (added.length > 0) {
    if (routes.length + added.length > ROUTES_PER_TABLE) {
      const error = new ProviderError(
        'capacity',
        `the route table of ${where} can hold ${ROUTES_PER_TABLE} routes; it has ${routes.length} and ${added.length} more were asked`,
        { code: 'QuotaExceeded' },
      );
      for (const { edit } of added) failed.set(edit, error);
    } else {
      routes.push(...added.map((a) => a.route));
      changed = true;
    }
  }
  return { routes, changed, failed };
}
