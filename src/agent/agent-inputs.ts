/**
 * @module
 * What the agent's decision (`desired-state.ts`) reads: this node, the policies with their assignments, every
 * node's address and zone, the pods on this node, namespace labels and the cluster's own CIDRs. Types only;
 * `k8s-inputs.ts` builds them from Kubernetes objects.
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
  /** A dedicated interface for egress IPs (default: `iface`), and the gateway its traffic leaves by. */
  readonly egress?: { readonly iface: string; readonly gateway: string };
}

/** Everything the decision reads. */
export interface AgentInputs {
  readonly node: NodeIdentity;
  readonly policies: readonly AnyEgressPolicy[];
  readonly nodes: readonly NodeAddress[];
  /** Pods on this node only. */
  readonly pods: readonly LocalPod[];
  /** Labels of every namespace, for ClusterEgressPolicy namespace selectors. */
  readonly namespaceLabels: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** Pod and service CIDRs: never sent through a gateway. */
  readonly clusterCidrs: readonly string[];
}
