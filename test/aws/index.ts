/**
 * @module
 * The AWS test world as the benchmarks use it: an EC2 client for LocalStack, VPCs, instances and their ENIs,
 * and the fault-injecting proxy that counts and perturbs EC2 calls. The deliberate public face of test/aws
 * for code outside the suites.
 */
export { startFaultProxy } from './fault-proxy.ts';
export {
  createDualStackSubnet,
  createVpc,
  freeIPsIn,
  holdersInVpc,
  resetEnis,
  runInstance,
  secondaryIPs,
  testEc2Client,
} from './world.ts';
