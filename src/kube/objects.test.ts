import { describe, expect, it } from 'vitest';
import { gatewayKey, parseKey, policyKey } from './objects.ts';

describe('object keys', () => {
  it('keys a namespaced policy by namespace and name, a cluster policy by name alone', () => {
    const namespaced = policyKey({
      kind: 'EgressPolicy',
      metadata: { name: 'to-partner', namespace: 'shop' },
    });
    const cluster = policyKey({ kind: 'ClusterEgressPolicy', metadata: { name: 'all-pay' } });
    expect(namespaced).toBe('EgressPolicy/shop/to-partner');
    expect(cluster).toBe('ClusterEgressPolicy/all-pay');
    expect(parseKey(namespaced)).toEqual({ kind: 'EgressPolicy', namespace: 'shop', name: 'to-partner' });
    expect(parseKey(cluster)).toEqual({ kind: 'ClusterEgressPolicy', name: 'all-pay' });
    expect(parseKey(gatewayKey('prod'))).toEqual({ kind: 'EgressGateway', name: 'prod' });
  });
});
