import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { probeServiceCidrs, ServiceCidrApiError } from './service-cidr-api.ts';

const failing = (code: number) => () => Promise.reject(new ApiException(code, `HTTP ${code}`, {}, {}));

describe('probeServiceCidrs', () => {
  it('served: the listed objects', async () => {
    const items = [{ metadata: { name: 'kubernetes' }, spec: { cidrs: ['10.96.0.0/12'] } }];
    expect(await probeServiceCidrs(async () => ({ items }))).toEqual({ state: 'served', items });
  });

  it('404 is an API server without ServiceCIDR, 403 an identity without the permission', async () => {
    expect(await probeServiceCidrs(failing(404))).toMatchObject({
      state: 'not-served',
      message: expect.stringContaining('1.33'),
    });
    expect(await probeServiceCidrs(failing(403))).toMatchObject({
      state: 'forbidden',
      message: expect.stringContaining('servicecidrs'),
    });
  });

  it('any other failure is an error carrying the cause', async () => {
    const err = await probeServiceCidrs(failing(500)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceCidrApiError);
    expect((err as ServiceCidrApiError).cause).toBeInstanceOf(ApiException);
  });
});
