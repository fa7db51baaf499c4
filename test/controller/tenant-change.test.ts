/**
 * A gateway stops admitting a policy's namespace and admits another's, whose policy takes the same pool IPs: at
 * no moment do two live policies' statuses name one IP as usable (Pending, Assigned or Ready). Every status
 * write is seen through one watch over all EgressPolicies (the API server sends them in the order they were
 * stored), and the model-based test's own safety check (test/model/invariants.ts) runs after each. On a real
 * kube-apiserver with the in-memory cloud. Found by the model-based test on LocalStack (`npm run soak --
 * --cloud localstack --seed=4 --path 7 --steps 40 --replay-path ':'`: SetGatewayTenants, then a policy of the
 * newly admitted namespace).
 */
import { type KubernetesObject, Watch } from '@kubernetes/client-node';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { EgressPolicy } from '../../src/api/egress-policy.ts';
import { WATCH_PATHS } from '../../src/kube/kube-api.ts';
import { safetyViolations } from '../model/invariants.ts';
import { eventually } from '../support/eventually.ts';
import { useControllerWorld } from './world.ts';

const t = useControllerWorld();
const namespaces: string[] = [];

beforeEach(async () => {
  for (const [i, name] of ['a1', 'a2'].entries()) {
    await t.world.addNode({ name, zone: 'zone-a', subnet: '10.1.1.0/24', primaryIP: `10.1.1.${10 + i}` });
  }
});
afterEach(async () => {
  for (const name of namespaces.splice(0))
    await t.world.core.deleteNamespace({ name }).catch(() => undefined);
});

async function tenantNamespace(tenant: string): Promise<string> {
  const name = `${t.kube.namespace}-${tenant}`;
  await t.world.core.createNamespace({ body: { metadata: { name, labels: { tenant } } } });
  namespaces.push(name);
  return name;
}

/** Every EgressPolicy as last seen by one watch, and the safety violations found after each event. */
async function watchPolicies(inNamespaces: readonly string[]) {
  const latest = new Map<string, EgressPolicy>();
  const violations: string[] = [];
  const request = await new Watch(t.kube.controlPlane.kubeConfig).watch(
    WATCH_PATHS.policies,
    {},
    (phase: string, obj: KubernetesObject) => {
      const policy = obj as EgressPolicy;
      if (!inNamespaces.includes(policy.metadata.namespace ?? '')) return;
      const key = `${policy.metadata.namespace}/${policy.metadata.name}`;
      if (phase === 'DELETED') latest.delete(key);
      else latest.set(key, policy);
      violations.push(
        ...safetyViolations({
          cloud: new Map(),
          policies: [...latest.values()],
          gateways: [],
          namespaces: new Map(),
          deleted: new Set(),
          goneIPs: new Map(),
          eligibleNodes: 2,
          perNode: 10,
          poolSize: 2,
        }).map((v) => `${v} (at resourceVersion ${policy.metadata.resourceVersion})`),
      );
    },
    () => undefined,
  );
  return { latest, violations, stop: () => request.abort() };
}

const readyIPs = (p: EgressPolicy | undefined) =>
  (p?.status?.assignments ?? []).filter((a) => a.state === 'Ready').map((a) => a.ip);

it('a gateway that stops admitting a namespace frees its policy’s IPs in its status before another policy is given them', async () => {
  const [a, b] = [await tenantNamespace('a'), await tenantNamespace('b')];
  const gw = await t.world.createGateway('gw', {
    ips: ['10.1.1.100-10.1.1.101'],
    namespaceSelector: { matchLabels: { tenant: 'a' } },
  });
  await t.world.startController();
  await t.world.createPolicy('first', { gatewayName: gw, count: 2 }, a);
  await t.world.createPolicy('second', { gatewayName: gw, count: 2 }, b);
  await eventually('both IPs Ready for the first tenant', async () => {
    const ips = readyIPs(await t.world.getPolicy('first', a));
    return ips.length === 2 ? ips : undefined;
  });
  const watch = await watchPolicies([a, b]);
  try {
    await t.world.patchGateway(gw, { spec: { namespaceSelector: { matchLabels: { tenant: 'b' } } } });
    const taken = await eventually('both IPs Ready for the second tenant', async () => {
      const ips = readyIPs(await t.world.getPolicy('second', b));
      return ips.length === 2 ? ips : undefined;
    });
    expect(taken.sort()).toEqual(['10.1.1.100', '10.1.1.101']);
    expect((await t.world.getPolicy('first', a))?.status?.assignments).toEqual([]);
    expect(watch.violations).toEqual([]);
  } finally {
    watch.stop();
  }
});

it('a policy that gives up an IP frees it in its status before the policy waiting for one is given it', async () => {
  const [a, b] = [await tenantNamespace('a'), await tenantNamespace('b')];
  const gw = await t.world.createGateway('gw', { ips: ['10.1.1.100-10.1.1.101'], namespaceSelector: {} });
  await t.world.startController();
  await t.world.createPolicy('first', { gatewayName: gw, count: 2 }, a);
  await eventually('both IPs Ready for the first policy', async () => {
    const ips = readyIPs(await t.world.getPolicy('first', a));
    return ips.length === 2 ? ips : undefined;
  });
  await t.world.createPolicy('second', { gatewayName: gw, count: 1 }, b);
  await eventually('the second policy waits for a free IP', async () => {
    const p = await t.world.getPolicy('second', b);
    return p?.status?.assignments?.some((x) => x.state === 'Failed') ? p : undefined;
  });
  const watch = await watchPolicies([a, b]);
  try {
    await t.world.patchPolicySpec('first', { count: 1 }, a);
    await eventually('one IP Ready for each policy', async () => {
      const [first, second] = [
        readyIPs(await t.world.getPolicy('first', a)),
        readyIPs(await t.world.getPolicy('second', b)),
      ];
      return first.length === 1 && second.length === 1 ? [first, second] : undefined;
    });
    expect(watch.violations).toEqual([]);
  } finally {
    watch.stop();
  }
});
