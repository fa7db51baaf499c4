/**
 * @module
 * Rendezvous (highest-random-weight) hashing: each pod is pinned to the egress IP with the highest
 * `hash(pod, ip)`. When an IP disappears, only the pods that were on it move (each to its own next best);
 * when one appears, it takes about `1/n` of the pods and nobody else moves. No ring, no shared state: every
 * node computes the same answer from the same inputs.
 */
import { hash } from 'node:crypto';

/** The weight of `candidate` for `key`: the first 52 bits of SHA-256 over both. */
export function rendezvousWeight(key: string, candidate: string): number {
  return Number.parseInt(hash('sha256', `${key}\u0000${candidate}`, 'hex').slice(0, 13), 16);
}

/** The candidate with the highest weight for `key` (ties broken by the candidate text); undefined if none. */
export function pickRendezvous(key: string, candidates: readonly string[]): string | undefined {
  if (candidates.length <= 1) return candidates[0];
  let best: string | undefined;
  let bestWeight = -1;
  for (const c of candidates) {
    const w = rendezvousWeight(key, c);
    if (w > bestWeight || (w === bestWeight && best !== undefined && c < best)) {
      best = c;
      bestWeight = w;
    }
  }
  return best;
}
