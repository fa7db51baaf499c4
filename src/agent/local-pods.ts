/**
 * @module
 * This node's pods as the pod informer's events leave them, with a log of which UIDs changed, so that the
 * decision after one event looks at one pod (`desired-cache.ts`) instead of the whole list.
 *
 * ```
 * event                                         pods by UID                  logged UIDs
 * set(key, pod), key new                        + pod                        pod's
 * set(key, pod), same UID, same steering input  keeps the old object         none
 * set(key, pod), same UID, other content        pod replaces it              pod's
 * set(key, pod), other UID (name reused)        - old pod, + pod             old's and pod's
 * set(key, undefined) | delete(key)             - the pod under key          its
 * replace(entries)                              each of the above, and a delete for every key not among them
 * log longer than max(1024, 2 x pods)           -                            dropped: a reader further back
 *                                                                            gets undefined and looks at all
 * ```
 *
 * Keys are the informer's (namespace/name): a pod deleted and created again under the same name arrives as
 * one update with a new UID. UIDs are unique in a cluster; were one set under two keys, the last set counts.
 */
import type { LocalPod, LocalPods } from './agent-inputs.ts';

/** Whether two pods steer alike: same namespace, IPs and labels (what selection and the pod maps read). */
export function sameSteeringInput(a: LocalPod, b: LocalPod): boolean {
  if (a.namespace !== b.namespace || a.ips.length !== b.ips.length) return false;
  if (a.ips.some((ip, i) => ip !== b.ips[i])) return false;
  const keys = Object.keys(a.labels);
  if (keys.length !== Object.keys(b.labels).length) return false;
  return keys.every((k) => Object.hasOwn(b.labels, k) && a.labels[k] === b.labels[k]);
}

/** The log is dropped beyond this many entries or twice the pods, whichever is more. */
const MIN_LOG = 1024;

/** See the module comment. */
export class LocalPodStore implements LocalPods {
  readonly #byKey = new Map<string, LocalPod>();
  readonly #byUid = new Map<string, LocalPod>();
  /** UIDs changed, oldest first; entry i is change number `#base + i + 1`. */
  #log: string[] = [];
  #base = 0;

  get size(): number {
    return this.#byUid.size;
  }

  get version(): number {
    return this.#base + this.#log.length;
  }

  [Symbol.iterator](): Iterator<LocalPod> {
    return this.#byUid.values();
  }

  get(uid: string): LocalPod | undefined {
    return this.#byUid.get(uid);
  }

  changedSince(version: number): ReadonlySet<string> | undefined {
    if (version < this.#base || version > this.version) return undefined;
    return new Set(this.#log.slice(version - this.#base));
  }

  /** The pod under `key` is `pod` now; undefined when it sends no pod-network traffic (any more). */
  set(key: string, pod: LocalPod | undefined): void {
    if (pod === undefined) {
      this.delete(key);
      return;
    }
    const old = this.#byKey.get(key);
    if (old && old.uid === pod.uid && sameSteeringInput(old, pod)) return;
    if (old && old.uid !== pod.uid) this.#forget(old);
    this.#byKey.set(key, pod);
    this.#byUid.set(pod.uid, pod);
    this.#changed(pod.uid);
  }

  /** The pod under `key` is gone. */
  delete(key: string): void {
    const old = this.#byKey.get(key);
    if (!old) return;
    this.#byKey.delete(key);
    this.#forget(old);
  }

  /** Makes the contents `entries` (key, pod or undefined), logging what differs: a relist, a resync. */
  replace(entries: Iterable<readonly [string, LocalPod | undefined]>): void {
    const keep = new Set<string>();
    for (const [key, pod] of entries) {
      this.set(key, pod);
      if (pod) keep.add(key);
    }
    for (const key of [...this.#byKey.keys()]) if (!keep.has(key)) this.delete(key);
  }

  #forget(pod: LocalPod): void {
    if (this.#byUid.get(pod.uid) !== pod) return; // set again under another key since
    this.#byUid.delete(pod.uid);
    this.#changed(pod.uid);
  }

  #changed(uid: string): void {
    this.#log.push(uid);
    if (this.#log.length > Math.max(MIN_LOG, 2 * this.#byUid.size)) {
      this.#base += this.#log.length;
      this.#log = [];
    }
  }
}
