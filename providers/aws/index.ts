/**
 * @module
 * The AWS provider's registry entry: builds one rate-limited EC2 client per region. Credentials come from the
 * SDK's default chain (environment, shared config, web identity for IRSA, EKS Pod Identity's container
 * credentials, instance profile); `settings.endpoint` overrides the EC2 endpoint (LocalStack, VPC endpoints).
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import type { Logger } from '../../src/log.ts';
import type {
  CloudProvider,
  ClusterProbe,
  ProviderContext,
  ProviderSettings,
} from '../../src/provider/contract.ts';
import type { RetryOptions } from '../../src/provider/retry.ts';
import { limitedEc2Api, sdkEc2Api } from './ec2-api.ts';
import { type AwsProviderOptions, createAwsProviderWith } from './provider.ts';
import { type BucketLimit, type BucketName, createBuckets } from './token-bucket.ts';

export type { Ec2Api } from './ec2-api.ts';
export { limitedEc2Api, sdkEc2Api } from './ec2-api.ts';
export { createAwsProviderWith } from './provider.ts';
export { EC2_RATE_LIMITS } from './token-bucket.ts';

/** Tuning of the AWS provider beyond {@link ProviderSettings}. */
export interface AwsTuning {
  /** Client-side request rates per bucket (default: EC2's documented limits). */
  readonly rateLimits?: Partial<Record<BucketName, BucketLimit>>;
  /** Backoff of each node's resolution, each read and each ENI's write attempts. */
  readonly retry?: Partial<RetryOptions>;
  /** Where the engine logs retries; default nowhere. */
  readonly logger?: Logger;
  /** Static credentials (tests); default the SDK's credential chain. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Per-request timeout in ms (default 10 000). */
  readonly requestTimeoutMs?: number;
  /**
   * SDK plugins added to every EC2 client's middleware stack (request logging; the tests record each request
   * to prove the documented IAM policies allow it).
   */
  readonly plugins?: readonly Ec2Plugin[];
  /** The cluster's answers (whether the VPC CNI runs); default none: it is taken as not running. */
  readonly cluster?: ClusterProbe;
}

/** An AWS SDK plugin of the EC2 client (`client.middlewareStack.use`). */
export type Ec2Plugin = Parameters<EC2Client['middlewareStack']['use']>[0];

/** Creates the AWS provider with real EC2 clients. */
export function createAwsProviderTuned(settings: ProviderSettings, tuning: AwsTuning = {}): CloudProvider {
  const apis = new Map<string, ReturnType<AwsProviderOptions['ec2For']>>();
  const ec2For = (region: string) => {
    let api = apis.get(region);
    if (!api) {
      const client = new EC2Client({
        region,
        // The engine retries (full jitter, per ENI, re-reading state first); the SDK must not.
        maxAttempts: 1,
        requestHandler: { requestTimeout: tuning.requestTimeoutMs ?? 10_000 },
        ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
        ...(tuning.credentials ? { credentials: tuning.credentials } : {}),
      });
      for (const plugin of tuning.plugins ?? []) client.middlewareStack.use(plugin);
      // EC2 throttles per account and region, so each region gets its own buckets.
      api = limitedEc2Api(sdkEc2Api(client), createBuckets(tuning.rateLimits));
      apis.set(region, api);
    }
    return api;
  };
  return createAwsProviderWith(settings, {
    ec2For,
    ...(tuning.retry ? { retry: tuning.retry } : {}),
    ...(tuning.logger ? { logger: tuning.logger } : {}),
    ...(tuning.cluster ? { cluster: tuning.cluster } : {}),
  });
}

/** Registry factory (`aws`): the engine logs through the controller's logger; the cluster answers its questions. */
export function createAwsProvider(settings: ProviderSettings, context: ProviderContext): CloudProvider {
  return createAwsProviderTuned(settings, {
    logger: context.logger,
    ...(context.cluster ? { cluster: context.cluster } : {}),
  });
}
