/**
 * @module
 * The conformance suite and the lying-cloud cases against the in-memory provider.
 */
import { runProviderConformance } from './cloud-provider.case.ts';
import { startInMemoryWorld } from './inmemory-world.ts';
import { runLyingCloudCases } from './lying-cloud.case.ts';

runProviderConformance({ name: 'inmemory', setup: startInMemoryWorld });
runLyingCloudCases({ name: 'inmemory', setup: startInMemoryWorld });
