/**
 * @module
 * The pure scheduler: allocation of IPs to policies and placement of IPs on gateway nodes.
 */
export { gatewaySlice } from './gateway-slice.ts';
export { IpPool } from './ip-pool.ts';
export { displayKey, REFUSALS } from './ownership.ts';
export { planChanges } from './plan-changes.ts';
export { type PoolOverlap, poolOverlaps } from './pool-overlaps.ts';
export { schedule } from './schedule.ts';
export { SubnetIndex } from './subnet-index.ts';
export type * from './types.ts';
