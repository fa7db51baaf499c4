import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/provider/contract.ts';
import type { Edit } from '../../src/provider/interface-driver.ts';
import type { GceNic, GceOperation } from './client.ts';
import { gcpDriver } from './driver.ts';
import type { NicIo, NicTarget } from './nic-io.ts';

/** One call the fake NIC I/O saw. */
type Seen = { readonly call: 'read' | 'send' | 'wait'; readonly requestId?: string };

const target: NicTarget = {
  project: 'p',
  zone: 'europe-west1-b',
  instance: 'gw-1',
  nic: 'nic0',
  id: 'projects/p/zones/europe-west1-b/instances/gw-1#nic0',
  node: 'gw-1',
};
const nic: GceNic = {
  name: 'nic0',
  networkIP: '10.0.0.2',
  fingerprint: 'f1',
  subnetwork: 'https://www.googleapis.com/compute/v1/projects/p/regions/europe-west1/subnetworks/nodes',
  aliasIpRanges: [],
};
const running: GceOperation = { name: 'op-1', status: 'RUNNING', errors: [] };
const done: GceOperation = { name: 'op-1', status: 'DONE', errors: [] };

/** A NIC I/O whose sends and waits answer from the scripts given, in order, and that records every call. */
function scriptedIo(sends: (() => GceOperation)[], waits: (() => GceOperation)[]) {
  const seen: Seen[] = [];
  const io: NicIo = {
    readNic: async () => {
      seen.push({ call: 'read' });
      return { nic, status: 'RUNNING' };
    },
    readSubnet: async () => ({
      name: 'nodes',
      ipCidrRange: '10.0.0.0/24',
      secondaryIpRanges: [{ rangeName: 'cloud-egress-prod', ipCidrRange: '10.1.0.0/24' }],
    }),
    sendAliases: async (_t, _n, _r, requestId) => {
      seen.push({ call: 'send', requestId });
      return sends.shift()!();
    },
    waitDone: async () => {
      seen.push({ call: 'wait' });
      return waits.shift()!();
    },
    operationFailure: (_t, op) =>
      new ProviderError('conflict', op.errors[0]!.message, { code: op.errors[0]!.code }),
    instancePermissions: async () => [],
    subnetworkPermissions: async () => [],
  };
  return { io, seen };
}

const edits: Edit[] = [{ kind: 'add', ip: '10.1.0.5' }];
const fail = (error: ProviderError) => () => {
  throw error;
};

/** Runs the attempt until it succeeds (as the engine does after retryable errors), at most `tries` times. */
async function attempts(io: NicIo, tries: number) {
  const attempt = gcpDriver(io, { owner: 'prod' }).write(target, edits);
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (i >= tries) throw err;
    }
  }
}

describe('gcp driver: a write decided on is sent again as it is until GCP has answered it', () => {
  it('after a lost answer (5xx, reset): the same request, same requestId, without reading again', async () => {
    const lost = fail(new ProviderError('transient', 'socket hang up'));
    const { io, seen } = scriptedIo([lost, () => running], [() => done]);
    await attempts(io, 2);
    expect(seen.map((s) => s.call)).toEqual(['read', 'send', 'send', 'wait']);
    expect(seen[2]?.requestId).toBe(seen[1]?.requestId);
  });

  it('after a wait that ended before DONE: the same requestId again, which answers the same operation', async () => {
    const late = fail(new ProviderError('transient', 'operation op-1 not DONE after 15 ms'));
    const { io, seen } = scriptedIo([() => running, () => running], [late, () => done]);
    await attempts(io, 2);
    expect(seen.map((s) => s.call)).toEqual(['read', 'send', 'wait', 'send', 'wait']);
    expect(new Set(seen.filter((s) => s.call === 'send').map((s) => s.requestId)).size).toBe(1);
  });

  it('after a 412 (stale fingerprint) or an operation that failed: decides afresh, with a new requestId', async () => {
    const stale = fail(new ProviderError('conflict', 'Invalid fingerprint.', { code: 'conditionNotMet' }));
    const lostRace = () => ({
      ...done,
      errors: [{ code: 'CONDITION_NOT_MET', message: 'Invalid fingerprint.' }],
    });
    const { io, seen } = scriptedIo([stale, () => running, () => running], [lostRace, () => done]);
    await attempts(io, 3);
    expect(seen.map((s) => s.call)).toEqual(['read', 'send', 'read', 'send', 'wait', 'read', 'send', 'wait']);
    const ids = seen.filter((s) => s.call === 'send').map((s) => s.requestId);
    expect(new Set(ids).size).toBe(3);
  });
});
