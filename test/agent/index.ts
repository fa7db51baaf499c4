/**
 * @module
 * The agent's test world as the agent benchmark uses it: the network-namespace lab (real nftables, VXLAN and
 * routes), the commands it needs installed, and a builder of the agent's policies. The deliberate public
 * face of test/agent for code outside the suites.
 */
export { ensurePackages } from '../support/ensure-packages.ts';
export { egressPolicy } from '../support/policy-fixtures.ts';
export { EXTERNAL, NetnsLab, netnsAvailable, netnsSysctl } from './netns-lab.ts';
