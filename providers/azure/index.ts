/**
 * @module
 * The Azure provider, registered as `azure`: egress IPs as secondary static ipConfigurations on the node's
 * NIC, through `@azure/arm-network` and `@azure/arm-compute`, authenticated with `@azure/identity`'s
 * `DefaultAzureCredential` (Azure Workload Identity in the cluster; see docs/azure.md).
 */

import { AuthorizationManagementClient } from '@azure/arm-authorization';
import { ComputeManagementClient } from '@azure/arm-compute';
import { NetworkManagementClient } from '@azure/arm-network';
import { DefaultAzureCredential } from '@azure/identity';
import type { Logger } from '../../src/log.ts';
import type { CloudProvider, ProviderContext, ProviderSettings } from '../../src/provider/contract.ts';
import { type AzureClients, type OperationOptions, sdkAzureApi } from './api.ts';
import { createAzureProviderWith, type RetrySettings } from './provider.ts';

export type { AzureApi, AzureApiFactory, AzureClients, OperationOptions, VmView } from './api.ts';
export { sdkAzureApi } from './api.ts';
export { classifyAzureError } from './errors.ts';
export { IP_CONFIGURATIONS_PER_NIC, isOwned, ownedName } from './ip-configs.ts';
export { type AzureProviderDeps, createAzureProviderWith, type RetrySettings } from './provider.ts';

/** Options of {@link createAzureProviderFromClients}. */
export interface AzureProviderOptions extends OperationOptions {
  readonly retry?: RetrySettings;
  /** Where the engine logs retries. */
  readonly logger?: Logger;
}

/**
 * A provider over SDK clients made per subscription by `clients` (tests point them at the emulator).
 */
export function createAzureProviderFromClients(
  settings: ProviderSettings,
  clients: (subscriptionId: string) => AzureClients,
  options: AzureProviderOptions = {},
): CloudProvider {
  return createAzureProviderWith(settings, {
    api: (subscriptionId) => sdkAzureApi(clients(subscriptionId), options),
    ...(options.retry ? { retry: options.retry } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
}

/**
 * Registry factory: SDK clients with `DefaultAzureCredential` (Workload Identity, managed identity, or the
 * environment), against `settings.endpoint` when set (sovereign clouds, private endpoints). The SDKs' own
 * retries are off: the engine retries every read-modify-write, re-reading the NIC each time, and logs to
 * `context.logger`.
 */
export function createAzureProvider(settings: ProviderSettings, context: ProviderContext): CloudProvider {
  const credential = new DefaultAzureCredential();
  const clientOptions = {
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    retryOptions: { maxRetries: 0 },
  };
  return createAzureProviderFromClients(
    settings,
    (subscriptionId) => ({
      network: new NetworkManagementClient(credential, subscriptionId, clientOptions),
      compute: new ComputeManagementClient(credential, subscriptionId, clientOptions),
      authorization: new AuthorizationManagementClient(credential, subscriptionId, clientOptions),
    }),
    { logger: context.logger },
  );
}
