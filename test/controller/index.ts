/**
 * @module
 * The controller's test world as the benchmarks use it: a real kube-apiserver (test/harness), the controller
 * wired to it, its test settings and the polling helper, and the object builders a benchmark's own world is
 * made of. The deliberate public face of test/controller for code outside the suites.
 */
export { type ControlPlane, startControlPlane } from '../harness/control-plane.ts';
export { createBoundPod } from '../support/bound-pods.ts';
export { createCustomObject, patchCustomObject } from '../support/custom-objects.ts';
export { egressGateway } from '../support/egress-gateways.ts';
export { egressPolicy } from '../support/egress-policies.ts';
export { eventually } from '../support/eventually.ts';
export { createNode, setNodeReady } from '../support/nodes.ts';
export { ControllerWorld, testSettings } from './world.ts';
