/**
 * @module
 * The agent's test world as the agent benchmark uses it: the network-namespace lab (real nftables, VXLAN and
 * routes, its dataplanes and agent inputs), whether network namespaces can be used here, and the policy
 * builder. The deliberate public face of test/agent for code outside the suites.
 */
export { egressPolicy } from '../support/egress-policies.ts';
export { netnsUnavailable } from '../support/netns.ts';
export { EXTERNAL, NetnsLab } from './netns-lab.ts';
