/**
 * @module
 * What the agent's decision (`desired-state.ts`) reads: this node, the policies with their assignments, every
 * node's address and zone, the pods on this node, namespace labels and the cluster's own CIDRs. Types only;
 * `k8s-inputs.ts` builds them from Kubernetes objects, `local-pods.ts` keeps the pods as the informer's
 * events change them.
 */
import type { AnyEgressPolicy } from '../api/index.ts';

/** A pod running on this node, as the agent needs it. */
export interface LocalPod {
  /** Pod UID: the rendezvous key (stable for the pod's life). */
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  /** Pod IPs (IPv4 ones are programmed). */
  readonly ips: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * The pods on this node as a collection that also says which of them changed since an earlier version, so
 * that a decision after one pod event looks at that pod alone (see `desired-cache.ts`).
 */
export interface LocalPods extends Iterable<LocalPod> {
  /** Number of pods (each UID once). */
  readonly size: number;
  /** The pod with this UID, if it is here. */
  get(uid: string): LocalPod | undefined;
  /** Grows with every change. */
  readonly version: number;
  /**
   * UIDs of the pods added, changed or removed after `version`, each once; undefined when that is no longer
   * known (the caller then looks at every pod).
   */
  changedSince(version: number): ReadonlySet<string> | undefined;
}

/** A node's internal IP and zone. */
export interface NodeAddress {
  readonly name: string;
  readonly ip: string;
  readonly zone?: string;
}

/** This node. */
export interface NodeIdentity {
  readonly name: string;
  readonly ip: string;
  /** Interface that holds the node IP and, on a gateway, its egress IPs. */
  readonly iface: string;
  /** MTU of that interface. */
  readonly mtu: number;
  /**
   * A dedicated interface for egress IPs (default: `iface`), and the gateway its traffic leaves by; `gateway6`
   * the IPv6 one (the kernel's IPv6 default route on the interface), without which IPv6 egress IPs there are
   * not routed by the interface (docs/agent.md, "IPv6 and dual stack").
   */
  readonly egress?: { readonly iface: string; readonly gateway: string; readonly gateway6?: string };
}

/** Everything the decision reads. */
export interface AgentInputs {
  readonly node: NodeIdentity;
  readonly policies: readonly AnyEgressPolicy[];
  readonly nodes: readonly NodeAddress[];
  /** Pods on this node only: a list (the first of two with the same UID counts), or {@link LocalPods}. */
  readonly pods: readonly LocalPod[] | LocalPods;
  /** Labels of every namespace, for ClusterEgressPolicy namespace selectors. */
  readonly namespaceLabels: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** Pod and service CIDRs: never sent through a gateway. */
  readonly clusterCidrs: readonly string[];
}
