import type { NetworkInterface } from '@azure/arm-network';
import { describe, expect, it } from 'vitest';
import type { AzureApi } from './api.ts';
import { MoveFeature, MoveWriter } from './ip-moves.ts';

const VNET = { subscriptionId: 's', resourceGroup: 'rg', name: 'vnet' };
const NIC = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces';
const item = (ip: string, to: string) => ({
  ip,
  source: `${NIC}/old/ipConfigurations/c-${ip}`,
  target: `${NIC}/${to}/ipConfigurations/c-${ip}`,
});

/** An api whose move calls are recorded and answered by `answer`. */
function movesApi(answer: () => Promise<void> = async () => {}) {
  const calls: string[][] = [];
  const api = {
    moveIpConfigurations: async (_vnet: unknown, items: readonly { target: string }[]) => {
      calls.push(items.map((i) => i.target.split('/').at(-3)!));
      await answer();
    },
    getNic: async (): Promise<NetworkInterface> => ({}),
  } as unknown as AzureApi;
  return { api, calls };
}

const job = (api: AzureApi, where: string, items: ReturnType<typeof item>[]) => ({
  api,
  subscriptionId: 's',
  vnet: VNET,
  items,
  where,
  carried: new Map<string, string>(),
});

describe('MoveWriter', () => {
  it('sends the moves of every batch that announced one in one call, whatever the order they hand in', async () => {
    const { api, calls } = movesApi();
    const writer = new MoveWriter(new MoveFeature());
    const [first, second, third] = [writer.expect(), writer.expect(), writer.expect()];
    const b = writer.submit(job(api, 'b', [item('10.0.0.10', 'b')]), first);
    await new Promise((r) => setTimeout(r, 5));
    expect(calls).toEqual([]); // still waiting for the others
    third(); // this batch found nothing to move
    await Promise.all([b, writer.submit(job(api, 'd', [item('10.0.0.11', 'd')]), second)]);
    expect(calls).toEqual([['b', 'd']]);
  });

  it('a refusal naming one batch’s IP fails that batch; the others are told to try again (conflict)', async () => {
    const refused = Object.assign(new Error('IP 10.0.0.11 cannot be moved.'), {
      statusCode: 400,
      code: 'InvalidRequest',
    });
    const { api } = movesApi(async () => {
      throw refused;
    });
    const writer = new MoveWriter(new MoveFeature());
    const [first, second] = [writer.expect(), writer.expect()];
    const results = await Promise.allSettled([
      writer.submit(job(api, 'b', [item('10.0.0.10', 'b')]), first),
      writer.submit(job(api, 'd', [item('10.0.0.11', 'd')]), second),
    ]);
    expect(results).toMatchObject([
      { status: 'rejected', reason: { kind: 'conflict', code: 'SharedMoveRefused' } },
      { status: 'rejected', reason: { kind: 'terminal', code: 'InvalidRequest' } },
    ]);
  });

  it('batches that hand in while a call runs go into the next call', async () => {
    let release = () => {};
    const { api, calls } = movesApi(
      () =>
        new Promise<void>((r) => {
          release = r;
        }),
    );
    const writer = new MoveWriter(new MoveFeature());
    const running = writer.submit(job(api, 'b', [item('10.0.0.10', 'b')]), writer.expect());
    await new Promise((r) => setTimeout(r, 5));
    const later = writer.submit(job(api, 'd', [item('10.0.0.11', 'd')]), writer.expect());
    await new Promise((r) => setTimeout(r, 5));
    expect(calls).toEqual([['b']]);
    release();
    await running;
    await new Promise((r) => setTimeout(r, 5));
    release();
    await later;
    expect(calls).toEqual([['b'], ['d']]);
  });
});
