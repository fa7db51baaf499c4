import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/provider/contract.ts';
import type { Ec2Api } from './ec2-api.ts';
import type { Ec2Reader, ResolvedNode, SubnetView } from './ec2-reader.ts';
import { claimedIPs, claimsVersionKey } from './eni.ts';
import { CLAIMS_SETTLE_MS, subnetClaims } from './subnet-claims.ts';

/**
 * One subnet's tags, kept as the history of their states: a read answers the newest state unless told to answer
 * an older one (EC2's eventual consistency), a write adds a state.
 */
function laggingSubnet() {
  const history: Map<string, string>[] = [new Map()];
  let lagNext = 0;
  const latest = () => history[history.length - 1]!;
  const api = {
    async createTags(input: { Tags?: { Key?: string; Value?: string }[] }) {
      const next = new Map(latest());
      for (const t of input.Tags ?? []) next.set(t.Key!, t.Value ?? '');
      history.push(next);
      return {};
    },
    async deleteTags(input: { Tags?: { Key?: string }[] }) {
      const next = new Map(latest());
      for (const t of input.Tags ?? []) next.delete(t.Key!);
      history.push(next);
      return {};
    },
  } as unknown as Ec2Api;
  const reader = {
    async readSubnet(_r: ResolvedNode, id: string): Promise<SubnetView> {
      const at = Math.max(0, history.length - 1 - lagNext);
      lagNext = 0;
      return { id, cidrs: ['10.0.1.0/24'], tags: new Map(history[at]!) };
    },
  } as unknown as Ec2Reader;
  return {
    api,
    reader,
    /** The next read answers the state `writes` writes ago. */
    lag(writes: number) {
      lagNext = writes;
    },
    /** What the subnet's tags say now. */
    tags: () => latest(),
    /** Edits the tags behind the provider's back, as a person would. */
    edit(change: (tags: Map<string, string>) => void) {
      const next = new Map(latest());
      change(next);
      history.push(next);
    },
  };
}

const resolved = (api: Ec2Api) => ({ api }) as unknown as ResolvedNode;

describe('subnet claims', () => {
  it('refuse an update whose read predates their own last write, and lose no claim on the retry', async () => {
    const subnet = laggingSubnet();
    const claims = subnetClaims('me', subnet.reader);
    const r = resolved(subnet.api);
    await claims.update(r, 'subnet-1', { add: ['10.0.1.10'] });
    // The next read shows the subnet as before that write: an update from it would drop 10.0.1.10.
    subnet.lag(1);
    const refused = await claims.update(r, 'subnet-1', { add: ['10.0.1.11'] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ProviderError);
    expect((refused as ProviderError).kind).toBe('transient');
    expect([...claimedIPs(subnet.tags(), 'me')]).toEqual(['10.0.1.10']);
    await claims.update(r, 'subnet-1', { add: ['10.0.1.11'] });
    expect([...claimedIPs(subnet.tags(), 'me')].sort()).toEqual(['10.0.1.10', '10.0.1.11']);
  });

  it('refuse a read from between the two calls of one update (claims deleted, their version not yet written)', async () => {
    const subnet = laggingSubnet();
    const claims = subnetClaims('me', subnet.reader);
    const r = resolved(subnet.api);
    await claims.update(r, 'subnet-1', { add: ['10.0.1.10'] });
    await claims.update(r, 'subnet-1', { remove: ['10.0.1.10'] });
    // One state back: DeleteTags done, CreateTags of the new version not yet.
    subnet.lag(1);
    await expect(claims.update(r, 'subnet-1', { add: ['10.0.1.14'] })).rejects.toMatchObject({
      kind: 'transient',
    });
    await claims.update(r, 'subnet-1', { add: ['10.0.1.14'] });
    expect([...claimedIPs(subnet.tags(), 'me')]).toEqual(['10.0.1.14']);
  });

  it('take claims edited behind their back as read, and a version left long enough as someone else’s', async () => {
    const subnet = laggingSubnet();
    let now = 0;
    const claims = subnetClaims('me', subnet.reader, { now: () => now });
    const r = resolved(subnet.api);
    await claims.update(r, 'subnet-1', { add: ['10.0.1.10'] });
    // A person removes the claims but leaves the version: taken as it is.
    subnet.edit((tags) => {
      for (const k of [...tags.keys()]) if (k !== claimsVersionKey('me')) tags.delete(k);
    });
    await claims.update(r, 'subnet-1', { add: ['10.0.1.11'] });
    expect([...claimedIPs(subnet.tags(), 'me')]).toEqual(['10.0.1.11']);
    // Someone puts back an older state, version and all: refused while it could be a stale read, then taken.
    const old = new Map(subnet.tags());
    await claims.update(r, 'subnet-1', { add: ['10.0.1.12'] });
    subnet.edit((tags) => {
      tags.clear();
      for (const [k, v] of old) tags.set(k, v);
    });
    await expect(claims.update(r, 'subnet-1', { add: ['10.0.1.13'] })).rejects.toMatchObject({
      kind: 'transient',
    });
    now += CLAIMS_SETTLE_MS;
    await claims.update(r, 'subnet-1', { add: ['10.0.1.13'] });
    expect([...claimedIPs(subnet.tags(), 'me')].sort()).toEqual(['10.0.1.11', '10.0.1.13']);
  });

  it('refuse to answer which IPs they claim from a read older than their last write', async () => {
    const subnet = laggingSubnet();
    const claims = subnetClaims('me', subnet.reader);
    const r = resolved(subnet.api);
    await claims.update(r, 'subnet-1', { add: ['10.0.1.10'] });
    const current = await subnet.reader.readSubnet(r, 'subnet-1');
    expect([...claims.of(current)]).toEqual(['10.0.1.10']);
    subnet.lag(1);
    const old = await subnet.reader.readSubnet(r, 'subnet-1');
    expect(() => claims.of(old)).toThrow(expect.objectContaining({ kind: 'transient' }));
  });

  it('write nothing when nothing changes, and keep the version tag out of the claimed IPs', async () => {
    const subnet = laggingSubnet();
    const claims = subnetClaims('me', subnet.reader);
    const r = resolved(subnet.api);
    await claims.update(r, 'subnet-1', { add: ['10.0.1.10'] });
    const before = new Map(subnet.tags());
    await claims.update(r, 'subnet-1', { add: ['10.0.1.10'] });
    await claims.update(r, 'subnet-1', {});
    expect(subnet.tags()).toEqual(before);
    expect(subnet.tags().get(claimsVersionKey('me'))).toMatch(/\S/);
    expect([...claimedIPs(subnet.tags(), 'me')]).toEqual(['10.0.1.10']);
  });
});
