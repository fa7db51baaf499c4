/**
 * A status decided from a spec that changed while the pass ran is not written: the user's edit wins, and the
 * next pass decides again from it. On a real kube-apiserver with the in-memory cloud; the pass is held in its
 * cloud call (interceptApply) while the policy is moved to another gateway, as a slow or lying cloud holds it.
 * Found by the model-based test (test/model, seed 1, path 8: a late write kept a pass in flight across the
 * edit).
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { useControlPlane } from '../harness/vitest.ts';
import { eventually } from '../support/eventually.ts';
import { ControllerWorld, interceptApply } from './world.ts';

const kube = useControlPlane();
let world: ControllerWorld;

beforeEach(async () => {
  world = new ControllerWorld(kube.controlPlane.kubeConfig, kube.namespace);
  for (const [i, name] of ['a1', 'a2'].entries()) {
    await world.addNode({ name, zone: 'zone-a', subnet: '10.1.1.0/24', primaryIP: `10.1.1.${10 + i}` });
  }
});
afterEach(async () => {
  await world.close();
});

/** A controller whose first apply waits for `open()`; `called` resolves when that apply arrives. */
async function heldController() {
  let open: () => void = () => {};
  let arrived: () => void = () => {};
  const called = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let first = true;
  await world.startController({
    wrap: interceptApply(async (plan, signal, inner) => {
      if (first) {
        first = false;
        arrived();
        await gate;
      }
      return inner.apply(plan, signal);
    }),
  });
  return { called, open };
}

it('a policy moved to a gateway that does not exist while its pass is in the cloud: its IPs are released and its status names none', async () => {
  const gw = await world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.109'], namespaceSelector: {} });
  const held = await heldController();
  await world.createPolicy('p', { gatewayName: gw, count: 2 });
  await held.called;
  await world.patchPolicySpec('p', { gatewayName: `${gw}-missing` });
  await eventually('GatewayNotFound on the moved policy', async () => {
    const p = await world.getPolicy('p');
    return p?.status?.conditions?.some((c) => c.reason === 'GatewayNotFound') ? p : undefined;
  });
  held.open();

  const settled = await eventually(
    'the cloud holds nothing and the status names no IP',
    async () => {
      const p = await world.getPolicy('p');
      const named = (p?.status?.assignments ?? []).filter((a) => a.ip);
      return world.cloudPlacement().size === 0 && named.length === 0 ? p : undefined;
    },
    { timeoutMs: 10_000 },
  );
  expect(settled.status?.conditions?.find((c) => c.type === 'Accepted')?.reason).toBe('GatewayNotFound');
});

it('a policy moved to another gateway while its pass is in the cloud: it ends with the new gateway’s IPs only, the old ones released', async () => {
  const gw = await world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.109'], namespaceSelector: {} });
  const other = await world.createGateway('other', { ips: ['10.1.1.120-10.1.1.129'], namespaceSelector: {} });
  const held = await heldController();
  await world.createPolicy('p', { gatewayName: gw, count: 2 });
  await held.called;
  await world.patchPolicySpec('p', { gatewayName: other });
  await eventually('the moved policy placed on the other gateway', async () => {
    const p = await world.getPolicy('p');
    const ips = (p?.status?.assignments ?? []).map((a) => a.ip ?? '');
    return ips.length === 2 && ips.every((ip) => ip.startsWith('10.1.1.12')) ? p : undefined;
  });
  held.open();

  await eventually(
    'two IPs of the other gateway Ready, as the cloud holds them, and none of the first',
    async () => {
      const a = (await world.getPolicy('p'))?.status?.assignments ?? [];
      const cloud = world.cloudPlacement();
      return a.length === 2 &&
        a.every((x) => x.state === 'Ready' && x.ip?.startsWith('10.1.1.12') && cloud.get(x.ip) === x.node) &&
        cloud.size === 2
        ? a
        : undefined;
    },
    { timeoutMs: 10_000 },
  );
});
