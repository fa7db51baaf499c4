/**
 * @module
 * The Azure provider: egress IPs as secondary, static ipConfigurations on the node's NIC, as an
 * {@link InterfaceDriver} run by the provider engine (src/provider/engine.ts: batches per NIC and phase, the
 * NIC's lock, retries, the two steps of a move, one outcome per change).
 *
 * ```
 *  resolve   providerID ─► VM GET ─► NIC ID (the primary NIC, or settings.interface as an index);
 *            a uniform scale set's NIC ─► a route target (route-target.ts, docs/adr/0005): its egress IPs are
 *            /32 routes to the node, since the scale set's model cannot pin a private IP on one instance
 *  key       the NIC's resource ID, lower case (ARM compares IDs case-insensitively)
 *  write     NIC: one attempt: GET ─► plan ─► one PUT with If-Match ─► poll the operation (nic-update.ts)
 *            route: per route table, GET ─► plan ─► PUT with If-Match ─► poll (route-target.ts)
 *  describe  NIC GET + subnet GET      list  NIC GET per node; a NIC gone ─► nothing listed
 *  classify  errors.ts                 blame a 400 naming one added IP of the batch ─► that edit
 * ```
 *
 * A move is one operation (`moveIpConfigurations`, ip-moves.ts) where the subscription has the feature
 * `AllowMoveIpConfigurations`: the driver answers `atomicMove` per move, trying the call once per subscription
 * and remembering a refusal. Elsewhere the engine removes a moving IP from the old NIC before it adds it to the
 * new one, so it is never on two NICs; the public IP of a removed ipConfiguration is reported as carried, and
 * the engine pairs it with the IP on the new NIC unless the change names another.
 */
import type { Logger } from '../../src/log.ts';
import type {
  CloudProvider,
  NodeNetwork,
  NodeRef,
  PreflightCheck,
  ProviderSettings,
} from '../../src/provider/contract.ts';
import { isProviderError, ProviderError } from '../../src/provider/contract.ts';
import { createEngineProvider } from '../../src/provider/engine.ts';
import type { InterfaceDriver } from '../../src/provider/interface-driver.ts';
import type { AzureApi, AzureApiFactory } from './api.ts';
import { azureProvider } from './descriptor.ts';
import { classifyAzureError, mentions, mentionsName } from './errors.ts';
import { addressOf, IP_CONFIGURATIONS_PER_NIC, isOwned, ownedName } from './ip-configs.ts';
import { MoveFeature, MoveWriter } from './ip-moves.ts';
import { describeTarget, type NicTarget, nicWrite, step, subnetPrefixes } from './nic-update.ts';
import { ACTIONS_BY_CALL, type PermissionScope, permissionChecks } from './permissions.ts';
import { parseNicId, parseProviderID, parseScaleSetNicId } from './resource-id.ts';
import { azureRetryOptions, type RetrySettings } from './retry.ts';
import {
  describeRouteNode,
  listRouteNode,
  parseRouteTables,
  type RouteContext,
  RouteTableWriter,
  type RouteTarget,
  resolveRoute,
  routeWrite,
} from './route-target.ts';

export type { RetrySettings } from './retry.ts';

/** The Azure driver over the calls of each subscription (`api`), for the installation `settings.owner`. */
/** A resolved Azure node: a NIC that takes ipConfigurations, or a scale-set node reached by routes. */
export type AzureTarget = NicTarget | RouteTarget;

export function azureDriver(settings: ProviderSettings, api: AzureApiFactory): InterfaceDriver<AzureTarget> {
  const owner = settings.owner;
  const apis = new Map<string, AzureApi>();
  const apiFor = (subscriptionId: string) => {
    const id = subscriptionId.toLowerCase();
    let found = apis.get(id);
    if (!found) {
      found = api(subscriptionId);
      apis.set(id, found);
    }
    return found;
  };
  const feature = new MoveFeature();
  const moves = new MoveWriter(feature);
  const routes: RouteContext = {
    owner,
    apiFor,
    extraTables: parseRouteTables(settings.routeTables),
    tables: new RouteTableWriter(),
  };
  const readNic = (target: NicTarget, signal?: AbortSignal) =>
    step(`${describeTarget(target)}: get`, apiFor(target.nic.subscriptionId).getNic(target.nic, signal));

  return {
    async resolve(node: NodeRef, signal?: AbortSignal): Promise<AzureTarget> {
      const vmRef = parseProviderID(node);
      const vm = await step(`node ${node.name}: VM get`, apiFor(vmRef.subscriptionId).getVm(vmRef, signal));
      const index = settings.interface ? Number(settings.interface) : undefined;
      const picked =
        index !== undefined && Number.isInteger(index)
          ? vm.nics[index]
          : (vm.nics.find((n) => n.primary) ?? vm.nics[0]);
      if (!picked) {
        throw new ProviderError(
          'notFound',
          `node ${node.name}: the VM has no network interface${index !== undefined ? ` at index ${index}` : ''}`,
        );
      }
      const zone = vm.zones[0] ? `${vm.location}-${vm.zones[0]}` : vm.location;
      const nic = parseNicId(picked.id);
      if (nic) return { kind: 'nic', node, nic, zone };
      const scaleSetNic = parseScaleSetNicId(picked.id);
      if (scaleSetNic) return resolveRoute(routes, node, scaleSetNic, zone, signal);
      throw new ProviderError(
        'terminal',
        `node ${node.name}: NIC ${picked.id} is not a NIC ID the provider knows`,
        {
          code: 'UnsupportedNic',
        },
      );
    },

    key: (target) =>
      target.kind === 'route' ? `route:${target.nic.id.toLowerCase()}` : target.nic.id.toLowerCase(),

    write: (target, edits, signal) =>
      target.kind === 'route'
        ? routeWrite(routes, target, edits, signal)
        : nicWrite({ owner, apiFor, feature, moves }, target, edits, signal),

    // NICs: one operation (moveIpConfigurations) unless the subscription is known to lack it (tried once to find
    // out). Scale-set nodes: the route's next hop changes in one write per table. Between the two: two steps.
    atomicMove: (from, to) => {
      if (from.kind === 'route' || to.kind === 'route') {
        return (
          from.kind === 'route' &&
          to.kind === 'route' &&
          from.tables.map((t) => t.id.toLowerCase()).join() ===
            to.tables.map((t) => t.id.toLowerCase()).join()
        );
      }
      return (
        from.nic.subscriptionId.toLowerCase() === to.nic.subscriptionId.toLowerCase() &&
        feature.state(to.nic.subscriptionId) !== 'unavailable'
      );
    },

    async describe({ node, target }, signal) {
      if (target.kind === 'route') return describeRouteNode(routes, target, signal);
      const nic = await readNic(target, signal);
      const configs = nic.ipConfigurations ?? [];
      const prefixes = await subnetPrefixes(apiFor, nic, describeTarget(target), signal);
      const owned = configs.filter((c) => isOwned(c, owner)).flatMap(addressOf);
      const network: NodeNetwork = {
        node: node.name,
        interfaceId: nic.id ?? target.nic.id,
        zone: target.zone,
        subnets: prefixes,
        reservedIPs: configs.filter((c) => !isOwned(c, owner)).flatMap(addressOf),
        ownedIPs: owned.sort(),
        freeSlots: Math.max(0, IP_CONFIGURATIONS_PER_NIC - configs.length),
      };
      return network;
    },

    list: (group, signal) =>
      Promise.all(
        group.map(async ({ node, target }) => {
          if (target.kind === 'route') {
            try {
              return await listRouteNode(routes, target, signal);
            } catch (err) {
              if (isProviderError(err, 'notFound')) return undefined;
              throw err;
            }
          }
          let nic: Awaited<ReturnType<typeof readNic>>;
          try {
            nic = await readNic(target, signal);
          } catch (err) {
            if (isProviderError(err, 'notFound')) return undefined;
            throw err;
          }
          return (nic.ipConfigurations ?? [])
            .filter((c) => isOwned(c, owner))
            .map((c) => ({
              ip: addressOf(c)[0]!,
              node: node.name,
              interfaceId: nic.id ?? target.nic.id,
              ...(c.publicIPAddress?.id ? { publicAddress: c.publicIPAddress.id } : {}),
            }))
            .sort((x, y) => (x.ip < y.ip ? -1 : x.ip > y.ip ? 1 : 0));
        }),
      ),

    classify: classifyAzureError,

    async preflight(nodes, signal) {
      const scopes = new Map<string, PermissionScope & { subscriptionId: string }>();
      const want = (
        resource: string,
        what: string,
        actions: readonly string[],
        subscriptionId: string,
        node?: string,
      ) => {
        const k = resource.toLowerCase();
        const known = scopes.get(k);
        const merged = [...new Set([...(known?.actions ?? []), ...actions])];
        scopes.set(k, {
          resource,
          what,
          actions: merged,
          subscriptionId,
          ...((known?.node ?? node) ? { node: known?.node ?? node! } : {}),
        });
      };
      const checks: PreflightCheck[] = [];
      for (const { node, target } of nodes) {
        const sub = target.nic.subscriptionId;
        const network = await this.describe({ node, target }, signal).catch((err: unknown) => err as Error);
        checks.push(
          network instanceof Error
            ? {
                check: 'interface readable',
                node: node.name,
                ok: false,
                message: network.message,
                fix: 'see the message',
              }
            : {
                check: 'free IP slots',
                node: node.name,
                ok: network.freeSlots > 0,
                message: `${network.interfaceId} can take ${network.freeSlots} more egress IPs`,
                ...(network.freeSlots > 0
                  ? {}
                  : { fix: 'add gateway nodes, or free IP configurations or routes' }),
              },
        );
        if (target.kind === 'route') {
          want(target.nic.id, `the NIC of ${node.name}`, ACTIONS_BY_CALL.getScaleSetNic, sub, node.name);
          for (const table of target.tables) {
            want(
              table.id,
              `route table ${table.name}`,
              [...ACTIONS_BY_CALL.getRouteTable, ...ACTIONS_BY_CALL.putRouteTable],
              table.subscriptionId,
            );
          }
          const nic = await apiFor(sub)
            .getScaleSetNic(target.nic, signal)
            .catch(() => undefined);
          const forwarding = nic?.enableIPForwarding === true;
          checks.push({
            check: 'IP forwarding',
            node: node.name,
            ok: forwarding,
            message: forwarding
              ? `on for ${target.nic.name}`
              : `off for ${target.nic.name}: it cannot send from a routed egress IP`,
            ...(forwarding ? {} : { fix: "turn on enableIPForwarding in the scale set's network profile" }),
          });
          continue;
        }
        want(
          target.nic.id,
          `NIC ${target.nic.name}`,
          [...ACTIONS_BY_CALL.getNic, ...ACTIONS_BY_CALL.putNic],
          sub,
          node.name,
        );
        const nic = await readNic(target, signal).catch(() => undefined);
        const subnetId = nic?.ipConfigurations?.find((c) => c.primary)?.subnet?.id;
        if (subnetId) {
          want(
            subnetId,
            `subnet ${subnetId.split('/').at(-1)}`,
            ['Microsoft.Network/virtualNetworks/subnets/join/action', ...ACTIONS_BY_CALL.getSubnet],
            sub,
          );
        }
      }
      for (const scope of scopes.values()) {
        try {
          checks.push(
            ...permissionChecks(
              scope,
              await apiFor(scope.subscriptionId).listPermissions(scope.resource, signal),
            ),
          );
        } catch (err) {
          const error = classifyAzureError(err, `permissions of ${scope.what}`);
          checks.push({
            check: 'permissions readable',
            ...(scope.node ? { node: scope.node } : {}),
            ok: false,
            message: error.message,
            fix: 'grant Microsoft.Authorization/permissions/read (every role holds it through */read or the Reader role)',
          });
        }
      }
      return checks;
    },

    // ARM refuses the whole PUT for one bad ipConfiguration and names its IP, or the ipConfiguration, in the message.
    blame: (error, edits) =>
      edits.find(
        (e) =>
          e.kind === 'add' &&
          (mentions(error.message, e.ip) || mentionsName(error.message, ownedName(owner, e.ip))),
      ),
  };
}

/** What the provider is built from. */
export interface AzureProviderDeps {
  /** The Azure calls of one subscription (the SDK seam). */
  readonly api: AzureApiFactory;
  readonly retry?: RetrySettings;
  /** Where the engine logs retries. */
  readonly logger?: Logger;
}

/** Creates the Azure provider over an {@link AzureApiFactory}. */
export function createAzureProviderWith(settings: ProviderSettings, deps: AzureProviderDeps): CloudProvider {
  return createEngineProvider(azureDriver(settings, deps.api), {
    name: azureProvider.name,
    capabilities: azureProvider.capabilities,
    retry: azureRetryOptions(deps.retry),
    ...(deps.logger ? { logger: deps.logger } : {}),
  });
}
