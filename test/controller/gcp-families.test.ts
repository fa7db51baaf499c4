/**
 * The controller on the GCP provider (Compute Engine emulator through the real SDK) and a real kube-apiserver,
 * with IPv6 asked for: GCP places IPv4 egress IPs only (alias IP ranges carry IPv4 only), so no IPv6 IP is
 * handed out, the policies that ask for one say why on the API server's objects (condition and Event), a
 * dual-stack policy's IPv4 IP is still Ready in the cloud, and the gateway counts its IPv4 IPs only.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GcpWorld } from '../gcp/world.ts';
import { startGcpWorld } from '../gcp/world.ts';
import { useControlPlane } from '../harness/vitest.ts';
import { eventually } from '../support/eventually.ts';
import { ControllerWorld, testSettings } from './world.ts';

const kube = useControlPlane();
const V6_POOL = 'fd00:ec::100/126';

describe('IPv6 asked of a GCP gateway', () => {
  let cloud: GcpWorld;
  let world: ControllerWorld;
  beforeAll(async () => {
    cloud = await startGcpWorld();
  });
  afterAll(async () => {
    await cloud?.close();
  });
  beforeEach(async () => {
    await cloud.reset();
    world = new ControllerWorld(kube.controlPlane.kubeConfig, kube.namespace);
    await world.addCloudNodes(cloud);
  });
  afterEach(async () => {
    await world.close();
  });

  it('serves the IPv4 part, and says on the policy why IPv6 is not: a condition, an Event, an empty IPv6 column', async () => {
    await world.startController({ settings: testSettings(), maker: () => cloud.provider });
    // Past the first four addresses of the range, which GCP keeps.
    const v4 = (await cloud.freeIPs(cloud.nodes.a.subnet, 6)).slice(2);
    const gw = await world.createGateway('gw', { ips: [...v4, V6_POOL], namespaceSelector: {} });
    await world.createPolicy('dual', { gatewayName: gw, count: 1, ipFamilies: ['IPv4', 'IPv6'] });
    await world.createPolicy('v6', { gatewayName: gw, egressIPs: ['fd00:ec::101'] });

    const dual = await eventually(
      'the dual-stack policy: its IPv4 IP Ready, IPv6 refused',
      async () => {
        const p = await world.getPolicy('dual');
        const entries = p?.status?.assignments ?? [];
        return entries.some((a) => a.state === 'Ready') &&
          entries.some((a) => a.state === 'Failed' && a.reason === 'IPv6NotSupported')
          ? p
          : undefined;
      },
      { timeoutMs: 20_000 },
    );
    const ready = dual.status?.conditions?.find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'IPv6NotSupported', observedGeneration: 1 });
    expect(ready?.message).toMatch(
      /^1 of 2 egress IPs are Ready; EgressGateway ".+" hands out no IPv6 IPs: /,
    );
    expect(ready?.message).toContain('provider gcp places IPv4 egress IPs only');
    expect(ready?.message).toContain('GCP alias IP ranges carry IPv4 only');
    expect(dual.status?.ipv6).toBe('');
    const held = dual.status?.assignments?.find((a) => a.state === 'Ready');
    expect(v4).toContain(held?.ip);
    // The cloud agrees: the IPv4 IP is an alias on its node, and no NIC has an IPv6 alias.
    const node = held?.node === world.node('a') ? cloud.nodes.a : cloud.nodes.b;
    expect(await cloud.cloudIPs(node)).toContain(held?.ip);
    const aliases = Object.values(cloud.nodes).flatMap((n) => cloud.nic(n).aliasIpRanges);
    expect(aliases.filter((a) => a.ipCidrRange.includes(':'))).toEqual([]);

    const v6 = await eventually('the IPv6 policy refused', async () => {
      const p = await world.getPolicy('v6');
      return p?.status?.conditions?.find((c) => c.type === 'Ready' && c.reason === 'IPv6NotSupported')
        ? p
        : undefined;
    });
    expect(v6.status?.assignments?.map((a) => [a.ip, a.state, a.reason])).toEqual([
      ['fd00:ec::101', 'Failed', 'IPv6NotSupported'],
    ]);
    expect(v6.status?.conditions?.find((c) => c.type === 'Ready')?.message).toContain(
      'fd00:ec::101 is an IPv6 address, and provider gcp places IPv4 egress IPs only',
    );

    const warning = await eventually('a Warning IPv6NotSupported Event on the dual-stack policy', async () =>
      (await world.events('dual')).find((e) => e.type === 'Warning' && e.reason === 'IPv6NotSupported'),
    );
    expect(warning.message).toContain('GCP alias IP ranges carry IPv4 only');

    const gateway = await eventually('the gateway status written', async () => {
      const g = await world.getGateway(gw);
      return g.status?.ipsUsed === 1 ? g : undefined;
    });
    expect(gateway.status?.ipsTotal).toBe(4);
    expect(gateway.status?.conditions?.find((c) => c.type === 'Accepted')?.message).toContain(
      `spec.ips ${V6_POOL} are IPv6 and not handed out: provider gcp places IPv4 egress IPs only`,
    );
  });
});
