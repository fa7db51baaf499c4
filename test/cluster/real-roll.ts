/**
 * @module
 * The real-node box's part in a rolling replacement of gateway nodes (test/e2e/rolling.ts), as a managed
 * node-pool upgrade does it on a kubelet:
 *
 * ```
 * drain:   kubectl drain <node> --ignore-daemonsets (cordons, evicts what is not a DaemonSet's)
 * remove:  power cut (NIC, kubelet, containerd, shims, pods) ─► kubectl delete node
 * replace: NIC up, containerd and kubelet boot ─► the kubelet registers a new Node (its labels and
 *          providerID from its own configuration) ─► its agent Pod Ready ─► the gateway's status has it ready
 * ```
 */
import { type RollTarget, waitForGatewayNodeReady } from '../e2e/rolling.ts';
import type { RealBox } from './real-box.ts';

/** How long `kubectl drain` may take on a gateway node (it has only DaemonSet Pods). */
const DRAIN_TIMEOUT = '50s';

/** The real-node box as a {@link RollTarget}. */
export function realBoxRoll(box: RealBox): RollTarget {
  return {
    net: box.net,
    kube: box.kube,
    drain: async (name) => {
      await box.kubectl([
        'drain',
        name,
        '--ignore-daemonsets',
        '--delete-emptydir-data',
        `--timeout=${DRAIN_TIMEOUT}`,
      ]);
    },
    removeNode: async (name) => {
      await box.killNode(name);
      await box.kubectl(['delete', 'node', name, '--wait=true']);
    },
    replaceNode: async (name, gateway, timeoutMs) => {
      await box.recoverNode(name);
      await waitForGatewayNodeReady(box.kube, name, gateway, timeoutMs);
    },
  };
}
