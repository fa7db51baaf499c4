/**
 * @module
 * The provider registry: the one file in `src/` that knows the providers (external-dns's factory).
 * Providers are loaded lazily, so a controller on AWS never loads the GCP or Azure SDKs.
 */
import type { CloudProvider, ProviderName, ProviderSettings } from './contract.ts';

/** Creates a provider instance from its settings. */
export type ProviderFactory = (settings: ProviderSettings) => CloudProvider | Promise<CloudProvider>;

/** Every provider name, in a stable order. */
export const PROVIDER_NAMES: readonly ProviderName[] = ['aws', 'gcp', 'azure', 'none', 'inmemory'];

const loaders: Partial<Record<ProviderName, () => Promise<ProviderFactory>>> = {
  aws: async () => (await import('../../providers/aws/index.ts')).createAwsProvider,
  inmemory: async () => (await import('../../providers/inmemory/index.ts')).createInMemoryProvider,
  none: async () => (await import('../../providers/none/index.ts')).createNoneProvider,
  azure: async () => (await import('../../providers/azure/index.ts')).createAzureProvider,
  gcp: async () => (await import('../../providers/gcp/index.ts')).createGcpProvider,
};

/** True when `name` is a registered provider name. */
export function isProviderName(name: string): name is ProviderName {
  return (PROVIDER_NAMES as readonly string[]).includes(name);
}

/** Thrown when a provider name is known but not built into this release. */
export class ProviderUnavailableError extends Error {
  override readonly name = 'ProviderUnavailableError';
}

/** Loads the factory registered under `name`. @throws ProviderUnavailableError when none is registered. */
export async function providerFactory(name: ProviderName): Promise<ProviderFactory> {
  const load = loaders[name];
  if (!load) throw new ProviderUnavailableError(`provider "${name}" is not available in this build`);
  return load();
}

/**
 * The provider a node's `spec.providerID` points to, or undefined when it names none we know
 * (`aws:///zone/i-…`, `gce://project/zone/name`, `azure:///subscriptions/…`).
 */
export function providerFromProviderID(providerID: string | undefined): ProviderName | undefined {
  if (!providerID) return undefined;
  const scheme = providerID.slice(0, providerID.indexOf('://'));
  switch (scheme) {
    case 'aws':
      return 'aws';
    case 'gce':
      return 'gcp';
    case 'azure':
      return 'azure';
    case 'inmemory':
      return 'inmemory';
    default:
      return undefined;
  }
}
