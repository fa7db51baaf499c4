import type { V1Node } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { EgressPolicy } from '../api/egress-policy.ts';
import { nodeRefs, withStatusNodes } from './node-ref.ts';

const node = (name: string): V1Node => ({
  metadata: { name },
  spec: { providerID: `inmemory:///z1/${name}` },
});

describe('nodeRefs and withStatusNodes', () => {
  it('adds the nodes that statuses name after the selected ones, once each, and only known nodes', () => {
    const members = nodeRefs([node('n1'), { metadata: {} }]);
    const policy: EgressPolicy = {
      apiVersion: 'cloudegress.io/v1alpha1',
      kind: 'EgressPolicy',
      metadata: { name: 'p', namespace: 'team-a' },
      spec: { gatewayName: 'gw', podSelector: {} },
      status: {
        assignments: [
          { ip: '10.0.1.100', node: 'n2', state: 'Ready' },
          { ip: '10.0.1.101', node: 'n1', state: 'Ready' },
          { ip: '10.0.1.102', node: 'n2', state: 'Ready' },
          { ip: '10.0.1.103', node: 'gone', state: 'Ready' },
        ],
      },
    };
    const all = withStatusNodes(members, [policy], [node('n1'), node('n2'), node('n3')]);
    expect([...all.values()]).toEqual([
      { name: 'n1', providerID: 'inmemory:///z1/n1' },
      { name: 'n2', providerID: 'inmemory:///z1/n2' },
    ]);
    expect([...members.keys()]).toEqual(['n1']);
  });
});
