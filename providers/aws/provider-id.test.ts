import { describe, expect, it } from 'vitest';
import { parseAwsProviderID, regionOfZone } from './provider-id.ts';

describe('parseAwsProviderID', () => {
  it('reads zone and instance', () => {
    expect(parseAwsProviderID('n', 'aws:///eu-west-1b/i-0abc123')).toEqual({
      zone: 'eu-west-1b',
      instanceId: 'i-0abc123',
    });
  });
  it.each(['gce://p/z/n', 'aws:///eu-west-1b', 'aws://eu-west-1b/i-1', ''])(
    'refuses %j as terminal',
    (id) => {
      expect(() => parseAwsProviderID('n', id)).toThrow(expect.objectContaining({ kind: 'terminal' }));
    },
  );
});

describe('regionOfZone', () => {
  it.each([
    ['us-east-1a', 'us-east-1'],
    ['ap-southeast-2c', 'ap-southeast-2'],
    ['us-east-1-bos-1a', 'us-east-1'],
    ['us-east-1-wl1-bos-wlz-1', 'us-east-1'],
  ])('%s -> %s', (zone, region) => {
    expect(regionOfZone(zone)).toBe(region);
  });
});
