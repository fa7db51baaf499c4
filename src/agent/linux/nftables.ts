/**
 * @module
 * The agent's nftables table through `nft`: read back with `nft -j list table` (typed, normalised to the
 * element keys the planner compares), written with `nft -f -` transactions fed on stdin, so each write is
 * atomic for the rules: a reader sees the old table or the new one, never a half.
 *
 * Packets are another matter when the whole table is replaced (`add table; delete table; table {...}` in
 * one transaction): while the kernel swaps the tables, the first packets of new connections can pass with
 * no table classifying them, so a selected pod's packet leaves unmarked, masqueraded to the node IP (about
 * one packet in 5 replaces at 20,000 new connections a second, `test/agent/fail-closed.test.ts`). Two
 * tables replaced one after the other never leave that gap, so a replace goes through a handover table:
 *
 * ```
 *  step  transaction                       who classifies meanwhile
 *  ----  --------------------------------  ------------------------------------------------------------
 *   1    <table>_handover := desired       the old table and the handover (a packet either drops is
 *                                          dropped: fail closed; both mark alike)
 *   2    <table> := desired                the handover, while <table> is swapped
 *   3    delete <table>_handover           <table>
 * ```
 *
 * An agent stopped between the steps leaves the handover behind; the next read reports it
 * (`NftState.handover`) and the planner replaces again, which ends with step 3.
 */
import type { DesiredDataplane, NftSetKind, NftState } from '../dataplane.ts';
import { intervalKey, parseInterval } from '../ip-intervals.ts';
import {
  answersTable,
  copyTable,
  FINGERPRINT_PREFIX,
  parseSnatCounterName,
  renderElements,
  returnTable,
} from '../nft-model.ts';
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

/** The name of the table that classifies while `table` is replaced (see the module comment). */
export function handoverTable(table: string): string {
  return `${table}_handover`;
}

/**
 * Reads the table, or undefined when it does not exist; `handover` is set when a replace was interrupted
 * (the handover table is still there).
 */
export async function readNft(run: RunCommand, table: string): Promise<NftState | undefined> {
  const [state, tables] = await Promise.all([
    run('nft', ['-j', 'list', 'table', 'inet', table]).then(
      (r) => parseNftTable(r.stdout),
      (err: unknown) => {
        if (isAbsent(err)) return undefined;
        throw err;
      },
    ),
    run('nft', ['-j', 'list', 'tables', 'inet']).then((r) => r.stdout),
  ]);
  const handover = (JSON.parse(tables) as { nftables: { table?: { name: string } }[] }).nftables.some(
    (i) => i.table?.name === handoverTable(table),
  );
  if (!handover) return state;
  return { ...(state ?? { fingerprint: '', sets: {} }), handover: true };
}

/** Text of a transaction that replaces the whole table `table` with `desired` (named `table`). */
export function replaceText(table: string, desired: DesiredDataplane): string {
  // The structure text names the agent's table in its first line; the handover table is the same but for it.
  const structure = desired.nftStructure.replace(/^table inet \S+ \{/, `table inet ${table} {`);
  let text = `add table inet ${table}\ndelete table inet ${table}\n${structure}`;
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

/**
 * The transactions that replace `table` with `desired` through its handover table, in order (see the module
 * comment). The last one removes the handover whether or not it exists (`add` then `delete`).
 */
export function replaceSteps(table: string, desired: DesiredDataplane): string[] {
  const handover = handoverTable(table);
  return [
    replaceText(handover, desired),
    replaceText(table, desired),
    `add table inet ${handover}\ndelete table inet ${handover}\n`,
  ];
}

/** Deletes the table, its copies' table and its return path's table (nft-model.ts); absent is fine. */
export async function deleteNft(run: RunCommand, table: string): Promise<void> {
  for (const [family, name] of [
    ['inet', table],
    ['netdev', copyTable(table)],
    ['netdev', returnTable(table)],
    ['ip', answersTable(table)],
  ] as const) {
    try {
      await run('nft', ['delete', 'table', family, name]);
    } catch (err) {
      if (!isAbsent(err) && !(err instanceof CommandError && /No such file/.test(err.stderr))) throw err;
    }
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
