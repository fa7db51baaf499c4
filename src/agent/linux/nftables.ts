/**
 * @module
 * The agent's nftables table through `nft`: read back with `nft -j list table` (typed, normalised to the
 * element keys the planner compares), written with `nft -f -` transactions fed on stdin, so each write is
 * atomic: packets see the old table or the new one, never a half.
 */
import type { DesiredDataplane, NftSetKind, NftState } from '../dataplane.ts';
import { intervalKey, parseInterval } from '../ip-intervals.ts';
import { FINGERPRINT_PREFIX, parseSnatCounterName, renderElements } from '../nft-model.ts';
import { isAbsent } from './iproute.ts';
import { CommandError, type RunCommand } from './run-command.ts';

type Elem =
  | string
  | number
  | { prefix: { addr: string; len: number } }
  | { range: [string, string] }
  | { elem: { val: Elem } };
type MapElem = [Elem, Record<string, { target?: string } | null>];
interface NftJsonItem {
  set?: { name: string; flags?: string[]; elem?: Elem[] };
  map?: { name: string; elem?: MapElem[] };
  rule?: { chain: string; comment?: string };
}

function elemKey(e: Elem, interval: boolean): string {
  if (typeof e === 'number') return String(e);
  if (typeof e === 'string') return interval ? intervalKey(parseInterval(e)) : e;
  if ('elem' in e) return elemKey(e.elem.val, interval);
  if ('prefix' in e) return intervalKey(parseInterval(`${e.prefix.addr}/${e.prefix.len}`));
  return intervalKey(parseInterval(`${e.range[0]}-${e.range[1]}`));
}

function verdictText(v: MapElem[1]): string {
  const [kind, arg] = Object.entries(v)[0] ?? ['', null];
  return arg && typeof arg === 'object' && arg.target ? `${kind} ${arg.target}` : kind;
}

/** Parses `nft -j list table` output. */
export function parseNftTable(text: string): NftState {
  const items = (JSON.parse(text) as { nftables: NftJsonItem[] }).nftables;
  let fingerprint = '';
  const sets: Record<string, Map<string, string>> = {};
  for (const item of items) {
    if (item.set) {
      const interval = item.set.flags?.includes('interval') ?? false;
      sets[item.set.name] = new Map((item.set.elem ?? []).map((e) => [elemKey(e, interval), '']));
    } else if (item.map) {
      sets[item.map.name] = new Map(
        (item.map.elem ?? []).map(([k, v]) => [elemKey(k, false), verdictText(v)]),
      );
    } else if (item.rule?.chain === 'prerouting' && item.rule.comment?.startsWith(FINGERPRINT_PREFIX)) {
      fingerprint = item.rule.comment.slice(FINGERPRINT_PREFIX.length);
    }
  }
  return { fingerprint, sets };
}

/** Reads the table, or undefined when it does not exist. */
export async function readNft(run: RunCommand, table: string): Promise<NftState | undefined> {
  try {
    return parseNftTable((await run('nft', ['-j', 'list', 'table', 'inet', table])).stdout);
  } catch (err) {
    if (isAbsent(err)) return undefined;
    throw err;
  }
}

/** Text of a transaction that replaces the whole table with `desired`. */
export function replaceText(table: string, desired: DesiredDataplane): string {
  let text = `add table inet ${table}\ndelete table inet ${table}\n${desired.nftStructure}`;
  for (const [set, elements] of Object.entries(desired.nft.sets)) {
    text += renderElements('add', table, set, desired.nftSetKinds[set] ?? 'set', elements);
  }
  return text;
}

/** Text of a transaction that changes one set's elements. */
export function elementsText(
  table: string,
  set: string,
  kind: NftSetKind,
  add: ReadonlyMap<string, string>,
  remove: ReadonlyMap<string, string>,
): string {
  return renderElements('delete', table, set, kind, remove) + renderElements('add', table, set, kind, add);
}

/** Runs one `nft -f -` transaction. */
export async function nftTransaction(run: RunCommand, text: string): Promise<void> {
  if (text === '') return;
  await run('nft', ['-f', '-'], text);
}

/** Deletes the table; absent is fine. */
export async function deleteNft(run: RunCommand, table: string): Promise<void> {
  try {
    await run('nft', ['delete', 'table', 'inet', table]);
  } catch (err) {
    if (!isAbsent(err) && !(err instanceof CommandError && /No such file/.test(err.stderr))) throw err;
  }
}

/** Traffic SNATed to one egress IP held on this node, since its SNAT rule was (re)created. */
export interface SnatCounter {
  readonly egressIp: string;
  /** Connections (the SNAT rule sees the first packet of each). */
  readonly connections: number;
  /** Packets and bytes sent with the egress IP as source. */
  readonly packets: number;
  readonly bytes: number;
}

/** Parses `nft -j list counters table` output into per-egress-IP counters. */
export function parseSnatCounters(text: string): SnatCounter[] {
  const items = (
    JSON.parse(text) as { nftables: { counter?: { name: string; packets: number; bytes: number } }[] }
  ).nftables;
  const byIp = new Map<string, { egressIp: string; connections: number; packets: number; bytes: number }>();
  for (const { counter } of items) {
    const id = counter ? parseSnatCounterName(counter.name) : undefined;
    if (!counter || !id) continue;
    const entry = byIp.get(id.ip) ?? { egressIp: id.ip, connections: 0, packets: 0, bytes: 0 };
    if (id.role === 'connections') entry.connections = counter.packets;
    else {
      entry.packets = counter.packets;
      entry.bytes = counter.bytes;
    }
    byIp.set(id.ip, entry);
  }
  return [...byIp.values()];
}

/** Reads the SNAT counters (one `nft -j list counters`); none when the table does not exist. */
export async function readSnatCounters(run: RunCommand, table: string): Promise<SnatCounter[]> {
  try {
    return parseSnatCounters((await run('nft', ['-j', 'list', 'counters', 'table', 'inet', table])).stdout);
  } catch (err) {
    if (isAbsent(err) || (err instanceof CommandError && /No such file/.test(err.stderr))) return [];
    throw err;
  }
}
