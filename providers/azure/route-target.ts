/**
 * @module
 * Gateway nodes of uniform scale sets (AKS's default node pools): their egress IPs are /32 routes with next hop
 * the node, in the route table of the nodes' subnet and in any further tables the gateway names
 * (`cloudegress.io/route-tables`), as docs/adr/0005 decides. The Azure driver (provider.ts) runs these for
 * targets of kind `route`.
 *
 * ```
 *  resolve   VM GET (scale-set instance) ─► its NIC (Network RP's scale-set NIC GET): primary address = next hop,
 *            subnet, IP forwarding ─► subnet GET: its route table (none ─► terminal, saying what to associate)
 *  write     per route table, in order, under that table's lock (tables are shared by every node of the subnet):
 *            GET NIC again (IP forwarding off ─► adds fail terminal) ─► VNet GET (address space)
 *            ─► GET table ─► plan (route-plan.ts) ─► PUT with If-Match ─► wait for the operation
 *  describe  NIC + VNet + table: our routes to the node are its IPs; 400 routes a table
 *  list      our routes to the node in the first table
 * ```
 *
 * A move between two such nodes is one write per table (the route's next hop changes), so the IP is never on no
 * node; the driver says so in `atomicMove`.
 */
import type { NetworkInterface, RouteTable } from '@azure/arm-network';
import type { CloudAssignment, NodeNetwork, NodeRef } from '../../src/provider/contract.ts';
import { ProviderError } from '../../src/provider/contract.ts';
import type { BatchResult, Edit } from '../../src/provider/interface-driver.ts';
import type { KeyedLock } from '../../src/provider/keyed-lock.ts';
import type { AzureApi } from './api.ts';
import { primaryOf } from './ip-configs.ts';
import { step } from './nic-update.ts';
import {
  parseRouteTableId,
  parseSubnetId,
  type RouteTableRef,
  type ScaleSetNicRef,
  type SubnetRef,
} from './resource-id.ts';
import { isOwnedRoute, planRouteEdits, ROUTES_PER_TABLE, routedIP } from './route-plan.ts';

/** A scale-set node resolved: its NIC, next hop, subnet and the route tables that carry its egress IPs. */
export interface RouteTarget {
  readonly kind: 'route';
  readonly node: NodeRef;
  readonly nic: ScaleSetNicRef;
  readonly zone: string;
  /** The node's primary address. */
  readonly nextHop: string;
  readonly subnet: SubnetRef;
  /** The subnet's route table first, then the further ones of the settings. */
  readonly tables: readonly RouteTableRef[];
}

/** Words naming a scale-set node in messages. */
const describeRoute = (t: RouteTarget) => `scale-set node ${t.node.name}`;

/** What the route functions need. */
export interface RouteContext {
  readonly owner: string;
  readonly apiFor: (subscriptionId: string) => AzureApi;
  /** Route tables besides the subnet's (settings `routeTables`, comma-separated IDs). */
  readonly extraTables: readonly RouteTableRef[];
  /** One lock per route table, shared by every node of the provider. */
  readonly locks: KeyedLock;
}

/** The route tables of `settings.routeTables`. @throws ProviderError `terminal` for an ID that is not one. */
export function parseRouteTables(text: string | undefined): RouteTableRef[] {
  return (text ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '')
    .map((t) => {
      const ref = parseRouteTableId(t);
      if (!ref) {
        throw new ProviderError(
          'terminal',
          `route table "${t}" is not /subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Network/routeTables/<name>`,
          { code: 'InvalidRouteTableId' },
        );
      }
      return ref;
    });
}

async function readNic(
  ctx: RouteContext,
  target: { nic: ScaleSetNicRef; node: NodeRef },
  signal?: AbortSignal,
) {
  return step(
    `${describeRoute(target as RouteTarget)}: NIC get`,
    ctx.apiFor(target.nic.subscriptionId).getScaleSetNic(target.nic, signal),
  );
}

/** Resolves a scale-set node whose VM names the scale-set NIC `nic`. */
export async function resolveRoute(
  ctx: RouteContext,
  node: NodeRef,
  nic: ScaleSetNicRef,
  zone: string,
  signal?: AbortSignal,
): Promise<RouteTarget> {
  const where = `scale-set node ${node.name}`;
  const read = await readNic(ctx, { nic, node }, signal);
  const primary = primaryOf(read.ipConfigurations ?? []);
  const subnet = parseSubnetId(primary.subnet?.id ?? '');
  if (!primary.privateIPAddress || !subnet) {
    throw new ProviderError(
      'terminal',
      `${where}: its NIC's primary ipConfiguration names no address or subnet`,
    );
  }
  const view = await step(
    `${where}: subnet get`,
    ctx.apiFor(subnet.subscriptionId).getSubnet(subnet, signal),
  );
  const own = view.routeTableId ? parseRouteTableId(view.routeTableId) : undefined;
  if (!own) {
    throw new ProviderError(
      'terminal',
      `${where}: subnet ${subnet.name} has no route table; associate one (az network vnet subnet update --route-table) so that its /32 routes can carry the egress IPs`,
      { code: 'NoRouteTable' },
    );
  }
  const tables = [own, ...ctx.extraTables.filter((t) => t.id.toLowerCase() !== own.id.toLowerCase())];
  return { kind: 'route', node, nic, zone, nextHop: primary.privateIPAddress, subnet, tables };
}

async function addressSpace(ctx: RouteContext, target: RouteTarget, signal?: AbortSignal) {
  const vnet = await step(
    `${describeRoute(target)}: virtual network get`,
    ctx
      .apiFor(target.subnet.subscriptionId)
      .getVnet({ resourceGroup: target.subnet.resourceGroup, name: target.subnet.vnet }, signal),
  );
  return vnet;
}

const readTable = (ctx: RouteContext, target: RouteTarget, table: RouteTableRef, signal?: AbortSignal) =>
  step(
    `${describeRoute(target)}: route table ${table.name} get`,
    ctx.apiFor(table.subscriptionId).getRouteTable(table, signal),
  );

/** Our routes to the node in `table`, as listed IPs. */
function ownedTo(table: RouteTable, target: RouteTarget, owner: string): string[] {
  return (table.routes ?? [])
    .filter((r) => isOwnedRoute(r, owner) && r.nextHopIpAddress === target.nextHop)
    .flatMap((r) => routedIP(r) ?? [])
    .sort();
}

/** `describeNode` of a scale-set node. */
export async function describeRouteNode(
  ctx: RouteContext,
  target: RouteTarget,
  signal?: AbortSignal,
): Promise<NodeNetwork> {
  const vnet = await addressSpace(ctx, target, signal);
  const tables = await Promise.all(target.tables.map((t) => readTable(ctx, target, t, signal)));
  const first = tables[0]!;
  const foreign = (first.routes ?? [])
    .filter((r) => !isOwnedRoute(r, ctx.owner) && r.nextHopIpAddress === target.nextHop)
    .flatMap((r) => routedIP(r) ?? []);
  return {
    node: target.node.name,
    interfaceId: target.nic.id,
    zone: target.zone,
    subnets: [...vnet.addressPrefixes],
    reservedIPs: [target.nextHop, ...foreign],
    ownedIPs: ownedTo(first, target, ctx.owner),
    freeSlots: Math.max(0, Math.min(...tables.map((t) => ROUTES_PER_TABLE - (t.routes ?? []).length))),
  };
}

/** `list` of a scale-set node: our routes to it in the first table. */
export async function listRouteNode(
  ctx: RouteContext,
  target: RouteTarget,
  signal?: AbortSignal,
): Promise<CloudAssignment[]> {
  const table = await readTable(ctx, target, target.tables[0]!, signal);
  return ownedTo(table, target, ctx.owner).map((ip) => ({
    ip,
    node: target.node.name,
    interfaceId: target.nic.id,
  }));
}

/** The write attempt of one batch on a scale-set node (see the module diagram). */
export function routeWrite(
  ctx: RouteContext,
  target: RouteTarget,
  edits: readonly Edit[],
  signal?: AbortSignal,
): () => Promise<BatchResult> {
  const where = describeRoute(target);
  return async () => {
    const failed = new Map<Edit, ProviderError>();
    let pending = [...edits];
    if (edits.some((e) => e.kind === 'add')) {
      const nic: NetworkInterface = await readNic(ctx, target, signal);
      if (nic.enableIPForwarding !== true) {
        const error = new ProviderError(
          'terminal',
          `${where}: IP forwarding is off on its NIC ${target.nic.name}, so it cannot send from a routed egress IP; turn on enableIPForwarding in the scale set's network profile`,
          { code: 'IPForwardingDisabled' },
        );
        for (const edit of edits) if (edit.kind !== 'remove') failed.set(edit, error);
        pending = pending.filter((e) => e.kind === 'remove');
      }
    }
    const vnet = pending.some((e) => e.kind === 'add') ? await addressSpace(ctx, target, signal) : undefined;
    const nodeSubnet =
      vnet?.subnets.find((s) => s.id.toLowerCase() === subnetIdOf(target).toLowerCase())?.prefixes ?? [];
    for (const table of target.tables) {
      const api = ctx.apiFor(table.subscriptionId);
      await ctx.locks.run(table.id.toLowerCase(), async () => {
        const read = await readTable(ctx, target, table, signal);
        if (read.provisioningState === 'Updating') {
          throw new ProviderError('conflict', `route table ${table.name} is still updating`, {
            code: 'RouteTableUpdating',
          });
        }
        const plan = planRouteEdits({
          owner: ctx.owner,
          where,
          routes: read.routes ?? [],
          nextHop: target.nextHop,
          nodeSubnet,
          addressSpace: vnet?.addressPrefixes ?? [],
          edits: pending.filter((e) => !failed.has(e)),
        });
        for (const [edit, error] of plan.failed) failed.set(edit, error);
        if (!plan.changed) return;
        await step(
          `${where}: route table ${table.name} update`,
          api.putRouteTable(table, { ...read, routes: plan.routes }, read.etag ?? '*', signal),
        );
      });
    }
    return { failed };
  };
}

function subnetIdOf(target: RouteTarget): string {
  const s = target.subnet;
  return `/subscriptions/${s.subscriptionId}/resourceGroups/${s.resourceGroup}/providers/Microsoft.Network/virtualNetworks/${s.vnet}/subnets/${s.name}`;
}
