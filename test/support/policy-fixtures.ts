/**
 * @module
 * Builders of the agent's inputs: policies with assignments, nodes, local pods. Used by the agent's unit tests
 * (src/agent/*.test.ts) and the agent benchmark.
 */
import type { AgentInputs, LocalPod } from '../../src/agent/agent-inputs.ts';
import type { ClusterEgressPolicy, EgressPolicy, IpAssignmentStatus } from '../../src/api/index.ts';

/** An EgressPolicy in namespace `shop` selecting `app=api`, with the given assignments. */
export function egressPolicy(
  assignments: IpAssignmentStatus[],
  spec: Partial<EgressPolicy['spec']> = {},
  name = 'to-partner',
): EgressPolicy {
  return {
    apiVersion: 'cloudegress.io/v1alpha1',
    kind: 'EgressPolicy',
    metadata: { name, namespace: 'shop', creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { gatewayName: 'prod', podSelector: { matchLabels: { app: 'api' } }, ...spec },
    status: { assignments },
  };
}

/** A ClusterEgressPolicy selecting `app=api` in namespaces labelled `team=pay`. */
export function clusterPolicy(assignments: IpAssignmentStatus[]): ClusterEgressPolicy {
  return {
    apiVersion: 'cloudegress.io/v1alpha1',
    kind: 'ClusterEgressPolicy',
    metadata: { name: 'all-pay', creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: {
      gatewayName: 'prod',
      podSelector: { matchLabels: { app: 'api' } },
      namespaceSelector: { matchLabels: { team: 'pay' } },
    },
    status: { assignments },
  };
}

/** A pod with one IP. */
export function pod(
  name: string,
  ip: string,
  labels: Record<string, string> = { app: 'api' },
  namespace = 'shop',
): LocalPod {
  return { uid: `uid-${namespace}-${name}`, namespace, name, ips: [ip], labels };
}

/** Inputs of node `node-1` (10.0.0.1) in a three-node cluster. */
export function inputs(over: Partial<AgentInputs> = {}, nodeName = 'node-1'): AgentInputs {
  const nodes = [
    { name: 'node-1', ip: '10.0.0.1', zone: 'a' },
    { name: 'node-2', ip: '10.0.0.2', zone: 'a' },
    { name: 'node-3', ip: '10.0.0.3', zone: 'b' },
  ];
  const me = nodes.find((n) => n.name === nodeName)!;
  return {
    node: { name: me.name, ip: me.ip, iface: 'eth0', mtu: 9001 },
    policies: [],
    nodes,
    pods: [],
    namespaceLabels: new Map<string, Record<string, string>>([
      ['shop', { team: 'pay' }],
      ['lab', {}],
    ]),
    clusterCidrs: ['10.244.0.0/16', '10.96.0.0/12'],
    ...over,
  };
}
