/**
 * @module
 * The controller on a cloud that lies (test/conformance/lying-cloud.case.ts), on a real API server: it finds
 * what the cloud lost, applied late or answered stale by reading again after its writes, repairs it without
 * waiting for the resync (60 s here), never claims Ready for an IP a read showed missing, and leaves the cloud
 * as its status says. Run against every lying cloud: in-memory, AWS on LocalStack through the fault proxy, the
 * GCP and Azure emulators.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { IpAssignmentStatus } from '../../src/api/egress-policy.ts';
import type { LyingWorld } from '../conformance/lying-cloud.case.ts';
import type { ControlPlaneFixture } from '../harness/vitest.ts';
import { eventually } from '../support/eventually.ts';
import { ControllerWorld, testSettings } from './world.ts';

/** Options of {@link runVerificationCases}. */
export interface VerificationCaseOptions {
  readonly name: string;
  readonly kube: ControlPlaneFixture;
  readonly setup: () => Promise<LyingWorld>;
}

/** Registers the cases under a `describe` block. */
export function runVerificationCases(options: VerificationCaseOptions): void {
  describe(`the controller on a lying cloud: ${options.name}`, () => {
    let cloud: LyingWorld;
    let world: ControllerWorld;
    beforeAll(async () => {
      cloud = await options.setup();
    });
    afterAll(async () => {
      await cloud?.close();
    });
    beforeEach(async () => {
      cloud.lies.clear();
      await cloud.lies.settled();
      await cloud.reset();
      world = new ControllerWorld(options.kube.controlPlane.kubeConfig, options.kube.namespace);
      await world.addCloudNodes(cloud);
    });
    afterEach(async () => {
      await world.close();
      cloud.lies.clear();
    });

    const start = () =>
      world.startController({
        settings: testSettings({ resyncPeriodMs: 60_000 }),
        maker: () => cloud.provider,
      });
    /** The cloud's placement of the world's IPs, IP -> Node name. */
    const placement = async () => {
      const out = new Map<string, string>();
      for (const short of ['a', 'b'] as const) {
        for (const ip of await cloud.cloudIPs(cloud.nodes[short])) out.set(ip, world.node(short));
      }
      return out;
    };
    const assignments = async (): Promise<IpAssignmentStatus[]> =>
      (await world.getPolicy('p'))?.status?.assignments ?? [];
    const gatewayWithPolicy = async () => {
      const pool = await cloud.freeIPs(cloud.nodes.a.subnet, 4);
      const gw = await world.createGateway('gw', { ips: pool, namespaceSelector: {} });
      await world.createPolicy('p', { gatewayName: gw, count: 1 });
      return gw;
    };
    /** Status Ready on one node, and the cloud holding exactly that. */
    const converged = () =>
      eventually(
        'the IP Ready and the cloud holding exactly it there',
        async () => {
          const [a, ...rest] = await assignments();
          const cloudNow = await placement();
          return a?.state === 'Ready' &&
            rest.length === 0 &&
            cloudNow.size === 1 &&
            cloudNow.get(a.ip!) === a.node
            ? a
            : undefined;
        },
        { timeoutMs: 20_000 },
      );

    it('lost writes are found by reading again, the IP is Verifying (not Ready) meanwhile, then repaired without a resync', async () => {
      cloud.lies.loseWrites(3);
      const controller = await start();
      await gatewayWithPolicy();
      const verifying = await eventually(
        'the IP Pending, reason Verifying, while the cloud lacks it',
        async () => {
          const [a] = await assignments();
          return a?.state === 'Pending' && a.reason === 'Verifying' && !(await placement()).has(a.ip!)
            ? a
            : undefined;
        },
        { timeoutMs: 10_000 },
      );
      const ready = await converged();
      expect(ready.ip).toBe(verifying.ip);
      const metric = await controller.metrics.cloudDisagreements.get();
      const missing = metric.values.find((v) => v.labels['kind'] === 'missing')?.value ?? 0;
      expect(missing).toBeGreaterThanOrEqual(1);
    });

    it('a late write that lands after its policy is gone is found and released without a resync', async () => {
      cloud.lies.delayWrites(1, 1500);
      await start();
      await gatewayWithPolicy();
      await eventually('the policy has its IP', async () => (await assignments())[0]?.ip);
      await world.deletePolicy('p');
      await eventually('the policy gone', async () => (await world.getPolicy('p')) === undefined);
      await cloud.lies.settled();
      await eventually('the cloud holds nothing', async () => (await placement()).size === 0, {
        timeoutMs: 15_000,
      });
    });

    it('stale reads after a failover do not move the IP back in the status; it converges to the cloud', async () => {
      cloud.lies.record();
      await start();
      await gatewayWithPolicy();
      const first = await converged();
      const victim = first.node!;
      const short = victim === world.node('a') ? 'a' : 'b';
      const beforeMove = performance.now();
      await world.setNodeReady(short, { ready: false });
      const moved = await eventually(
        'the IP Ready on the other node',
        async () => {
          const [a] = await assignments();
          return a?.state === 'Ready' && a.node !== victim ? a : undefined;
        },
        { timeoutMs: 20_000 },
      );
      // Reads now answer as before the move (the IP on the failed node), while that node comes back.
      cloud.lies.staleReads(8, performance.now() - beforeMove + 1);
      await world.setNodeReady(short, { ready: true });
      const seen = new Set<string>();
      const until = performance.now() + 3000;
      while (performance.now() < until) {
        for (const a of await assignments()) if (a.node) seen.add(a.node);
        await sleep(20);
      }
      expect([...seen]).toEqual([moved.node]);
      const settled = await converged();
      expect(settled.node).toBe(moved.node);
    });
  });
}
