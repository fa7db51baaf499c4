/**
 * @module
 * Pure: whether a Node is on its way out on purpose, read from the signals the tools that take nodes away
 * write (written exactly as those tools write them):
 *
 * | signal (as written)                                         | by                                | kind      | effect |
 * |-------------------------------------------------------------|-----------------------------------|-----------|--------|
 * | `spec.unschedulable: true`                                  | `kubectl cordon` / `drain`, EKS,  | cordoned  | leaving|
 * |                                                             | GKE and AKS node-pool upgrades    |           |        |
 * | taint `node.kubernetes.io/unschedulable:NoSchedule`         | node lifecycle controller, for a  | cordoned  | leaving|
 * |                                                             | cordoned node                     |           |        |
 * | taint `ToBeDeletedByClusterAutoscaler=<unix time>:NoSchedule`| Cluster Autoscaler, scale-down   | autoscaler| leaving|
 * | taint `DeletionCandidateOfClusterAutoscaler=<unix time>:     | Cluster Autoscaler, node unneeded | candidate | avoid  |
 * | PreferNoSchedule`                                           | (may be kept after all)           |           |        |
 * | taint `karpenter.sh/disrupted:NoSchedule`                   | Karpenter v1 (consolidation,      | karpenter | leaving|
 * |                                                             | drift, expiry)                    |           |        |
 * | taint `karpenter.sh/disruption=disrupting:NoSchedule`       | Karpenter before v1               | karpenter | leaving|
 * | taint `node.cloudprovider.kubernetes.io/shutdown`,          | cloud node controller, operator   | shutdown  | leaving|
 * | `node.kubernetes.io/out-of-service`                         | (node shut down)                  |           |        |
 * | `metadata.deletionTimestamp` set                            | the Node is being deleted         | deleting  | leaving|
 * | annotation `cloudegress.io/maintenance` (not `false`)       | an operator, by hand              | maintenance| leaving|
 *
 * leaving: no new egress IPs; its IPs move make-before-break to the gateway's other healthy nodes (those
 *          with room; the rest stay, and the status says why); an agent restart there gets no grace
 * avoid:   no new egress IPs while another eligible node has room; nothing moves. The Cluster Autoscaler
 *          marks a node a candidate as soon as it looks unneeded and clears the mark when it is needed again,
 *          so moving IPs (and cutting their connections' NAT) for a candidate would churn for nodes that stay;
 *          the hard `ToBeDeletedByClusterAutoscaler` follows before the node goes, and that one moves them.
 *
 * A hard signal wins over a soft one; the first hard signal in the table's order names the kind.
 */
import type { V1Node, V1Taint } from '@kubernetes/client-node';
import { NODE_MAINTENANCE } from '../api/annotations.ts';

/** What the Node's signals say. */
export interface NodeDisruption {
  /** Which signal (see the module table). */
  readonly kind:
    | 'cordoned'
    | 'autoscaler'
    | 'candidate'
    | 'karpenter'
    | 'shutdown'
    | 'deleting'
    | 'maintenance';
  /** `leaving`: the node goes (a drain); `avoid`: it may go (no new IPs while others have room). */
  readonly effect: 'leaving' | 'avoid';
  /** For the user: the signal as seen, e.g. `taint karpenter.sh/disrupted:NoSchedule`. */
  readonly signal: string;
}

/** Taints that mark a Node as leaving, with the kind they name. */
export const LEAVING_TAINTS: ReadonlyMap<string, NodeDisruption['kind']> = new Map([
  ['node.kubernetes.io/unschedulable', 'cordoned'],
  ['ToBeDeletedByClusterAutoscaler', 'autoscaler'],
  ['karpenter.sh/disrupted', 'karpenter'],
  ['node.cloudprovider.kubernetes.io/shutdown', 'shutdown'],
  ['node.kubernetes.io/out-of-service', 'shutdown'],
]);

/** Karpenter before v1: `karpenter.sh/disruption=disrupting:NoSchedule`. */
const KARPENTER_BETA = { key: 'karpenter.sh/disruption', value: 'disrupting' } as const;
/** The Cluster Autoscaler's soft mark of an unneeded node. */
const CA_CANDIDATE = 'DeletionCandidateOfClusterAutoscaler';

/** Every taint key and annotation this module reads (docs/maintenance.md lists each; a test checks). */
export const DISRUPTION_KEYS: readonly string[] = [
  ...LEAVING_TAINTS.keys(),
  KARPENTER_BETA.key,
  CA_CANDIDATE,
  NODE_MAINTENANCE,
];

const taintText = (t: V1Taint): string => `taint ${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`;

/** What `node`'s signals say, or undefined when nothing marks it; see the module table. */
export function nodeDisruption(node: V1Node): NodeDisruption | undefined {
  if (node.metadata?.deletionTimestamp)
    return { kind: 'deleting', effect: 'leaving', signal: 'the Node is being deleted' };
  if (node.spec?.unschedulable === true)
    return { kind: 'cordoned', effect: 'leaving', signal: 'spec.unschedulable (cordoned)' };
  const taints = node.spec?.taints ?? [];
  for (const t of taints) {
    const kind = LEAVING_TAINTS.get(t.key);
    if (kind) return { kind, effect: 'leaving', signal: taintText(t) };
    if (t.key === KARPENTER_BETA.key && t.value === KARPENTER_BETA.value)
      return { kind: 'karpenter', effect: 'leaving', signal: taintText(t) };
  }
  const maintenance = node.metadata?.annotations?.[NODE_MAINTENANCE];
  if (maintenance !== undefined && maintenance !== 'false')
    return {
      kind: 'maintenance',
      effect: 'leaving',
      signal: `annotation ${NODE_MAINTENANCE}${maintenance ? `=${maintenance}` : ''}`,
    };
  const candidate = taints.find((t) => t.key === CA_CANDIDATE);
  if (candidate) return { kind: 'candidate', effect: 'avoid', signal: taintText(candidate) };
  return undefined;
}

/** The Node is leaving (a hard signal of {@link nodeDisruption}). */
export function nodeLeaving(node: V1Node): boolean {
  return nodeDisruption(node)?.effect === 'leaving';
}
