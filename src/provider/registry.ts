/**
 * @module
 * The provider registry: the one file in `src/` that knows the providers (external-dns's factory), as one
 * list: each provider's descriptor and the loader of its module. Modules are loaded lazily, so a controller on
 * AWS never loads the GCP or Azure SDKs. Adding a provider is a folder under `providers/` and one entry here
 * (docs/adding-a-provider.md).
 */
import { awsProvider } from '../../providers/aws/descriptor.ts';
import { azureProvider } from '../../providers/azure/descriptor.ts';
import { gcpProvider } from '../../providers/gcp/descriptor.ts';
import { inmemoryProvider } from '../../providers/inmemory/descriptor.ts';
import { noneProvider } from '../../providers/none/descriptor.ts';
import type { ProviderName } from './contract.ts';
import type { ProviderDescriptor, ProviderFactory } from './descriptor.ts';

export type { ProviderDescriptor, ProviderFactory } from './descriptor.ts';

/** A provider as registered: its descriptor, and how to load its factory (and its SDKs) on first use. */
export interface RegisteredProvider extends ProviderDescriptor {
  readonly load: () => Promise<ProviderFactory>;
}

/** Every provider, in a stable order. */
export const PROVIDERS: readonly RegisteredProvider[] = [
  { ...awsProvider, load: async () => (await import('../../providers/aws/index.ts')).createAwsProvider },
  { ...gcpProvider, load: async () => (await import('../../providers/gcp/index.ts')).createGcpProvider },
  {
    ...azureProvider,
    load: async () => (await import('../../providers/azure/index.ts')).createAzureProvider,
  },
  { ...noneProvider, load: async () => (await import('../../providers/none/index.ts')).noneProviderFactory },
  {
    ...inmemoryProvider,
    load: async () => (await import('../../providers/inmemory/index.ts')).createInMemoryProvider,
  },
];

/** Every provider name, in the order of {@link PROVIDERS}. */
export const PROVIDER_NAMES: readonly ProviderName[] = PROVIDERS.map((d) => d.name);

/** True when `name` is a registered provider name. */
export function isProviderName(name: string): name is ProviderName {
  return PROVIDERS.some((d) => d.name === name);
}

/** The descriptor registered under `name`, if any. */
export function providerDescriptor(name: ProviderName): RegisteredProvider | undefined {
  return PROVIDERS.find((d) => d.name === name);
}

/** Thrown when a provider name is not registered in this build. */
export class ProviderUnavailableError extends Error {
  override readonly name = 'ProviderUnavailableError';
}

/** Loads the factory registered under `name`. @throws ProviderUnavailableError when none is registered. */
export async function providerFactory(name: ProviderName): Promise<ProviderFactory> {
  const descriptor = providerDescriptor(name);
  if (!descriptor) throw new ProviderUnavailableError(`provider "${name}" is not available in this build`);
  return descriptor.load();
}

/**
 * The provider a node's `spec.providerID` points to (by its scheme: `aws:///zone/i-…`, `gce://project/zone/name`,
 * `azure:///subscriptions/…`), or undefined when it names none we know.
 */
export function providerFromProviderID(providerID: string | undefined): ProviderName | undefined {
  const at = providerID?.indexOf('://') ?? -1;
  if (!providerID || at < 0) return undefined;
  const scheme = providerID.slice(0, at);
  return PROVIDERS.find((d) => d.providerIDScheme === scheme)?.name;
}
