/**
 * @module
 * Rendezvous (highest-random-weight) hashing: each pod is pinned to the egress IP with the highest
 * `hash(pod, ip)`. When an IP disappears, only the pods that were on it move (each to its own next best);
 * when one appears, it takes about `1/n` of the pods and nobody else moves. No ring, no shared state: every
 * node computes the same answer from the same inputs.
 */
import { createHash } from 'node:crypto';

/** The weight of `candidate` for `key`: the first 8 bytes of SHA-256 over both. */
export function rendezvousWeight(key: string, candidate: string): bigint {
  return createHash('sha256').update(key).update('\u0000').update(candidate).digest().readBigUInt64BE(0);
}

/** The candidate with the highest weight for `key` (ties broken by the candidate text); undefined if none. */
export function pickRendezvous(key: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = -1n;
  for (const c of candidates) {
    const w = rendezvousWeight(key, c);
    if (w > bestWeight || (w === bestWeight && best !== undefined && c < best)) {
      best = c;
      bestWeight = w;
    }
  }
  return best;
}
