/**
 * @module
 * The policies' pod maps, kept from one decision to the next so that pod churn costs what changed, not what
 * is there: while the steering epoch stays the same (`steeringEpoch`: same policies, usable IPs, mark ids and
 * namespace labels), only pods that are new, changed or gone are steered again, the maps are updated in
 * place, and the element changes against the previous decision travel with the result (the planner uses
 * them when the kernel is known to match that decision). Given {@link LocalPods} (the agent's store, fed by
 * the pod informer's events), the cache asks it which UIDs changed since the version it last saw and looks
 * at those alone; given a list, it passes over the list.
 *
 * ```
 * epoch changed, or no previous decision  -> start over: every pod steered into fresh maps, no delta
 * the same LocalPods, changes known       -> only its changed UIDs are looked at (no pass over the pods)
 * a list, other LocalPods, or changes     -> every pod is looked at (mark and sweep)
 *   no longer known
 * pod UID not cached                      -> steer it, add its elements
 * same UID, same object or same content   -> keep its verdicts (content compared only for a new object)
 * same UID, other content                 -> remove its old elements, add the new ones
 * same UID twice in one list              -> the first wins
 * cached UID not among the pods           -> remove its elements
 * removals before additions: a pod replaced by another with the same IP ends up present;
 * an element removed and added back with the same value is no change
 * ```
 *
 * It also keeps the cluster set's elements ({@link DesiredCache.clusterSet}): the same cluster CIDRs and node
 * IPs as last time give the same map, without merging them again.
 */
import type { LocalPod, LocalPods } from './agent-inputs.ts';
import type { DesiredDataplane } from './dataplane.ts';
import { sameSteeringInput } from './local-pods.ts';
import { clusterSetElements } from './node-dataplane.ts';
import type { PodVerdict } from './pod-steering.ts';

/** Element changes of one set since the previous decision. */
export interface SetDelta {
  readonly add: Map<string, string>;
  readonly remove: Map<string, string>;
}

/** The pod maps' element changes since `basis`, the decision they were updated in place from. */
export interface PodMapsDelta {
  readonly basis: DesiredDataplane;
  /** By pod-map name. */
  readonly sets: ReadonlyMap<string, SetDelta>;
}

/** The pod maps after one update, with their counts. */
export interface PodMaps {
  /** Per pod map, in the order of the map names given: pod IP -> verdict. Updated in place by the next call. */
  readonly maps: readonly Map<string, string>[];
  /** Local pods steered to an egress IP, by IP (IPs with pods only). */
  readonly podsByIp: ReadonlyMap<string, number>;
  /** Local pods whose policy has no usable IP. */
  readonly podsWithoutIp: number;
  /** Set when the maps were updated in place from the decision last {@link DesiredCache.remember}ed. */
  readonly delta?: PodMapsDelta;
}

/** A pod as last seen, with its verdicts. */
interface CachedPod {
  pod: LocalPod;
  readonly verdicts: readonly PodVerdict[];
  /** The update that last saw the pod in a pass over all pods (mark and sweep, no per-update map of them). */
  seen: number;
}

const isLocalPods = (pods: readonly LocalPod[] | LocalPods): pods is LocalPods => 'changedSince' in pods;

/**
 * Makes repeated decisions incremental (see the module comment). Pods are keyed by UID; an unchanged pod is
 * recognised by object identity (cheap) or by its content. One cache serves one sequence of decisions.
 */
export class DesiredCache {
  #epoch: string | undefined;
  #pods = new Map<string, CachedPod>();
  #maps: Map<string, string>[] = [];
  /** Local pods per egress IP. */
  #counts = new Map<string, number>();
  #podsWithoutIp = 0;
  #generation = 0;
  /** The previous decision, which the maps now extend. */
  #last: DesiredDataplane | undefined;
  /** The pods of the previous update when they were {@link LocalPods}, and their version then. */
  #source: { readonly pods: LocalPods; readonly version: number } | undefined;
  #clusterSet: { readonly key: string; readonly elements: Map<string, string> } | undefined;

  /** Forgets everything; the next decision starts from scratch. */
  reset(): void {
    this.#epoch = undefined;
    this.#pods = new Map();
    this.#maps = [];
    this.#counts = new Map();
    this.#podsWithoutIp = 0;
    this.#last = undefined;
    this.#source = undefined;
  }

  /**
   * Brings the pod maps in line with `pods` (see the module comment for when it looks at them all). `mapNames` names the pod maps (two per policy, first-match order:
   * `podMapIndex`); `steer` gives a pod's verdicts, whose `map` indexes `mapNames`. Both must stay the same while
   * `epoch` does.
   */
  update(
    epoch: string,
    mapNames: readonly string[],
    pods: readonly LocalPod[] | LocalPods,
    steer: (pod: LocalPod) => readonly PodVerdict[],
  ): PodMaps {
    const incremental =
      this.#epoch === epoch && this.#last !== undefined && this.#maps.length === mapNames.length;
    if (!incremental) {
      this.reset();
      this.#epoch = epoch;
      this.#maps = mapNames.map(() => new Map<string, string>());
    }
    const basis = this.#last;
    const deltas = new Map<string, SetDelta>();
    const deltaOf = (index: number) => {
      const name = mapNames[index]!;
      const d = deltas.get(name) ?? { add: new Map<string, string>(), remove: new Map<string, string>() };
      deltas.set(name, d);
      return d;
    };
    const apply = (verdicts: readonly PodVerdict[], add: boolean) => {
      for (const v of verdicts) {
        const map = this.#maps[v.map]!;
        if (v.egressIp === undefined) this.#podsWithoutIp += add ? 1 : -1;
        else this.#counts.set(v.egressIp, (this.#counts.get(v.egressIp) ?? 0) + (add ? 1 : -1));
        const d = deltaOf(v.map);
        for (const podIp of v.podIps) {
          if (add) {
            map.set(podIp, v.verdict);
            d.add.set(podIp, v.verdict);
          } else if (map.get(podIp) === v.verdict) {
            map.delete(podIp);
            d.remove.set(podIp, v.verdict);
          }
        }
      }
    };
    const generation = ++this.#generation;
    const gone: (readonly PodVerdict[])[] = [];
    const added: (readonly PodVerdict[])[] = [];
    /** Looks at one pod that is there; true when its cached verdicts stand. */
    const look = (pod: LocalPod, known: CachedPod | undefined): boolean => {
      if (known && (known.pod === pod || sameSteeringInput(known.pod, pod))) {
        known.pod = pod;
        known.seen = generation;
        return true;
      }
      const verdicts = steer(pod);
      this.#pods.set(pod.uid, { pod, verdicts, seen: generation });
      if (known) gone.push(known.verdicts);
      added.push(verdicts);
      return false;
    };
    const source = isLocalPods(pods) ? pods : undefined;
    const changed =
      incremental && source && this.#source?.pods === source
        ? source.changedSince(this.#source.version)
        : undefined;
    if (source && changed) {
      for (const uid of changed) {
        const pod = source.get(uid);
        const known = this.#pods.get(uid);
        if (pod) look(pod, known);
        else if (known) {
          gone.push(known.verdicts);
          this.#pods.delete(uid);
        }
      }
    } else {
      let seenCount = 0;
      for (const pod of pods) {
        const known = this.#pods.get(pod.uid);
        if (known?.seen === generation) continue; // the same UID twice: the first wins
        if (look(pod, known)) seenCount++;
      }
      // Sweep only when some cached pod was not seen (the count tells without a second pass).
      if (this.#pods.size > seenCount + added.length) {
        for (const [uid, known] of this.#pods) {
          if (known.seen !== generation) {
            gone.push(known.verdicts);
            this.#pods.delete(uid);
          }
        }
      }
    }
    this.#source = source ? { pods: source, version: source.version } : undefined;
    // Gone pods first, so that a pod replaced by another with the same IP ends up present.
    for (const verdicts of gone) apply(verdicts, false);
    for (const verdicts of added) apply(verdicts, true);
    // An IP removed and added back with the same verdict is no change.
    for (const d of deltas.values()) {
      for (const [ip, verdict] of d.remove) {
        if (d.add.get(ip) === verdict) {
          d.add.delete(ip);
          d.remove.delete(ip);
        }
      }
    }
    const podsByIp = new Map<string, number>();
    for (const [ip, n] of this.#counts) if (n > 0) podsByIp.set(ip, n);
    return {
      maps: this.#maps,
      podsByIp,
      podsWithoutIp: this.#podsWithoutIp,
      ...(incremental && basis ? { delta: { basis, sets: deltas } } : {}),
    };
  }

  /**
   * The cluster set's elements for `cidrs` and `nodeIps` ({@link clusterSetElements}): the map of the previous
   * call when both are the same (compared as text, which costs far less than merging them), else a new one.
   * Not forgotten by {@link reset}: it depends on nothing else.
   */
  clusterSet(cidrs: readonly string[], nodeIps: readonly string[]): Map<string, string> {
    const key = `${cidrs.join(',')}|${nodeIps.join(',')}`;
    if (this.#clusterSet?.key !== key)
      this.#clusterSet = { key, elements: clusterSetElements(cidrs, nodeIps) };
    return this.#clusterSet.elements;
  }

  /** Records the decision built on the maps of the last {@link update}: the basis of the next delta. */
  remember(desired: DesiredDataplane): void {
    this.#last = desired;
  }
}
