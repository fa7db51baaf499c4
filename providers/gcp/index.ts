/**
 * @module
 * The GCP provider, registered as `gcp`: egress IPs as alias IP ranges on GCE network interfaces,
 * through `@google-cloud/compute`. See providers/gcp/README.md and docs/gcp.md.
 */
import type { ProviderContext, ProviderSettings } from '../../src/provider/contract.ts';
import { createComputeApi } from './client.ts';
import { createGcpProviderFor, type GcpProvider } from './provider.ts';

export { type ComputeApi, type ComputeApiOptions, createComputeApi } from './client.ts';
export { classifyGcpError } from './errors.ts';
export { egressRangeName, MAX_ALIAS_RANGES } from './nic-plan.ts';
export { createGcpProviderFor, type GcpProvider, type GcpProviderOptions } from './provider.ts';

/** Registry factory: a provider over the real Compute Engine API (or `settings.endpoint`), logging to `context`. */
export function createGcpProvider(settings: ProviderSettings, context: ProviderContext): GcpProvider {
  return createGcpProviderFor(
    createComputeApi(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    settings,
    { logger: context.logger },
  );
}
