import { describe, expect, it } from 'vitest';
import { eniSelector, managedEniRefusal, NO_MANAGE_TAG } from './egress-eni.ts';

describe('eniSelector', () => {
  it('takes the tag first, then an index the user set, else the primary ENI by default', () => {
    expect(eniSelector({ interfaceTag: 'egress=true', interface: '1' })).toEqual({
      by: 'tag',
      key: 'egress',
      value: 'true',
    });
    expect(eniSelector({ interfaceTag: 'egress' })).toEqual({ by: 'tag', key: 'egress' });
    expect(eniSelector({ interface: '0' })).toEqual({ by: 'index', index: 0, explicit: true });
    expect(eniSelector({ interface: '2' })).toEqual({ by: 'index', index: 2, explicit: true });
    expect(eniSelector({})).toEqual({ by: 'index', index: 0, explicit: false });
    expect(eniSelector({ interface: '' })).toEqual({ by: 'index', index: 0, explicit: false });
  });

  it('refuses an interface that is not a device index, naming the tag setting', () => {
    expect(() => eniSelector({ interface: 'eth1' })).toThrow(
      expect.objectContaining({
        kind: 'terminal',
        message: expect.stringMatching(/"eth1" is not an ENI device index/),
      }),
    );
  });
});

describe('managedEniRefusal', () => {
  const facts = {
    node: 'gw-1',
    instanceId: 'i-1',
    eniId: 'eni-1',
    tags: new Map<string, string>(),
    vpcCni: true,
  };

  it('refuses the primary ENI the VPC CNI manages, with the two fixes', () => {
    const refused = managedEniRefusal(facts);
    expect(refused).toMatchObject({ kind: 'terminal', code: 'ManagedInterface', retryable: false });
    expect(refused?.message).toBe(
      'node gw-1: no egress IPs go on eni-1, the primary ENI of i-1, by default: the Amazon VPC CNI manages it ' +
        '(aws-node runs, the ENI has no node.k8s.amazonaws.com/no_manage=true tag), and ipamd adds its secondary ' +
        'IPs to the pod IP pool and may give an egress IP to a pod or release it',
    );
    expect(refused?.fix).toMatch(
      /second ENI tagged node\.k8s\.amazonaws\.com\/no_manage=true .*cloud\.interface\.tag/,
    );
    expect(refused?.fix).toMatch(/cloud\.interface\.index=0$/);
  });

  it('accepts it without the VPC CNI, or when it is tagged no_manage=true (ipamd leaves it alone)', () => {
    expect(managedEniRefusal({ ...facts, vpcCni: false })).toBeUndefined();
    expect(managedEniRefusal({ ...facts, tags: new Map([[NO_MANAGE_TAG, 'true']]) })).toBeUndefined();
    expect(managedEniRefusal({ ...facts, tags: new Map([[NO_MANAGE_TAG, 'false']]) })).toBeDefined();
  });
});
