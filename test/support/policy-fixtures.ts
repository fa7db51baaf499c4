/**
 * @module
 * Builders of the agent's inputs: nodes, local pods, and the short forms of the policy builders
 * (test/support/egress-policies.ts) that the agent's unit tests (src/agent/*.test.ts) call.
 */
import type { AgentInputs, LocalPod } from '../../src/agent/agent-inputs.ts';
import type { ClusterEgressPolicy, EgressPolicy, IpAssignmentStatus } from '../../src/api/index.ts';
import { egressPolicy as buildEgressPolicy, clusterEgressPolicy } from './egress-policies.ts';

/**
 * The agent unit tests' short form of {@link buildEgressPolicy}: policy `shop/<name>` selecting `app=api`,
 * with the given assignments. New code calls the options form.
 */
export function egressPolicy(
  assignments: IpAssignmentStatus[],
  spec: Partial<EgressPolicy['spec']> = {},
  name = 'to-partner',
): EgressPolicy {
  return buildEgressPolicy({ name, spec, assignments });
}

/**
 * The agent unit tests' short form of {@link clusterEgressPolicy}: `app=api` in namespaces labelled
 * `team=pay`, with the given assignments.
 */
export function clusterPolicy(assignments: IpAssignmentStatus[]): ClusterEgressPolicy {
  return clusterEgressPolicy({ assignments });
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
