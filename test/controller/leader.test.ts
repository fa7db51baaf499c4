/**
 * Two controller replicas against a real kube-apiserver: one acts, the other takes over when it dies; and
 * a controller killed between the cloud call and the status write converges on restart.
 */
import { CoordinationV1Api } from '@kubernetes/client-node';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { useControlPlane } from '../harness/vitest.ts';
import { eventually } from '../support/eventually.ts';
import { ControllerWorld, interceptApply, testSettings } from './world.ts';

const kube = useControlPlane();
let world: ControllerWorld;

beforeEach(async () => {
  world = new ControllerWorld(kube.controlPlane.kubeConfig, kube.namespace);
  await world.addNode({ name: 'a1', zone: 'zone-a', subnet: '10.1.1.0/24', primaryIP: '10.1.1.10' });
  await world.addNode({ name: 'a2', zone: 'zone-a', subnet: '10.1.1.0/24', primaryIP: '10.1.1.11' });
});
afterEach(async () => {
  await world.close();
});

const leaseHolder = async () => {
  const api = kube.controlPlane.kubeConfig.makeApiClient(CoordinationV1Api);
  const lease = await api.readNamespacedLease({
    name: 'cloud-egress-controller',
    namespace: world.namespace,
  });
  return lease.spec?.holderIdentity;
};

it('given two replicas, then one leads and acts; when it dies, the other takes over and converges', async () => {
  const gw = await world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.119'], namespaceSelector: {} });
  const settings = testSettings({}, { namespace: world.namespace });
  const first = await world.startController({ settings, identity: 'replica-1' });
  await eventually('replica-1 leads', async () => first.leading);
  const second = await world.startController({ settings, identity: 'replica-2' });
  expect(await leaseHolder()).toBe('replica-1');

  await world.createPolicy('p', { gatewayName: gw, count: 2 });
  await eventually('2 IPs in the cloud', async () => world.cloudPlacement().size === 2);
  expect(second.leading).toBe(false);
  expect((await second.metrics.reconciles.get()).values).toEqual([]);

  // The leader dies without releasing its lease (a crash); the standby waits out the lease and acts.
  await first.kill();
  await eventually('replica-2 leads', async () => second.leading, { timeoutMs: 10_000 });
  expect(await leaseHolder()).toBe('replica-2');

  await world.createPolicy('q', { gatewayName: gw, count: 2 });
  await eventually('q placed by replica-2', async () => {
    const q = await world.getPolicy('q');
    return q?.status?.assignments?.length === 2 && q.status.assignments.every((a) => a.state === 'Ready');
  });
  expect(world.cloudPlacement().size).toBe(4);
});

it('given the leader shuts down gracefully, then it releases the lease and the other takes over at once', async () => {
  const settings = testSettings({}, { namespace: world.namespace });
  const first = await world.startController({ settings, identity: 'replica-1' });
  await eventually('replica-1 leads', async () => first.leading);
  const second = await world.startController({ settings, identity: 'replica-2' });
  const stopped = performance.now();
  await first.stop();
  await eventually('replica-2 leads', async () => second.leading);
  // Well within the 2 s lease duration: the lease was released, not waited out.
  expect(performance.now() - stopped).toBeLessThan(settings.leaderElection.leaseDurationMs);
});

it('given a controller killed between the cloud call and the status write, then a new one converges with no leaked or doubled IP', async () => {
  const gw = await world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.119'], namespaceSelector: {} });
  let applied = false;
  // The cloud carries the changes out, but the answer never comes back: the process "dies" right there.
  const dying = interceptApply(async (plan, signal, p) => {
    await p.apply(plan, signal);
    applied = true;
    return new Promise(() => {});
  });
  const doomed = await world.startController({ wrap: dying, identity: 'doomed' });
  await world.createPolicy('p', { gatewayName: gw, count: 3 });
  await eventually('cloud call made', async () => applied);
  const pending = await world.getPolicy('p');
  expect(pending?.status?.assignments?.map((a) => a.state)).toEqual(['Pending', 'Pending', 'Pending']);
  await doomed.kill();
  expect(world.cloudPlacement().size).toBe(3);

  await world.startController({ identity: 'restarted' });
  const ready = await eventually('Ready after restart', async () => {
    const a = (await world.getPolicy('p'))?.status?.assignments ?? [];
    return a.length === 3 && a.every((x) => x.state === 'Ready') ? a : undefined;
  });
  // Same IPs as the doomed controller chose (sticky), each on exactly one node, nothing else in the cloud.
  expect(ready.map((a) => a.ip).sort()).toEqual(pending?.status?.assignments?.map((a) => a.ip).sort());
  const placement = world.cloudPlacement();
  expect(Object.fromEntries(placement)).toEqual(Object.fromEntries(ready.map((a) => [a.ip, a.node])));
});
