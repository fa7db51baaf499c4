import { describe, expect, it } from 'vitest';
import { awsProvider } from '../../providers/aws/descriptor.ts';
import { azureProvider } from '../../providers/azure/descriptor.ts';
import { gcpProvider } from '../../providers/gcp/descriptor.ts';
import { inmemoryProvider } from '../../providers/inmemory/descriptor.ts';
import { noneProvider } from '../../providers/none/descriptor.ts';
import { IPV4_AND_IPV6, IPV4_ONLY } from '../provider/capabilities.ts';
import { servedFamilies } from './served-families.ts';

describe('servedFamilies', () => {
  it('serves IPv4 alone on GCP, and says IPv6 is refused because alias IP ranges carry IPv4 only', () => {
    const served = servedFamilies(gcpProvider);
    expect([...served.families]).toEqual([4]);
    expect(served.refused.get(6)).toBe(
      "provider gcp places IPv4 egress IPs only (GCP alias IP ranges carry IPv4 only, and a VM's own IPv6 range cannot be moved to another VM (docs/gcp.md))",
    );
    expect(served.refused.has(4)).toBe(false);
  });

  it.each([awsProvider, azureProvider, noneProvider, inmemoryProvider])(
    'serves both families on $name',
    (provider) => {
      const served = servedFamilies(provider);
      expect([...served.families]).toEqual([4, 6]);
      expect(served.refused.size).toBe(0);
    },
  );

  it('intersects with what the agents program, naming the agent when it is the one that cannot', () => {
    const served = servedFamilies({ name: 'aws', capabilities: { families: IPV4_AND_IPV6 } }, IPV4_ONLY);
    expect([...served.families]).toEqual([4]);
    expect(served.refused.get(6)).toBe('the node agent programs IPv4 egress IPs only');
    const none = servedFamilies({ name: 'x', capabilities: { families: IPV4_ONLY } }, new Set([6]));
    expect(none.families.size).toBe(0);
    expect(none.refused.get(4)).toBe('the node agent programs IPv6 egress IPs only');
    expect(none.refused.get(6)).toBe('provider x places IPv4 egress IPs only');
  });
});
