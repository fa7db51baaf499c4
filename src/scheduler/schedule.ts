/**
 * @module
 * The scheduler: a pure function from gateways, nodes, policies and the current placement to the
 * desired placement of every egress IP. Same input, same plan; no I/O, no clock, no randomness.
 *
 * ```
 *  policies ──► 1. allocate ──► (policy, ip) ──► 2. place ──► (ip, node) ──► 3. cloud allocations
 *               the owner of each   │                sticky first:
 *               claimed IP gets it, │                an IP stays on its node while the node is healthy,
 *               explicit IPs        │                in the gateway, in the IP's subnet and within limits;
 *               checked, then       │                the rest go to the eligible node with the fewest IPs
 *               fresh IPs spread    │                of the same policy (then zone, then gateway load)
 *               over subnets        ▼
 *                              Unplaced {reason, message} for what cannot be served
 * ```
 *
 * | situation                              | result                                       |
 * |----------------------------------------|----------------------------------------------|
 * | explicit IP not in the gateway's pool  | Unplaced IPOutsideGatewayPool                |
 * | explicit IP another policy owns        | Unplaced IPInUse naming the owner (the holder|
 * |                                        | keeps its IP, ownership.ts)                  |
 * | IP the cloud or a node keeps, or of a  | Unplaced IPReserved / IPv6NotSupported       |
 * | family the dataplane does not program  | (explicit IPs; count policies skip them)     |
 * | pool has no free IP for `count`        | Unplaced PoolExhausted                       |
 * | IP in no subnet of the gateway's nodes | Unplaced NoSubnet                            |
 * | no healthy node in the IP's subnet     | Unplaced NoEligibleNode                      |
 * | healthy nodes in the subnet all full   | Unplaced CapacityExceeded                    |
 * | node fails                             | only its IPs move                            |
 * | node leaving (cordon, drain, autoscaler| no new IPs; its IPs move to other healthy    |
 * | or Karpenter taint, deletion)          | nodes with room; the rest stay: `stranded`   |
 * | node avoided (autoscaler candidate)    | no new IPs while another node has room       |
 * | node recovers                          | nothing moves, unless the gateway has failback|
 */
import { allocate } from './allocate.ts';
import { cloudAllocations } from './cloud-allocations.ts';
import { place, rebalance } from './place.ts';
import { initialState } from './schedule-state.ts';
import type { SchedulePlan, SchedulerInput, Stranded, Unplaced } from './types.ts';

/** Computes the desired placement. See the module comment for the rules. */
export function schedule(input: SchedulerInput): SchedulePlan {
  const { gateways } = initialState(input);
  const unplaced: Unplaced[] = [];
  const stranded: Stranded[] = [];
  const allocated = allocate(input, gateways, unplaced);
  const placements = place(input, allocated, unplaced, stranded);
  rebalance(input, gateways, placements);
  const allocations = cloudAllocations(gateways);

  return { placements, unplaced, allocations, stranded };
}
