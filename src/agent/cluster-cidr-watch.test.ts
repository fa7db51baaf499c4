import { ApiException, type V1Node, type V1ServiceCIDR } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { ResilientInformer } from '../kube/informer.ts';
import { probeServiceCidrs } from '../kube/service-cidr-api.ts';
import { silentLogger } from '../log.ts';
import { ClusterCidrWatch } from './cluster-cidr-watch.ts';
import { createAgentMetrics } from './metrics.ts';

const node = (name: string, podCIDR?: string): V1Node => ({ metadata: { name }, spec: { podCIDR } });
const kubernetes: V1ServiceCIDR = { metadata: { name: 'kubernetes' }, spec: { cidrs: ['10.96.0.0/12'] } };

/** A watch over `nodes` whose ServiceCIDR list answers `answer()` (a status code fails it). */
function setup(options: { discover?: boolean; answer: () => V1ServiceCIDR[] | number }) {
  const nodes = [node('a', '10.244.1.0/24'), node('b')];
  const metrics = createAgentMetrics();
  let started = 0;
  let changes = 0;
  const list = async () => {
    const answer = options.answer();
    if (typeof answer === 'number') throw new ApiException(answer, `HTTP ${answer}`, {}, {});
    return { items: answer };
  };
  const informer = {
    start: async () => {
      started++;
    },
    stop: async () => {},
    list: () => {
      const answer = options.answer();
      return typeof answer === 'number' ? [] : answer;
    },
  } as unknown as ResilientInformer<V1ServiceCIDR>;
  const watch = new ClusterCidrWatch({
    configured: ['10.0.0.0/16'],
    discover: options.discover ?? true,
    nodes: () => nodes,
    probe: () => probeServiceCidrs(list),
    informer: () => informer,
    onChange: () => {
      changes++;
    },
    metrics,
    logger: silentLogger(),
  });
  const gauge = async (name: string) =>
    Object.fromEntries(
      (await metrics.registry.getSingleMetric(name)!.get()).values.map((v) => [
        Object.values(v.labels)[0],
        v.value,
      ]),
    );
  return { watch, nodes, gauge, started: () => started, changes: () => changes };
}

describe('ClusterCidrWatch', () => {
  it('adds the Nodes pod CIDRs and the ServiceCIDRs to the configured ones, following the Nodes', async () => {
    const t = setup({ answer: () => [kubernetes] });
    await t.watch.start();
    expect(t.started()).toBe(1);
    expect(t.watch.current()).toEqual(['10.0.0.0/16', '10.244.1.0/24', '10.96.0.0/12']);
    const before = t.watch.current();
    t.nodes.push(node('c', '10.244.3.0/24'));
    // Computed again only after a Node event: a pod's sync does not pass over every Node.
    expect(t.watch.current()).toBe(before);
    t.watch.invalidate();
    expect(t.watch.current()).toContain('10.244.3.0/24');
    expect(await t.gauge('cloud_egress_agent_cluster_cidrs')).toEqual({
      configured: 1,
      'node-podcidr': 2,
      servicecidr: 1,
    });
    expect(await t.gauge('cloud_egress_agent_servicecidr_api')).toMatchObject({ served: 1, 'not-served': 0 });
  });

  it('without the ServiceCIDR API it runs on the rest, says so, and starts watching once it is served', async () => {
    let served = false;
    const t = setup({ answer: () => (served ? [kubernetes] : 404) });
    await t.watch.start();
    expect(t.started()).toBe(0);
    expect(t.watch.serviceCidrApi).toBe('not-served');
    expect(await t.gauge('cloud_egress_agent_servicecidr_api')).toMatchObject({ served: 0, 'not-served': 1 });
    expect(t.watch.current()).toEqual(['10.0.0.0/16', '10.244.1.0/24']);
    await t.watch.retry();
    expect(t.changes()).toBe(0);
    served = true;
    await t.watch.retry();
    expect(t.started()).toBe(1);
    expect(t.changes()).toBe(1);
    expect(t.watch.current()).toContain('10.96.0.0/12');
  });

  it('a forbidden list is its own state; another failure leaves it to the informer', async () => {
    const forbidden = setup({ answer: () => 403 });
    await forbidden.watch.start();
    expect(forbidden.watch.serviceCidrApi).toBe('forbidden');
    let failures = 1;
    const flaky = setup({ answer: () => (failures-- > 0 ? 500 : [kubernetes]) });
    await flaky.watch.start();
    expect(flaky.started()).toBe(1);
    expect(flaky.watch.serviceCidrApi).toBe('served');
  });

  it('with discovery off, only the configured CIDRs, and nothing is asked', async () => {
    const t = setup({ discover: false, answer: () => [kubernetes] });
    await t.watch.start();
    await t.watch.retry();
    expect(t.started()).toBe(0);
    expect(t.watch.current()).toEqual(['10.0.0.0/16']);
    expect(await t.gauge('cloud_egress_agent_servicecidr_api')).toMatchObject({ off: 1, served: 0 });
  });
});
