import { describe, expect, it } from 'vitest';
import { namespaceLabels, podKey, toLocalPod, toNodeAddress } from './k8s-inputs.ts';

describe('Kubernetes objects -> agent inputs', () => {
  const base = {
    metadata: { uid: 'u1', namespace: 'shop', name: 'api-1', labels: { app: 'api' } },
    spec: { containers: [] },
    status: { phase: 'Running', podIPs: [{ ip: '10.244.1.10' }, { ip: 'fd00::a' }] },
  };

  it('keeps running pod-network pods with their IPs and labels', () => {
    expect(toLocalPod(base)).toEqual({
      uid: 'u1',
      namespace: 'shop',
      name: 'api-1',
      ips: ['10.244.1.10', 'fd00::a'],
      labels: { app: 'api' },
    });
    expect(toLocalPod({ ...base, status: { phase: 'Pending', podIP: '10.244.1.11' } })?.ips).toEqual([
      '10.244.1.11',
    ]);
  });

  it('drops host-network, finished and IP-less pods', () => {
    expect(toLocalPod({ ...base, spec: { containers: [], hostNetwork: true } })).toBeUndefined();
    expect(toLocalPod({ ...base, status: { ...base.status, phase: 'Succeeded' } })).toBeUndefined();
    expect(toLocalPod({ ...base, status: { phase: 'Pending' } })).toBeUndefined();
  });

  it('keys a pod as the informer does, by namespace/name (not UID)', () => {
    expect(podKey(base)).toBe('shop/api-1');
    expect(podKey({ ...base, metadata: { ...base.metadata, uid: 'u2' } })).toBe('shop/api-1');
  });

  it('reads a node InternalIP and zone, and namespace labels', () => {
    expect(
      toNodeAddress({
        metadata: { name: 'n1', labels: { 'topology.kubernetes.io/zone': 'eu-west-1a' } },
        status: {
          addresses: [
            { type: 'Hostname', address: 'n1' },
            { type: 'InternalIP', address: '10.0.0.1' },
          ],
        },
      }),
    ).toEqual({ name: 'n1', ip: '10.0.0.1', zone: 'eu-west-1a' });
    expect(toNodeAddress({ metadata: { name: 'n2' }, status: { addresses: [] } })).toBeUndefined();
    expect(namespaceLabels([{ metadata: { name: 'shop', labels: { team: 'pay' } } }])).toEqual(
      new Map([['shop', { team: 'pay' }]]),
    );
  });
});
