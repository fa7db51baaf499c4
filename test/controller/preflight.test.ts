/**
 * @module
 * The gateway's Preflight condition against a real kube-apiserver: fed by the provider's preflight checks,
 * run at most once per interval (not on every reconcile), again when the gateway's generation changes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { CONDITION, REASON } from '../../src/api/conditions.ts';
import type { CloudProvider } from '../../src/provider/contract.ts';
import { useControlPlane } from '../harness/vitest.ts';
import { patchCustomObject } from '../support/custom-objects.ts';
import { eventually } from '../support/eventually.ts';
import { ControllerWorld, testSettings } from './world.ts';

const kube = useControlPlane();
let world: ControllerWorld;
beforeEach(() => {
  world = new ControllerWorld(kube.controlPlane.kubeConfig, kube.namespace);
});
afterEach(async () => world.close());

it('shows the failed checks with their fixes, reruns only when due or the gateway changed, then passes', async () => {
  await world.addNode({ name: 'a1', zone: 'zone-a', subnet: '10.1.1.0/24', primaryIP: '10.1.1.10' });
  const gw = await world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.103'], namespaceSelector: {} });
  let calls = 0;
  let granted = false;
  const withChecks = (inner: CloudProvider): CloudProvider => ({
    name: inner.name,
    capabilities: inner.capabilities,
    describeNode: (node, signal) => inner.describeNode(node, signal),
    listAssignments: (nodes, signal) => inner.listAssignments(nodes, signal),
    apply: (plan, signal) => inner.apply(plan, signal),
    preflight: async (nodes) => {
      calls++;
      return [
        {
          check: 'permission Example/write',
          node: nodes[0]!.name,
          ok: granted,
          message: granted ? 'held' : 'the identity lacks Example/write',
          ...(granted ? {} : { fix: 'grant Example/write' }),
        },
      ];
    },
  });
  await world.startController({
    settings: testSettings({ resyncPeriodMs: 1_000, preflightIntervalMs: 3_600_000 }),
    wrap: withChecks,
  });
  const preflight = async (status: 'True' | 'False') =>
    eventually(`Preflight ${status}`, async () =>
      (await world.getGateway(gw)).status?.conditions?.find(
        (c) => c.type === CONDITION.Preflight && c.status === status,
      ),
    );
  const failed = await preflight('False');
  expect(failed.reason).toBe(REASON.PreflightFailed);
  expect(failed.message).toContain(
    `${world.node('a1')}: permission Example/write: the identity lacks Example/write (fix: grant Example/write)`,
  );
  await sleep(2_500); // two resyncs: the gateway is reconciled again, the checks are not
  expect(calls).toBe(1);

  granted = true;
  await patchCustomObject(
    world.custom,
    { kind: 'EgressGateway', name: gw },
    { spec: { ips: ['10.1.1.100-10.1.1.104'] } },
  );
  const passed = await preflight('True');
  expect(passed.reason).toBe(REASON.PreflightPassed);
  expect(calls).toBe(2);
});
