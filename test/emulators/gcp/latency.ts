/**
 * @module
 * How long Compute Engine takes, for an emulator that answers in GCP's time instead of at once: every answer's
 * round trip, how long a zonal operation runs before it is DONE (whether it is polled or not), and how long one
 * `zoneOperations.wait` blocks at most. {@link GCP_PUBLISHED_LATENCY} is GCP's own timing as far as it is
 * published; figures measured with it are modelled, not GCP's.
 */

/** The time the emulator takes to answer (see the module comment). */
export interface GcpLatency {
  /** Added to every answer: the control plane's round trip, in ms. */
  readonly requestMs: number;
  /** How long an `updateNetworkInterface` operation runs before it is DONE, in ms. */
  readonly operationMs: number;
  /** The longest one `zoneOperations.wait` blocks before it answers RUNNING, in ms. */
  readonly waitMs: number;
}

/**
 * GCP's published timing, the emulator's modelled latency:
 *
 * | what                 | ms      | source                                                                  |
 * |----------------------|---------|-------------------------------------------------------------------------|
 * | a call's round trip  | 300     | `instances.get` measured at 282–770 ms, most near 300 ms, by the GCE    |
 * |                      |         | cloud CIDR allocator (kubernetes/kubernetes#52285)                      |
 * | one zonal operation  | 15,000  | F5's Cloud Failover Extension moves 10 alias IPs in 30 s on GCP (docs/  |
 * |                      |         | userguide/performance-sizing.rst): a removal, then an addition, waited  |
 * |                      |         | on in turn, so about 15 s each; Google states that moving an alias IP   |
 * |                      |         | range to another VM "might take up to a minute" (VPC docs, Configure    |
 * |                      |         | alias IP ranges, limitations)                                           |
 * | longest wait         | 120,000 | `zoneOperations.wait` "waits for no more than the 2 minutes" (REST      |
 * |                      |         | reference)                                                              |
 */
export const GCP_PUBLISHED_LATENCY: GcpLatency = { requestMs: 300, operationMs: 15_000, waitMs: 120_000 };
