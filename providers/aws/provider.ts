/**
 * @module
 * The AWS provider: the AWS driver (driver.ts) run by the provider engine (src/provider/engine.ts), which
 * carries out plans for every cloud alike: changes grouped per ENI, releases before assignments, one lock per
 * ENI, each ENI's write attempt retried with full-jitter backoff (every attempt re-reads the ENI, so a call
 * whose response was lost is not repeated blindly), a node re-resolved once after `notFound` on its cached ENI.
 *
 * ```
 * apply(plan), per target ENI                                     (AWS moves atomically: no release half)
 *   phase 1: removes ─► release attempt: read ─► decide ─► Unassign* ─► drop claims       (release-attempt.ts)
 *   phase 2: adds (moves included) and allocations ─► assign attempt: read ─► decide ─► claim new IPs
 *            ─► ONE AssignPrivateIpAddresses(AllowReassignment) ─► IPv6, allocation, Elastic IPs (assign-attempt.ts)
 * listAssignments(nodes) ─► per region, a few batched reads                                    (list-reads.ts)
 * ```
 */
import type { Logger } from '../../src/log.ts';
import type { CloudProvider, ClusterProbe, ProviderSettings } from '../../src/provider/contract.ts';
import { createEngineProvider } from '../../src/provider/engine.ts';
import { DEFAULT_RETRY, type RetryOptions } from '../../src/provider/retry.ts';
import { awsProvider } from './descriptor.ts';
import { awsDriver } from './driver.ts';
import type { Ec2Api } from './ec2-api.ts';

/** Options beyond the shared {@link ProviderSettings}. */
export interface AwsProviderOptions {
  /** The EC2 API of a region (already rate-limited and classifying errors). */
  readonly ec2For: (region: string) => Ec2Api;
  /** Backoff of each node's resolution, each read and each ENI's write attempts. */
  readonly retry?: Partial<RetryOptions>;
  /** Where the engine logs retries. */
  readonly logger?: Logger;
  /** The cluster's answers (whether the VPC CNI runs, egress-eni.ts); absent: it is taken as not running. */
  readonly cluster?: ClusterProbe;
}

/** Creates the AWS provider over injected EC2 APIs. */
export function createAwsProviderWith(
  settings: ProviderSettings,
  options: AwsProviderOptions,
): CloudProvider {
  return createEngineProvider(awsDriver(settings, options.ec2For, options.cluster), {
    name: awsProvider.name,
    capabilities: awsProvider.capabilities,
    retry: { ...DEFAULT_RETRY, ...options.retry },
    ...(options.logger ? { logger: options.logger } : {}),
  });
}
