/**
 * @module
 * The controller's answer to a provider asking whether the Amazon VPC CNI runs (contract.ts `ClusterProbe`): the
 * aws-node pods listed (cluster-facts.ts `countAwsNodePods`), the answer kept for `ttlMs`:
 *
 * ```
 * vpcCni()  answer younger than ttlMs ─► it
 *           a list in flight           ─► its answer (callers share one list)
 *           else                       ─► list kube-system k8s-app=aws-node ─► pods > 0, kept with its time
 *                                                                          └► fails: thrown, nothing kept
 * ```
 *
 * Only the AWS provider asks, and only for a node resolved with the default ENI (providers/aws/egress-eni.ts);
 * a resolution is cached, so the list runs about once per interval while nodes are being resolved.
 */
import type { KubeLists } from '../kube/kube-api.ts';
import type { ClusterProbe } from '../provider/contract.ts';
import { countAwsNodePods } from './cluster-facts.ts';

/** A {@link ClusterProbe} over the API server's lists; `now` is injectable for tests. */
export function createVpcCniProbe(
  lists: Pick<KubeLists, 'agentPods'>,
  ttlMs: number,
  now: () => number = Date.now,
): ClusterProbe {
  let kept: { readonly at: number; readonly runs: boolean } | undefined;
  let inFlight: Promise<boolean> | undefined;
  return {
    vpcCni() {
      if (kept && now() - kept.at < ttlMs) return Promise.resolve(kept.runs);
      inFlight ??= countAwsNodePods(lists)
        .then((pods) => {
          kept = { at: now(), runs: pods > 0 };
          return kept.runs;
        })
        .finally(() => {
          inFlight = undefined;
        });
      return inFlight;
    },
  };
}
