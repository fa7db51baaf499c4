/**
 * @module
 * The controller's test world as the benchmarks use it: a real kube-apiserver (test/harness), the controller
 * wired to it, its test settings and the polling helper. The deliberate public face of test/controller for
 * code outside the suites.
 */
export { type ControlPlane, startControlPlane } from '../harness/control-plane.ts';
export { eventually } from '../support/eventually.ts';
export { ControllerWorld, testSettings } from './world.ts';
