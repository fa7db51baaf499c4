import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { providerFactory } from '../../src/provider/registry.ts';

describe('azure registration', () => {
  it('is loaded by the registry and builds a provider without touching the network', async () => {
    const factory = await providerFactory('azure');
    const provider = await factory(
      { owner: 'test', endpoint: 'https://127.0.0.1:1' },
      { logger: silentLogger() },
    );
    expect(provider.name).toBe('azure');
    await expect(
      provider.describeNode({ name: 'n', providerID: 'aws:///us-east-1a/i-1' }),
    ).rejects.toMatchObject({ kind: 'terminal', code: 'InvalidProviderID' });
  });
});
