/**
 * @module
 * The narrow seam between the Azure provider and the Azure SDKs (external-dns's "the subset of the API we
 * actually use"): the calls below, nothing else. {@link sdkAzureApi} carries them out on `@azure/arm-network` and
 * `@azure/arm-compute` clients; tests build those clients against the local emulator.
 */

import type { AuthorizationManagementClient } from '@azure/arm-authorization';
import type { ComputeManagementClient } from '@azure/arm-compute';
import type { NetworkInterface, NetworkManagementClient, RouteTable } from '@azure/arm-network';
import { ProviderError } from '../../src/provider/contract.ts';
import type { PermissionEntry } from './permissions.ts';
import type { AzureVmRef, NicRef, RouteTableRef, ScaleSetNicRef, SubnetRef } from './resource-id.ts';

/** What the provider needs of a subnet. */
export interface SubnetView {
  readonly prefixes: readonly string[];
  /** The route table associated with the subnet, if any. */
  readonly routeTableId?: string;
}

/** What the provider needs of a virtual network. */
export interface VnetView {
  readonly addressPrefixes: readonly string[];
  readonly subnets: readonly { readonly id: string; readonly prefixes: readonly string[] }[];
}

/** What the provider needs of a VM. */
export interface VmView {
  readonly location: string;
  readonly zones: readonly string[];
  /** The VM's NIC resource IDs, in order, with the primary flag. */
  readonly nics: readonly { readonly id: string; readonly primary: boolean }[];
}

/** The Azure calls the provider makes, for one subscription. */
export interface AzureApi {
  /** GET the VM (or scale-set instance). */
  getVm(vm: AzureVmRef, signal?: AbortSignal): Promise<VmView>;
  /** GET the NIC (with its etag). */
  getNic(nic: NicRef, signal?: AbortSignal): Promise<NetworkInterface>;
  /**
   * PUT the whole NIC with `If-Match: etag` and wait until its long-running operation is done.
   * @throws ProviderError `transient` (code `OperationTimeout`) when the operation outlives the timeout.
   */
  putNic(nic: NicRef, body: NetworkInterface, etag: string, signal?: AbortSignal): Promise<NetworkInterface>;
  /** GET the subnet's address prefixes. */
  getSubnetPrefixes(subnet: SubnetRef, signal?: AbortSignal): Promise<string[]>;
  /** GET the subnet: prefixes and route table. */
  getSubnet(subnet: SubnetRef, signal?: AbortSignal): Promise<SubnetView>;
  /** GET the virtual network: its address space and subnets. */
  getVnet(
    vnet: { readonly resourceGroup: string; readonly name: string },
    signal?: AbortSignal,
  ): Promise<VnetView>;
  /** GET a uniform scale-set instance's NIC (the Network RP's read-only view). */
  getScaleSetNic(nic: ScaleSetNicRef, signal?: AbortSignal): Promise<NetworkInterface>;
  /** GET the route table (with its etag). */
  getRouteTable(table: RouteTableRef, signal?: AbortSignal): Promise<RouteTable>;
  /**
   * PUT the whole route table with `If-Match: etag` and wait until its operation is done.
   * @throws ProviderError `transient` (code `OperationTimeout`) when the operation outlives the timeout.
   */
  putRouteTable(
    table: RouteTableRef,
    body: RouteTable,
    etag: string,
    signal?: AbortSignal,
  ): Promise<RouteTable>;
  /** The caller's permissions on a resource (Microsoft.Authorization permissions listing). */
  listPermissions(resourceId: string, signal?: AbortSignal): Promise<PermissionEntry[]>;
  /**
   * POST `virtualNetworks/{vnet}/moveIpConfigurations`: each source ipConfiguration moves onto its target (a
   * NIC's ipConfiguration ID, created by the move) in one operation, and waits until it is done.
   * @throws ProviderError `transient` (code `OperationTimeout`) when the operation outlives the timeout.
   */
  moveIpConfigurations(
    vnet: { readonly subscriptionId: string; readonly resourceGroup: string; readonly name: string },
    items: readonly { readonly source: string; readonly target: string }[],
    signal?: AbortSignal,
  ): Promise<void>;
}

/** Makes the {@link AzureApi} of one subscription. */
export type AzureApiFactory = (subscriptionId: string) => AzureApi;

/** The SDK clients of one subscription. */
export interface AzureClients {
  readonly network: NetworkManagementClient;
  readonly compute: ComputeManagementClient;
  /** For preflight's permissions listing. */
  readonly authorization: AuthorizationManagementClient;
}

/** A resource ID cut the way the permissions listing takes it. */
function resourceParts(id: string) {
  const m = /^\/subscriptions\/[^/]+\/resourceGroups\/([^/]+)\/providers\/([^/]+)\/(.+)$/i.exec(id);
  const segments = m?.[3]?.split('/') ?? [];
  if (!m || segments.length < 2 || segments.length % 2 !== 0) {
    throw new ProviderError('terminal', `"${id}" is not a resource ID`, { code: 'InvalidResourceId' });
  }
  return {
    resourceGroup: m[1]!,
    namespace: m[2]!,
    parent: segments.slice(0, -2).join('/'),
    type: segments.at(-2)!,
    name: segments.at(-1)!,
  };
}

/** Long-running operation settings. */
export interface OperationOptions {
  /** Delay between polls of the `Azure-AsyncOperation` URL (default 1,000 ms). */
  readonly pollIntervalMs?: number;
  /** Give up waiting after this long (default 120,000 ms); the next attempt re-reads the NIC. */
  readonly operationTimeoutMs?: number;
}

/** What the SDKs' long-running operation pollers offer (`PollerLike` of @azure/core-lro), as far as used here. */
interface LroPoller<T> {
  submitted(): Promise<void>;
  readonly isDone: boolean;
  poll(options: { abortSignal: AbortSignal }): Promise<unknown>;
  pollUntilDone(options: { abortSignal: AbortSignal }): Promise<T>;
}

/**
 * Waits until the long-running operation is done, polling every `intervalMs`. The SDK's own `pollUntilDone`
 * waits the `Retry-After` NRP sends with every poll (10 s) instead of the asked interval, so an operation that
 * ends after 6–7 s is seen done at 10 s; a failover cannot spare those seconds, and one poll a second per NIC
 * being written is far inside ARM's read limits (docs/adr/0005).
 */
async function untilDone<T>(poller: LroPoller<T>, intervalMs: number, abortSignal: AbortSignal): Promise<T> {
  await poller.submitted();
  while (!poller.isDone) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, intervalMs);
      abortSignal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          reject(abortSignal.reason);
        },
        { once: true },
      );
    });
    await poller.poll({ abortSignal });
  }
  return poller.pollUntilDone({ abortSignal });
}

/** {@link AzureApi} on the SDK clients. */
export function sdkAzureApi(clients: AzureClients, options: OperationOptions = {}): AzureApi {
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const operationTimeoutMs = options.operationTimeoutMs ?? 120_000;
  /** Runs `start`'s operation until done, or fails `transient` `OperationTimeout` after the timeout. */
  const operation = async <T>(
    what: string,
    start: (abortSignal: AbortSignal) => LroPoller<T>,
    signal?: AbortSignal,
  ): Promise<T> => {
    const timeout = AbortSignal.timeout(operationTimeoutMs);
    const abortSignal = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      return await untilDone(start(abortSignal), pollIntervalMs, abortSignal);
    } catch (err) {
      if (timeout.aborted && !signal?.aborted) {
        throw new ProviderError(
          'transient',
          `${what}: the operation did not finish within ${operationTimeoutMs} ms`,
          {
            cause: err,
            code: 'OperationTimeout',
          },
        );
      }
      throw err;
    }
  };
  return {
    async getVm(vm, signal) {
      const found =
        vm.kind === 'vm'
          ? await clients.compute.virtualMachines.get(vm.resourceGroup, vm.name, { abortSignal: signal })
          : await clients.compute.virtualMachineScaleSetVMs.get(
              vm.resourceGroup,
              vm.scaleSet,
              vm.instanceId,
              {
                abortSignal: signal,
              },
            );
      return {
        location: found.location ?? '',
        zones: found.zones ?? [],
        nics: (found.networkProfile?.networkInterfaces ?? []).flatMap((n) =>
          n.id ? [{ id: n.id, primary: n.primary === true }] : [],
        ),
      };
    },

    getNic(nic, signal) {
      return clients.network.networkInterfaces.get(nic.resourceGroup, nic.name, { abortSignal: signal });
    },

    putNic(nic, body, etag, signal) {
      return operation(
        `NIC ${nic.name}: update`,
        (abortSignal) =>
          clients.network.networkInterfaces.createOrUpdate(nic.resourceGroup, nic.name, body, {
            abortSignal,
            updateIntervalInMs: pollIntervalMs,
            // The generated options have no ifMatch; ARM reads the header.
            requestOptions: { headers: { 'If-Match': etag } },
          }),
        signal,
      );
    },

    moveIpConfigurations(vnet, items, signal) {
      return operation(
        `virtual network ${vnet.name}: move IP configurations`,
        (abortSignal) =>
          clients.network.virtualNetworks.moveIpConfigurations(
            vnet.resourceGroup,
            vnet.name,
            {
              moveIpConfigurationItems: items.map((i) => ({
                sourceIpConfiguration: { id: i.source },
                targetIpConfiguration: { id: i.target },
              })),
            },
            { abortSignal, updateIntervalInMs: pollIntervalMs },
          ),
        signal,
      );
    },

    async getSubnetPrefixes(subnet, signal) {
      return [...(await this.getSubnet(subnet, signal)).prefixes];
    },

    async getSubnet(subnet, signal) {
      const found = await clients.network.subnets.get(subnet.resourceGroup, subnet.vnet, subnet.name, {
        abortSignal: signal,
      });
      return {
        prefixes: [...(found.addressPrefix ? [found.addressPrefix] : []), ...(found.addressPrefixes ?? [])],
        ...(found.routeTable?.id ? { routeTableId: found.routeTable.id } : {}),
      };
    },

    async getVnet(vnet, signal) {
      const found = await clients.network.virtualNetworks.get(vnet.resourceGroup, vnet.name, {
        abortSignal: signal,
      });
      return {
        addressPrefixes: found.addressSpace?.addressPrefixes ?? [],
        subnets: (found.subnets ?? []).flatMap((sn) =>
          sn.id
            ? [
                {
                  id: sn.id,
                  prefixes: [...(sn.addressPrefix ? [sn.addressPrefix] : []), ...(sn.addressPrefixes ?? [])],
                },
              ]
            : [],
        ),
      };
    },

    getScaleSetNic(nic, signal) {
      return clients.network.networkInterfaces.getVirtualMachineScaleSetNetworkInterface(
        nic.resourceGroup,
        nic.scaleSet,
        nic.instanceId,
        nic.name,
        { abortSignal: signal },
      );
    },

    getRouteTable(table, signal) {
      return clients.network.routeTables.get(table.resourceGroup, table.name, { abortSignal: signal });
    },

    async listPermissions(resourceId, signal) {
      const r = resourceParts(resourceId);
      const entries: PermissionEntry[] = [];
      for await (const p of clients.authorization.permissions.listForResource(
        r.resourceGroup,
        r.namespace,
        r.parent,
        r.type,
        r.name,
        { abortSignal: signal },
      )) {
        entries.push({ actions: p.actions ?? [], notActions: p.notActions ?? [] });
      }
      return entries;
    },

    putRouteTable(table, body, etag, signal) {
      return operation(
        `route table ${table.name}: update`,
        (abortSignal) =>
          clients.network.routeTables.createOrUpdate(table.resourceGroup, table.name, body, {
            abortSignal,
            updateIntervalInMs: pollIntervalMs,
            requestOptions: { headers: { 'If-Match': etag } },
          }),
        signal,
      );
    },
  };
}
