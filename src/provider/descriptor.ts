/**
 * @module
 * A provider descriptor: everything the core knows about a provider without loading it. Each provider folder
 * has a `descriptor.ts`, plain data that imports nothing of the provider (so the provider's own modules can read
 * their name and capabilities from it); the registry lists each descriptor with the loader of its module.
 */
import type { ProviderCapabilities } from './capabilities.ts';
import type { CloudProvider, ProviderContext, ProviderName, ProviderSettings } from './contract.ts';

/** Creates a provider instance from its settings. */
export type ProviderFactory = (
  settings: ProviderSettings,
  context: ProviderContext,
) => CloudProvider | Promise<CloudProvider>;

/** See the module comment. */
export interface ProviderDescriptor {
  /** The registry name: `--provider`, the `cloudegress.io/provider` annotation. */
  readonly name: ProviderName;
  /**
   * The scheme of the `spec.providerID` of the nodes it serves (`aws` for `aws:///us-east-1a/i-0abc`, `gce` for
   * `gce://project/zone/name`), so `--provider auto` can detect it; none for providers that are never detected.
   */
  readonly providerIDScheme?: string;
  /** What it can do (capabilities.ts). */
  readonly capabilities: ProviderCapabilities;
  /** For tests and benchmarks only (e.g. a cloud inside the controller's own process): the chart does not offer it. */
  readonly testOnly?: boolean;
}
