/**
 * @module
 * The agent's test world as the agent benchmark uses it: the network-namespace lab (real nftables, VXLAN and
 * routes), whether network namespaces can be used here, and a builder of the agent's policies. The deliberate public
 * face of test/agent for code outside the suites.
 */

export { egressPolicy } from '../support/egress-policies.ts';
export { netnsUnavailable } from '../support/netns.ts';
export { EXTERNAL, NetnsLab, netnsSysctl } from './netns-lab.ts';
