/**
 * @module
 * The real-node box sees what a process box cannot: each of these mistakes, rolled out with `helm upgrade`,
 * breaks the agent on the nodes (the rollout never becomes Ready, the agent says why), and rolling the
 * correct chart and image back out restores the box (every agent Ready, traffic from the egress IP again).
 *
 * - a capability removed from the agent's securityContext (NET_ADMIN: nftables, links, routes);
 * - a volume mount removed from the DaemonSet (the host's /proc/sys/net at /host/proc/sys/net): the agent
 *   writes its tunnel's rp_filter on every sync that reads the kernel, so every node breaks;
 * - a binary removed from the image (`nft`).
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../localstack/localstack.ts';
import { waitForHolder, waitForSteadyTraffic } from '../e2e/scenario.ts';
import { ensureImageWithout } from './image.ts';
import { BOX_POLICY, CHART_DIR, RELEASE, type RealBox, startSettledRealBox } from './real-box.ts';
import { realNodeUnavailable } from './requirements.ts';

const unavailable = await realNodeUnavailable();
const title = (name: string) => `${name}${unavailable ? ` (skipped: ${unavailable})` : ''}`;
const EGRESS = new Set<string>(BOX_POLICY.egressIPs);

describe.skipIf(unavailable !== undefined)(
  title('real nodes: a broken chart or image breaks the box'),
  () => {
    let localStack: LocalStack;
    let box: RealBox;
    let scratch = '';

    beforeAll(async () => {
      localStack = await startLocalStack();
      scratch = await mkdtemp(join(tmpdir(), 'cloud-egress-broken-chart-'));
      box = await startSettledRealBox({ localStack });
    }, 900_000);

    afterAll(async () => {
      await box?.stop();
      await localStack?.stop();
      if (scratch) await rm(scratch, { recursive: true, force: true });
    }, 300_000);

    /** A copy of the chart with one text replacement in one template (which must match exactly once). */
    async function brokenChart(name: string, file: string, from: string, to: string): Promise<string> {
      const dir = join(scratch, name);
      await cp(CHART_DIR, dir, { recursive: true });
      const path = join(dir, 'templates', file);
      const text = await readFile(path, 'utf8');
      expect(text.split(from).length - 1, `${file} contains the text to break once`).toBe(1);
      await writeFile(path, text.replace(from, to));
      return dir;
    }

    /** `helm upgrade` of `chart` with the box's values and `set`; `--wait` bounded by `timeout`. */
    function upgrade(chart: string, set: Record<string, string>, timeout: string) {
      return box.helm(
        [
          'upgrade',
          RELEASE.name,
          chart,
          '--namespace',
          RELEASE.namespace,
          '--values',
          box.valuesFile,
          ...Object.entries(set).flatMap(([k, v]) => ['--set', `${k}=${v}`]),
          '--wait',
          '--timeout',
          timeout,
        ],
        { check: false },
      );
    }

    /**
     * Rolls the broken chart out: helm's wait fails, an agent Pod is not Ready and its log (or the kubelet's
     * event) names the cause. Then the good chart and image go back out and the box works again.
     */
    async function breaksAndRestores(
      chart: string,
      set: Record<string, string>,
      cause: RegExp,
    ): Promise<void> {
      const broken = await upgrade(chart, set, '60s');
      expect(broken.code, 'helm upgrade --wait of the broken chart').not.toBe(0);
      const ds = await box.agentDaemonSet();
      const core = box.controlPlane.kubeConfig.makeApiClient(CoreV1Api);
      const pods = await core.listNamespacedPod({
        namespace: RELEASE.namespace,
        labelSelector: 'app.kubernetes.io/component=agent',
      });
      const revision = ds.metadata?.generation;
      const updated = pods.items.filter(
        (p) =>
          !p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') &&
          !p.metadata?.deletionTimestamp,
      );
      expect(
        updated.length,
        `agent pods not Ready after the broken rollout (generation ${revision})`,
      ).toBeGreaterThan(0);
      const why: string[] = [];
      for (const pod of updated) {
        const name = pod.metadata!.name!;
        for (const previous of [true, false]) {
          const logs = await box.kubectl(
            ['-n', RELEASE.namespace, 'logs', name, '-c', 'agent', ...(previous ? ['--previous'] : [])],
            { check: false },
          );
          why.push(logs.stdout, logs.stderr);
        }
        const events = await box.kubectl(
          [
            '-n',
            RELEASE.namespace,
            'get',
            'events',
            '--field-selector',
            `involvedObject.name=${name}`,
            '-o',
            'json',
          ],
          { check: false },
        );
        why.push(events.stdout);
        why.push(JSON.stringify(pod.status?.containerStatuses ?? []));
      }
      expect(why.join('\n')).toMatch(cause);

      const restored = await upgrade(CHART_DIR, {}, '5m');
      expect(restored.code, restored.stderr).toBe(0);
      await box.waitForAgents();
      await waitForHolder(box, BOX_POLICY.egressIPs[0], 60_000);
      await waitForSteadyTraffic(box, EGRESS, { after: Date.now(), consecutive: 20, timeoutMs: 120_000 });
    }

    it('without NET_ADMIN in its securityContext the agent cannot program the node', {
      timeout: 600_000,
    }, async () => {
      const chart = await brokenChart(
        'no-net-admin',
        '_helpers.tpl',
        'add: ["NET_ADMIN", "NET_RAW"]',
        'add: ["NET_RAW"]',
      );
      await breaksAndRestores(chart, {}, /Operation not permitted|EPERM/);
    });

    // The agent writes the tunnel's rp_filter on every sync that reads the kernel (not only when it makes the
    // tunnel), so a rollout without the mount fails on the nodes that have a tunnel as well as on new ones.
    it("without the host's /proc/sys/net mount the agent cannot program a node", {
      timeout: 600_000,
    }, async () => {
      const chart = await brokenChart(
        'no-proc-sys-mount',
        'agent-daemonset.yaml',
        '            - name: host-proc-sys-net\n              mountPath: /host/proc/sys/net\n',
        '',
      );
      await breaksAndRestores(chart, {}, /cannot write \/host\/proc\/sys/);
    });

    it('an image without nft cannot run the agent', { timeout: 900_000 }, async () => {
      const image = await ensureImageWithout(box.image, '/usr/sbin/nft');
      await box.importImage(image.archive);
      // Not just any line naming nft (a healthy agent logs `nft.replace`): the command is not there.
      await breaksAndRestores(
        CHART_DIR,
        { 'image.tag': image.tag },
        /ENOENT[^\n]*\bnft\b|\bnft\b[^\n]*ENOENT/,
      );
    });
  },
);
