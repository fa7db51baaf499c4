/**
 * @module
 * A {@link Dataplane} kept in memory, for fast tests of the agent's decisions: it applies changes with the
 * kernel's strictness (adding what exists or deleting what is absent fails, as `ip` and `nft` do), and
 * records every change applied so tests can assert that a second sync does nothing.
 */
import type { Change, Dataplane, DataplaneState, NftState } from './dataplane.ts';
import { EMPTY_STATE } from './dataplane.ts';

/** Thrown for a change the kernel would refuse. */
export class MemoryDataplaneError extends Error {
  override readonly name = 'MemoryDataplaneError';
}

/** The in-memory dataplane. */
export class MemoryDataplane implements Dataplane {
  #state: DataplaneState;
  /** Every change applied, in order. */
  readonly applied: Change[] = [];
  /** Addresses announced (gratuitous ARP), in order. */
  readonly announced: string[] = [];
  /** When set, `apply` fails on the change of this kind (once). */
  failOn: Change['kind'] | undefined;

  constructor(initial: DataplaneState = EMPTY_STATE) {
    this.#state = initial;
  }

  /** The current state. */
  get state(): DataplaneState {
    return this.#state;
  }

  async observe(): Promise<DataplaneState> {
    return this.#state;
  }

  async apply(changes: readonly Change[]): Promise<void> {
    for (const c of changes) {
      if (this.failOn === c.kind) {
        this.failOn = undefined;
        throw new MemoryDataplaneError(`injected failure on ${c.kind}`);
      }
      this.#state = step(this.#state, c, this.announced);
      this.applied.push(c);
    }
  }
}

function without<T>(list: readonly T[], item: T, what: string): T[] {
  const text = JSON.stringify(item);
  const i = list.findIndex((x) => JSON.stringify(x) === text);
  if (i < 0) throw new MemoryDataplaneError(`${what} ${text} does not exist`);
  return [...list.slice(0, i), ...list.slice(i + 1)];
}

function withAdded<T>(list: readonly T[], item: T, what: string): T[] {
  const text = JSON.stringify(item);
  if (list.some((x) => JSON.stringify(x) === text)) throw new MemoryDataplaneError(`${what} ${text} exists`);
  return [...list, item];
}

function step(s: DataplaneState, c: Change, announced: string[]): DataplaneState {
  switch (c.kind) {
    case 'tunnel.create':
      if (s.tunnel) throw new MemoryDataplaneError(`device ${c.tunnel.name} exists`);
      return { ...s, tunnel: c.tunnel, peers: [], routes: s.routes.filter((r) => r.kind === 'throw') };
    case 'tunnel.delete':
      if (!s.tunnel) throw new MemoryDataplaneError(`device ${c.name} does not exist`);
      return { ...s, tunnel: undefined, peers: [], routes: s.routes.filter((r) => r.kind === 'throw') };
    case 'nft.replace': {
      const sets: Record<string, Map<string, string>> = {};
      for (const [k, v] of Object.entries(c.desired.nft.sets)) sets[k] = new Map(v);
      return { ...s, nft: { fingerprint: c.desired.nft.fingerprint, sets } };
    }
    case 'nft.elements': {
      if (!s.nft) throw new MemoryDataplaneError('table does not exist');
      const current = s.nft.sets[c.set];
      if (!current) throw new MemoryDataplaneError(`set ${c.set} does not exist`);
      const next = new Map(current);
      for (const k of c.remove.keys()) {
        if (!next.delete(k)) throw new MemoryDataplaneError(`element ${k} not in ${c.set}`);
      }
      for (const [k, v] of c.add) {
        if (next.has(k)) throw new MemoryDataplaneError(`element ${k} already in ${c.set}`);
        next.set(k, v);
      }
      const nft: NftState = { ...s.nft, sets: { ...s.nft.sets, [c.set]: next } };
      return { ...s, nft };
    }
    case 'nft.delete':
      if (!s.nft) throw new MemoryDataplaneError('table does not exist');
      return { ...s, nft: undefined };
    case 'peer.add':
      return { ...s, peers: withAdded(s.peers, c.peer, 'peer') };
    case 'peer.delete':
      return { ...s, peers: without(s.peers, c.peer, 'peer') };
    case 'route.add': {
      // `ip route replace`: a default route replaces the table's other default route.
      const route = c.route;
      const others = s.routes.filter(
        (r) => !(route.kind === 'via' && r.kind === 'via' && r.table === route.table),
      );
      return { ...s, routes: withAdded(others, route, 'route') };
    }
    case 'route.delete':
      return { ...s, routes: without(s.routes, c.route, 'route') };
    case 'rule.add':
      return { ...s, rules: withAdded(s.rules, c.rule, 'rule') };
    case 'rule.delete':
      return { ...s, rules: without(s.rules, c.rule, 'rule') };
    case 'address.add':
      if (c.announce) announced.push(c.address.ip);
      return { ...s, addresses: withAdded(s.addresses, c.address, 'address') };
    case 'address.delete':
      return { ...s, addresses: without(s.addresses, c.address, 'address') };
    case 'conntrack.flush':
      return s;
  }
}
