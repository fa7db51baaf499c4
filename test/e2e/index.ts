/**
 * @module
 * The cloud in a box, as code outside the suites drives it (`npm run demo`, scripts/demo.ts; the
 * `e2e-failover` benchmark): what the box needs on the machine, the box itself, its probes and the outage
 * arithmetic. The deliberate public face of test/e2e; the files behind it may change with the suites.
 */
export { ensureControlPlaneBinaries } from '../control-plane/binaries.ts';
export { netnsUnavailable } from '../support/netns.ts';
export {
  BOX_POLICY,
  type CloudBox,
  cliUnavailable,
  ProbeRun,
  startCloudBox,
} from './cloud-box.ts';
export { ECHO_URL, ECHO_URL6, INTERNET_ECHO_URL, type NetworkBox } from './network-box.ts';
export { isGood, outageWindows, type ProbeSample, summarize, unexpectedSources } from './outage.ts';
export {
  describeRoll,
  GATEWAY_NODES,
  processBoxRoll,
  ROLL_IPS,
  type RollMode,
  type RollOptions,
  type RollResult,
  type RollTarget,
  rollGatewayNodes,
  waitForGatewayNodeReady,
} from './rolling.ts';
export {
  type FailoverBox,
  killAndMeasure,
  type ProbeSamples,
  waitForHolder,
  waitForSteadyTraffic,
} from './scenario.ts';
export { namespacesWithPrefix } from './topology.ts';
