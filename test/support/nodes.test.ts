/**
 * @module
 * The Node builders: labels and spec from the options, and a status update that changes only what it says.
 */
import { describe, expect, it } from 'vitest';
import { nodeObject, nodeStatus } from './nodes.ts';

const now = new Date('2026-01-01T00:00:00Z');

describe('nodeObject', () => {
  it('carries the zone as the topology label, the labels, providerID and podCIDR', () => {
    expect(
      nodeObject({
        name: 'n1',
        zone: 'us-east-1a',
        labels: { role: 'gw' },
        providerID: 'aws:///us-east-1a/i-1',
        podCIDR: '10.244.1.0/24',
      }),
    ).toEqual({
      metadata: { name: 'n1', labels: { role: 'gw', 'topology.kubernetes.io/zone': 'us-east-1a' } },
      spec: { providerID: 'aws:///us-east-1a/i-1', podCIDR: '10.244.1.0/24' },
    });
  });
});

describe('nodeStatus', () => {
  const ready = nodeStatus('n1', { ready: true, address: '10.0.1.5' }, {}, now);

  it('gives a Ready node its InternalIP, its Hostname and a True Ready condition', () => {
    expect(ready.addresses).toEqual([
      { type: 'InternalIP', address: '10.0.1.5' },
      { type: 'Hostname', address: 'n1' },
    ]);
    expect(ready.conditions).toEqual([
      expect.objectContaining({
        type: 'Ready',
        status: 'True',
        reason: 'KubeletReady',
        lastTransitionTime: now,
      }),
    ]);
  });

  it('marks a node NotReady and keeps its addresses when no address is given', () => {
    const failed = nodeStatus('n1', { ready: false }, ready, now);
    expect(failed.addresses).toEqual(ready.addresses);
    expect(failed.conditions).toEqual([
      expect.objectContaining({ type: 'Ready', status: 'False', reason: 'NodeStatusUnknown' }),
    ]);
  });

  it('leaves the conditions alone when readiness is not given', () => {
    expect(nodeStatus('n1', { address: '10.0.1.6' }, ready, now).conditions).toEqual(ready.conditions);
  });
});
