/**
 * @module
 * Vitest wiring for the control plane: one control plane per test file (started in `beforeAll`, stopped in
 * `afterAll` whatever the tests did), and a fresh namespace per test.
 *
 * ```ts
 * const kube = useControlPlane();
 * test('creates a policy', async () => {
 *   const api = kube.controlPlane.kubeConfig.makeApiClient(CustomObjectsApi);
 *   await api.createNamespacedCustomObject({ namespace: kube.namespace, ... });
 * });
 * ```
 */
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { type ControlPlane, type ControlPlaneOptions, startControlPlane } from './control-plane.ts';

/** What {@link useControlPlane} hands to the tests of a file. */
export interface ControlPlaneFixture {
  /** The file's control plane (available from `beforeAll` on). */
  readonly controlPlane: ControlPlane;
  /** The current test's own namespace (created in `beforeEach`). */
  readonly namespace: string;
}

/** Options of {@link useControlPlane}. */
export interface UseControlPlaneOptions extends ControlPlaneOptions {
  /** Create a namespace before each test. Default true. */
  readonly namespacePerTest?: boolean;
  /** Prefix of the per-test namespaces. Default `test`. */
  readonly namespacePrefix?: string;
}

/**
 * Registers hooks that start a control plane for this test file and stop it afterwards, and (by default)
 * create a fresh namespace before every test. Call at the top level of a test file or `describe` block.
 */
export function useControlPlane(options: UseControlPlaneOptions = {}): ControlPlaneFixture {
  let controlPlane: ControlPlane | undefined;
  let namespace: string | undefined;
  beforeAll(async () => {
    controlPlane = await startControlPlane(options);
  });
  afterAll(async () => {
    await controlPlane?.stop();
  });
  if (options.namespacePerTest !== false) {
    beforeEach(async () => {
      namespace = await controlPlane?.newNamespace(options.namespacePrefix);
    });
  }
  return {
    get controlPlane(): ControlPlane {
      if (!controlPlane) throw new Error('the control plane is not running (use it inside tests or hooks)');
      return controlPlane;
    },
    get namespace(): string {
      if (!namespace) throw new Error('no namespace yet (namespacePerTest is off, or used outside a test)');
      return namespace;
    },
  };
}
