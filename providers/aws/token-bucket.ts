/**
 * @module
 * A client-side token bucket per EC2 throttling bucket, so the provider stays under EC2's documented request
 * rates (per account and region) instead of learning them from `RequestLimitExceeded`.
 *
 * Defaults (EC2 devguide, "Request throttling for the Amazon EC2 API"):
 *
 * | bucket                      | burst | refill / s |
 * |-----------------------------|------:|-----------:|
 * | AssignPrivateIpAddresses    |   100 |          5 |
 * | UnassignPrivateIpAddresses  |   100 |          5 |
 * | AssignIpv6Addresses         |   100 |          5 |
 * | mutating (all other writes) |    50 |          5 |
 * | describe (non-mutating)     |   100 |         20 |
 */
/** Size and refill rate of one bucket. */
export interface BucketLimit {
  readonly burst: number;
  readonly refillPerSecond: number;
}

/** The buckets the provider draws from. */
export type BucketName =
  | 'AssignPrivateIpAddresses'
  | 'UnassignPrivateIpAddresses'
  | 'AssignIpv6Addresses'
  | 'mutating'
  | 'describe';

/** EC2's documented limits. */
export const EC2_RATE_LIMITS: Readonly<Record<BucketName, BucketLimit>> = {
  AssignPrivateIpAddresses: { burst: 100, refillPerSecond: 5 },
  UnassignPrivateIpAddresses: { burst: 100, refillPerSecond: 5 },
  AssignIpv6Addresses: { burst: 100, refillPerSecond: 5 },
  mutating: { burst: 50, refillPerSecond: 5 },
  describe: { burst: 100, refillPerSecond: 20 },
};

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A token bucket: `take()` resolves when a token is available. */
export class TokenBucket {
  readonly #burst: number;
  readonly #refillPerMs: number;
  readonly #now: () => number;
  #tokens: number;
  #last: number;
  #queue: Promise<void> = Promise.resolve();

  constructor(limit: BucketLimit, now: () => number = () => performance.now()) {
    if (!(limit.burst >= 1) || !(limit.refillPerSecond > 0)) {
      throw new RangeError(
        `token bucket needs burst >= 1 and refillPerSecond > 0, got ${JSON.stringify(limit)}`,
      );
    }
    this.#burst = limit.burst;
    this.#refillPerMs = limit.refillPerSecond / 1000;
    this.#now = now;
    this.#tokens = limit.burst;
    this.#last = now();
  }

  /** Tokens available now (fractional). */
  get available(): number {
    this.#refill();
    return this.#tokens;
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#last) * this.#refillPerMs);
    this.#last = now;
  }

  /** Waits (first come, first served) until a token is free and takes it. */
  take(signal?: AbortSignal): Promise<void> {
    const turn = this.#queue.then(async () => {
      for (;;) {
        signal?.throwIfAborted();
        this.#refill();
        if (this.#tokens >= 1) {
          this.#tokens -= 1;
          return;
        }
        const waitMs = Math.ceil((1 - this.#tokens) / this.#refillPerMs);
        await sleep(waitMs, signal);
      }
    });
    this.#queue = turn.catch(() => {});
    return turn;
  }
}

/** One bucket per name, limits overridable. */
export function createBuckets(
  overrides: Partial<Record<BucketName, BucketLimit>> = {},
): Record<BucketName, TokenBucket> {
  const out = {} as Record<BucketName, TokenBucket>;
  for (const name of Object.keys(EC2_RATE_LIMITS) as BucketName[]) {
    out[name] = new TokenBucket(overrides[name] ?? EC2_RATE_LIMITS[name]);
  }
  return out;
}
