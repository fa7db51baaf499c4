/**
 * @module
 * The real-node box as code outside the suites drives it (`npm run demo`, scripts/demo.ts; the
 * `real-node-failover` benchmark): what it needs on the machine and the box itself. The deliberate public
 * face of test/cluster; the files behind it may change with the suites.
 */
export { ensureNodeBinaries } from '../control-plane/binaries.ts';
export { BOX_POLICY, type RealBox, startRealBox, startSettledRealBox } from './real-box.ts';
export { realBoxRoll } from './real-roll.ts';
export { realNodeUnavailable } from './requirements.ts';
