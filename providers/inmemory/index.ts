/**
 * @module
 * The in-memory provider, registered as `inmemory`. The registry's factory makes a provider over a
 * cloud shared by the whole process ({@link sharedInMemoryCloud}), so a controller started with
 * `--provider inmemory` and the tests that drive it see the same state.
 */
import type { CloudProvider, ProviderSettings } from '../../src/provider/contract.ts';
import { InMemoryCloud } from './cloud.ts';
import { createInMemoryProviderFor } from './provider.ts';

export { InMemoryCloud } from './cloud.ts';
export { AnswerHistory, Lies, type WriteLie } from './lies.ts';
export { createInMemoryProviderFor } from './provider.ts';

/** The process-wide in-memory cloud used by the registry's factory. */
export const sharedInMemoryCloud = new InMemoryCloud();

/** Registry factory: a provider over {@link sharedInMemoryCloud}. */
export function createInMemoryProvider(settings: ProviderSettings): CloudProvider {
  return createInMemoryProviderFor(sharedInMemoryCloud, settings);
}
