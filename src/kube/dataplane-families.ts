/**
 * @module
 * What the node agent's dataplane can carry, shared by the agent and the controller so that a status never
 * claims more than the agents do.
 */
import type { IpFamily } from '../net/ip.ts';

/**
 * Address families the node agent programs: IPv4 only (src/agent/usable-ips.ts skips IPv6 egress IPs and
 * src/agent/node-dataplane.ts steers only IPv4 destinations). The controller hands out no egress IP of another
 * family, and a policy whose destinations are all of another family is not Ready.
 */
export const DATAPLANE_FAMILIES: ReadonlySet<IpFamily> = new Set<IpFamily>([4]);
