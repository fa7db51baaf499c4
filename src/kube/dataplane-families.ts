/**
 * @module
 * What the node agent's dataplane can carry, shared by the agent and the controller so that a status never
 * claims more than the agents do.
 */
import type { IpFamily } from '../net/ip.ts';

/**
 * Address families the node agent programs: IPv4 and IPv6 (src/agent/usable-ips.ts, src/agent/node-dataplane.ts;
 * docs/agent.md, "IPv6 and dual stack"). The controller hands out no egress IP of another family, and a policy
 * whose destinations are all of another family is not Ready; the scheduler takes the set as an input
 * (`SchedulerInput.families`), so the rule stays in force should a family be taken out.
 */
export const DATAPLANE_FAMILIES: ReadonlySet<IpFamily> = new Set<IpFamily>([4, 6]);
