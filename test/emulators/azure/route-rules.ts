/**
 * @module
 * What ARM checks when a route table is PUT (Microsoft.Network 2026-01-01 `routeTable.json`: `RouteTable`,
 * `Route`, `RoutePropertiesFormat`), as one function; the order around it (running operation, `If-Match`) is the
 * NIC PUT's (cloud.ts). The first broken rule is thrown as the {@link ArmError} Azure answers with.
 *
 * | rule                                                                 | error                                    |
 * |----------------------------------------------------------------------|------------------------------------------|
 * | route names unique in the table                                      | 400 InvalidRequestFormat (DuplicateResourceName) |
 * | `nextHopType` given, one of VirtualNetworkGateway, VnetLocal,        | 400 InvalidRequestFormat                 |
 * | Internet, VirtualAppliance, None (`required: ["nextHopType"]`)       |                                          |
 * | `nextHopIpAddress` only with VirtualAppliance ("Next hop values are  | 400 InvalidRequestFormat                 |
 * | only allowed in routes where the next hop type is VirtualAppliance"),|                                          |
 * | and a VirtualAppliance route names one                               |                                          |
 * | `addressPrefix` a CIDR                                               | 400 InvalidRequestFormat                 |
 * | at most 400 routes per table (Azure networking limits; Calico's UDR  | 400 QuotaExceeded (no documented code)   |
 * | mode documents the same)                                             |                                          |
 */
import { isIp } from '../../../src/net/ip.ts';
import { ArmError, badRequest, duplicateChildName, tooManyIpConfigurations } from './arm-errors.ts';
import { clone, type Json } from './wire.ts';

/** Most routes a route table holds. */
export const MAX_ROUTES_PER_TABLE = 400;

/** The next-hop types of `RouteNextHopType`. */
const NEXT_HOP_TYPES = new Set([
  'VirtualNetworkGateway',
  'VnetLocal',
  'Internet',
  'VirtualAppliance',
  'None',
]);

/** A route in ARM's wire shape. */
export interface WireRoute {
  name: string;
  id?: string;
  etag?: string;
  type?: string;
  properties: {
    addressPrefix?: string;
    nextHopType?: string;
    nextHopIpAddress?: string;
    provisioningState?: string;
    [key: string]: unknown;
  };
}

/** A route table as stored. */
export interface WireRouteTable {
  id: string;
  name: string;
  type: string;
  location: string;
  etag: string;
  tags?: Record<string, string>;
  properties: { routes: WireRoute[]; provisioningState: string; [key: string]: unknown };
}

function isCidr(text: string | undefined): boolean {
  const [ip, bits, ...rest] = (text ?? '').split('/');
  if (rest.length > 0 || !ip || !isIp(ip) || bits === undefined || !/^\d+$/.test(bits)) return false;
  return Number(bits) <= (ip.includes(':') ? 128 : 32);
}

/**
 * Checks the PUT `body` of route table `current` and returns the table to store (etag and read-only fields still
 * to be filled in by the caller). @throws ArmError for the first broken rule.
 */
export function checkRouteTablePut(current: WireRouteTable, body: unknown): WireRouteTable {
  const props = (body as { properties?: { routes?: unknown } } | null)?.properties;
  const routes = (props?.routes ?? []) as WireRoute[];
  if (!Array.isArray(routes)) throw badRequest('properties.routes must be an array.');
  const names = new Set<string>();
  for (const route of routes) {
    if (!route?.name || typeof route.properties !== 'object') {
      throw badRequest('Every route needs a name and properties.');
    }
    const lower = route.name.toLowerCase();
    if (names.has(lower)) throw duplicateChildName(current.id, route.name);
    names.add(lower);
    const routeId = `${current.id}/routes/${route.name}`;
    const { nextHopType, nextHopIpAddress, addressPrefix } = route.properties;
    if (!nextHopType || !NEXT_HOP_TYPES.has(nextHopType)) {
      throw badRequest(`Route ${routeId} has no valid nextHopType.`);
    }
    if (nextHopType === 'VirtualAppliance' ? !isIp(nextHopIpAddress ?? '') : nextHopIpAddress !== undefined) {
      throw badRequest(
        `Route ${routeId}: a next hop IP address is required for, and only allowed with, next hop type VirtualAppliance.`,
      );
    }
    if (!isCidr(addressPrefix))
      throw badRequest(`Route ${routeId} has an invalid addressPrefix ${addressPrefix}.`);
  }
  if (routes.length > MAX_ROUTES_PER_TABLE) {
    const error = tooManyIpConfigurations(current.id, routes.length, MAX_ROUTES_PER_TABLE);
    throw new ArmError(
      error.status,
      error.code,
      `Route table ${current.id} has ${routes.length} routes; the limit is ${MAX_ROUTES_PER_TABLE}.`,
    );
  }
  const b = body as { tags?: Record<string, string>; properties: Json };
  const next: WireRouteTable = {
    ...clone(current),
    properties: {
      ...clone(b.properties),
      provisioningState: current.properties.provisioningState,
      routes: clone(routes),
    },
  };
  if (b.tags) next.tags = clone(b.tags);
  return next;
}
