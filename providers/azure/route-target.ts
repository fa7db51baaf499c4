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
 *  write     announce the tables ─► GET NIC again (IP forwarding off ─► adds fail terminal) ─► VNet GET
 *            (address space) ─► per route table, in ID order (one order for every node, so no two batches wait
 *            for each other): hand the plan to the table's writer, which waits for every batch that announced
 *            the table and writes their plans in one PUT (group commit; one write at a time per table):
 *            GET table ─► each batch's plan (route-plan.ts) on the routes so far ─► one PUT with If-Match ─► wait
 *  describe  NIC + VNet + table: our routes to the node are its IPs; 400 routes a table
 *  list      our routes to the node in the first table
 * ```
 *
 * A move between two such nodes is one write per table (the route's next hop changes), so the IP is never on no
 * node; the driver says so in `atomicMove`.
 */
import type { NetworkInterface, Route, RouteTable } from '@azure/arm-network';
import type { CloudAssignment, NodeNetwork, NodeRef } from '../../src/provider/contract.ts';
import { ProviderError } from '../../src/provider/contract.ts';
import type { BatchResult, Edit } from '../../src/provider/interface-driver.ts';
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
import { isOwnedRoute, planRouteEdits, ROUTES_PER_TABLE, type RoutePlan, routedIP } from './route-plan.ts';

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

/** One batch's part of a route table write: its plan over the routes as the write found them. */
type TableJob = {
  readonly plan: (routes: readonly Route[]) => RoutePlan;
  readonly done: (failed: ReadonlyMap<Edit, ProviderError>) => void;
  readonly fail: (err: unknown) => void;
};

/** A table's queue: jobs waiting for the next write, batches that said they will submit one, a write running. */
interface TableQueue {
  pending: TableJob[];
  expected: number;
  running: boolean;
  /** Wakes a write waiting for the expected batches. */
  wake?: () => void;
}

/**
 * Writes route tables for every node of a provider, one write at a time per table, coalescing batches into one
 * PUT: a batch says at its start which tables it will write ({@link expect}), and a write waits until every
 * batch that said so has handed in its plan (or given up), so a failover onto two nodes of one subnet is one
 * write. Batches that start while a write runs go into the next one.
 */
export class RouteTableWriter {
  readonly #queues = new Map<string, TableQueue>();

  #queue(table: RouteTableRef): TableQueue {
    const key = table.id.toLowerCase();
    const queue = this.#queues.get(key) ?? { pending: [], expected: 0, running: false };
    this.#queues.set(key, queue);
    return queue;
  }

  /** Announces one plan for each table; the returned function withdraws what was not handed in (call it always). */
  expect(tables: readonly RouteTableRef[]): (table?: RouteTableRef) => void {
    const open = new Set(tables.map((t) => this.#queue(t)));
    for (const queue of open) queue.expected++;
    return (table) => {
      for (const queue of table ? [this.#queue(table)] : [...open]) {
        if (!open.delete(queue)) continue;
        queue.expected--;
        if (queue.expected === 0) queue.wake?.();
      }
    };
  }

  /** Plans `plan` into the next write of `table`; resolves with its failed edits once that write is done. */
  submit(
    api: AzureApi,
    table: RouteTableRef,
    where: string,
    plan: TableJob['plan'],
    handedIn: (table: RouteTableRef) => void,
    signal?: AbortSignal,
  ): Promise<ReadonlyMap<Edit, ProviderError>> {
    const queue = this.#queue(table);
    const result = new Promise<ReadonlyMap<Edit, ProviderError>>((done, fail) =>
      queue.pending.push({ plan, done, fail }),
    );
    handedIn(table);
    if (!queue.running) void this.#cycle(queue, api, table, where, signal);
    return result;
  }

  async #cycle(queue: TableQueue, api: AzureApi, table: RouteTableRef, where: string, signal?: AbortSignal) {
    queue.running = true;
    while (queue.pending.length > 0) {
      let jobs: TableJob[] = [];
      try {
        if (queue.expected > 0) {
          await new Promise<void>((wake) => {
            queue.wake = wake;
          });
          delete queue.wake;
        }
        const read = await step(`${where}: route table ${table.name} get`, api.getRouteTable(table, signal));
        jobs = queue.pending.splice(0);
        if (read.provisioningState === 'Updating') {
          throw new ProviderError('conflict', `route table ${table.name} is still updating`, {
            code: 'RouteTableUpdating',
          });
        }
        let routes: readonly Route[] = read.routes ?? [];
        let changed = false;
        const failures = jobs.map((job) => {
          const plan = job.plan(routes);
          routes = plan.routes;
          changed ||= plan.changed;
          return plan.failed;
        });
        if (changed) {
          await step(
            `${where}: route table ${table.name} update`,
            api.putRouteTable(table, { ...read, routes: [...routes] }, read.etag ?? '*', signal),
          );
        }
        for (const [i, job] of jobs.entries()) job.done(failures[i]!);
      } catch (err) {
        for (const job of jobs.length > 0 ? jobs : queue.pending.splice(0)) job.fail(err);
      }
    }
    queue.running = false;
  }
}

/** What the route functions need. */
export interface RouteContext {
  readonly owner: string;
  readonly apiFor: (subscriptionId: string) => AzureApi;
  /** Route tables besides the subnet's (settings `routeTables`, comma-separated IDs). */
  readonly extraTables: readonly RouteTableRef[];
  /** The route tables' writer, shared by every node of the provider. */
  readonly tables: RouteTableWriter;
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
    const handIn = ctx.tables.expect(target.tables);
    try {
      return await attempt(handIn);
    } finally {
      handIn();
    }
  };

  async function attempt(handIn: (table: RouteTableRef) => void): Promise<BatchResult> {
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
    // One global order (by ID) across nodes: a write waits for every batch that announced the table, so two
    // batches taking shared tables in different orders would wait for each other.
    const ordered = [...target.tables].sort((x, y) => compareIds(x.id, y.id));
    for (const table of ordered) {
      const edits = pending.filter((e) => !failed.has(e));
      const tableFailed = await ctx.tables.submit(
        ctx.apiFor(table.subscriptionId),
        table,
        where,
        (routes) =>
          planRouteEdits({
            owner: ctx.owner,
            where,
            routes,
            nextHop: target.nextHop,
            nodeSubnet,
            addressSpace: vnet?.addressPrefixes ?? [],
            edits,
          }),
        handIn,
        signal,
      );
      for (const [edit, error] of tableFailed) failed.set(edit, error);
    }
    return { failed };
  }
}

const compareIds = (x: string, y: string) => {
  const [l, r] = [x.toLowerCase(), y.toLowerCase()];
  return l < r ? -1 : l > r ? 1 : 0;
};

function subnetIdOf(target: RouteTarget): string {
  const s = target.subnet;
  return `/subscriptions/${s.subscriptionId}/resourceGroups/${s.resourceGroup}/providers/Microsoft.Network/virtualNetworks/${s.vnet}/subnets/${s.name}`;
}
