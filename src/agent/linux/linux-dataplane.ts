/**
 * @module
 * The Linux {@link Dataplane}: reads the agent's kernel state with `ip -j`, `bridge -j` and `nft -j`, and
 * applies changes with atomic `nft -f -` transactions and iproute2 batches. Consecutive element changes are
 * batched into one transaction, consecutive route, rule, address and peer changes into one `ip -batch` (and
 * one `bridge -batch`). New egress IPs are announced with a gratuitous ARP (`arping -U`) so that neighbours
 * on an L2 segment (the on-prem `none` provider) move to this node at once. Kernel settings are written as
 * files under a `/proc/sys` mount (see `proc-sys.ts`); the tunnel's `rp_filter` on every observation of a
 * sync (the first, after a failure, every resync), so drift is repaired and a read-only mount fails
 * everywhere; a cleanup's observation writes nothing.
 */
import type { Logger } from '../../log.ts';
import type { AddressState, Change, Dataplane, DataplaneState, ObserveOptions } from '../dataplane.ts';
import { adoptCommands, flowsToAdopt, parseTcpFlows } from '../handover-flows.ts';
import { SETS } from '../nft-model.ts';
import type { DataplaneSettings } from '../settings.ts';
import { type IpCommand, runIpBatch } from './ip-batch.ts';
import {
  addAddressCommand,
  addPeerCommands,
  addRouteCommand,
  addRuleCommand,
  createTunnel,
  deleteAddressCommand,
  deleteLink,
  deletePeerCommands,
  deleteRouteCommand,
  deleteRuleCommand,
  readAddresses,
  readPeers,
  readRoutes,
  readRules,
  readTunnel,
} from './iproute.ts';
import { type NftSession, SESSION_MAX_BYTES } from './nft-session.ts';
import {
  deleteNft,
  elementsText,
  handoverTable,
  nftTransaction,
  readNft,
  readSnatCounters,
  replaceSteps,
  type SnatCounter,
} from './nftables.ts';
import {
  ipv6AnnounceKeys,
  procSysReader,
  procSysWriter,
  rpFilterKey,
  type SysctlReader,
  type SysctlWriter,
  TCP_BE_LIBERAL_KEY,
} from './proc-sys.ts';
import { CommandError, type RunCommand } from './run-command.ts';

/** Options of a {@link LinuxDataplane}. */
export interface LinuxDataplaneOptions {
  readonly run: RunCommand;
  readonly settings: DataplaneSettings;
  /** Send a gratuitous ARP for each new egress IP. */
  readonly announce: boolean;
  readonly logger?: Logger;
  /** A long-lived `nft -i` for small element transactions (one pod): no process start per change. */
  readonly session?: NftSession;
  /** Writes kernel settings; default: files under `/proc/sys` of this process's network namespace. */
  readonly sysctl?: SysctlWriter;
  /** Reads kernel settings; default as {@link sysctl}. */
  readonly sysctlRead?: SysctlReader;
}

const defaultSysctl = procSysWriter();
const defaultSysctlRead = procSysReader();

/** The Linux dataplane. */
export class LinuxDataplane implements Dataplane {
  readonly #o: LinuxDataplaneOptions;
  readonly #announcing = new Set<Promise<void>>();
  /** The liberal tracking setting as it was before {@link handoverTracking} turned it on. */
  #liberalBefore: string | undefined;

  constructor(options: LinuxDataplaneOptions) {
    this.#o = options;
  }

  async observe(options: ObserveOptions = {}): Promise<DataplaneState> {
    const { run, settings: s } = this.#o;
    const [tunnel, nft, rules, routes] = await Promise.all([
      readTunnel(run, s.tunnelName),
      readNft(run, s.nftTable),
      readRules(run, s.routeProtocol),
      readRoutes(run, s.routeProtocol),
    ]);
    // The tunnel's loose reverse-path filtering is written on every observation of a sync, not only when
    // the tunnel is made: drift is repaired, and a `/proc/sys` that cannot be written (a chart without the
    // mount) fails the sync on every node, not only on nodes that still need the tunnel. Not for a cleanup.
    if (tunnel && options.repairSettings) await this.#sysctl(rpFilterKey(tunnel.name), '2');
    const owned = new Set([
      ...(nft?.sets[SETS.owned]?.keys() ?? []),
      ...(nft?.sets[SETS.owned6]?.keys() ?? []),
    ]);
    const [peers, addresses] = await Promise.all([
      tunnel ? readPeers(run, s.tunnelName) : Promise.resolve([]),
      // Owned addresses on any device: a changed egress interface leaves none behind.
      readAddresses(run, undefined, owned),
    ]);
    return { tunnel, peers, rules, routes, addresses, nft };
  }

  async apply(changes: readonly Change[]): Promise<void> {
    const { run, settings: s } = this.#o;
    // Consecutive element changes go in one nft transaction, consecutive route, rule, address and peer
    // changes in one `ip -batch` and one `bridge -batch`; the order of the changes is kept.
    let nftBatch = '';
    let ipBatch: IpCommand[] = [];
    let announce: AddressState[] = [];
    const flushNft = async () => {
      if (nftBatch === '') return;
      const text = nftBatch;
      nftBatch = '';
      await this.#nft(text);
    };
    const flushIp = async () => {
      if (ipBatch.length === 0) return;
      const commands = ipBatch;
      const added = announce;
      ipBatch = [];
      announce = [];
      await runIpBatch(run, commands);
      if (this.#o.announce) for (const a of added) if (!a.ip.includes(':')) this.#announce(a.ip, a.dev);
    };
    for (const c of changes) {
      if (c.kind === 'nft.elements') {
        await flushIp();
        nftBatch += elementsText(s.nftTable, c.set, c.setKind, c.add, c.remove);
        continue;
      }
      const commands = await this.#ipCommands(c);
      if (commands) {
        await flushNft();
        ipBatch.push(...commands);
        if (c.kind === 'address.add' && c.announce) announce.push(c.address);
        continue;
      }
      await flushNft();
      await flushIp();
      switch (c.kind) {
        case 'tunnel.create':
          await createTunnel(run, c.tunnel, this.#sysctl);
          break;
        case 'tunnel.delete':
          await deleteLink(run, c.name);
          break;
        case 'nft.replace':
          for (const text of replaceSteps(s.nftTable, c.desired)) await this.#nft(text);
          break;
        case 'nft.delete':
          await deleteNft(run, handoverTable(s.nftTable));
          await deleteNft(run, s.nftTable);
          break;
        case 'conntrack.flush':
          await this.#flushConnections(c.mark);
          break;
      }
    }
    await flushNft();
    await flushIp();
  }

  /** The iproute2 commands of a route, rule, address or peer change; undefined for other changes. */
  async #ipCommands(c: Change): Promise<IpCommand[] | undefined> {
    const s = this.#o.settings;
    switch (c.kind) {
      case 'peer.add':
        return addPeerCommands(c.dev, c.peer);
      case 'peer.delete':
        return deletePeerCommands(c.dev, c.peer);
      case 'route.add':
        // The egress route of a dedicated egress interface: replies to egress IPs come in there while
        // the main table reaches their sources by another device, so its source check is loose.
        if (c.route.kind === 'via' && c.route.dev !== s.tunnelName) {
          await this.#sysctl(rpFilterKey(c.route.dev), '2');
        }
        return [addRouteCommand(c.route, s.routeProtocol)];
      case 'route.delete':
        return [deleteRouteCommand(c.route, s.routeProtocol)];
      case 'rule.add':
        return [addRuleCommand(c.rule, s.routeProtocol)];
      case 'rule.delete':
        return [deleteRuleCommand(c.rule, s.routeProtocol)];
      case 'address.add': {
        // IPv6: the kernel advertises the address itself when the device is set for it (proc-sys.ts).
        const advertise = c.announce && this.#o.announce && c.address.ip.includes(':');
        if (advertise)
          for (const [key, value] of ipv6AnnounceKeys(c.address.dev)) await this.#sysctl(key, value);
        return [addAddressCommand(c.address, advertise)];
      }
      case 'address.delete':
        return [deleteAddressCommand(c.address)];
      default:
        return undefined;
    }
  }

  /**
   * `conntrack -D --mark <mark>/<mask>`. Best effort: a missing tool or a failure is logged, never fails
   * the sync (the flows it would mend recover when their entries expire, as without it).
   */
  async #flushConnections(mark: number): Promise<void> {
    const mask = this.#o.settings.markMask;
    try {
      const deleted = await this.#conntrack([
        '-D',
        '--mark',
        `0x${mark.toString(16)}/0x${mask.toString(16)}`,
      ]);
      this.#o.logger?.debug({ mark, deleted }, 'conntrack entries flushed');
    } catch (err) {
      this.#o.logger?.warn(
        { err, mark },
        'could not flush the conntrack entries of an egress IP that moved (is conntrack installed?)',
      );
    }
  }

  /**
   * Runs a `conntrack` delete or update and resolves with how many entries it changed: conntrack says so on
   * stderr (`N flow entries have been deleted|updated`) and exits 1 when that is none, which is no error here.
   */
  async #conntrack(args: readonly string[]): Promise<number> {
    const changed = (stderr: string) => /(\d+) flow entries have been (?:deleted|updated)/.exec(stderr)?.[1];
    return this.#o.run('conntrack', args).then(
      (out) => Number(changed(out.stderr) ?? 0),
      (err: unknown) => {
        if (err instanceof CommandError && changed(err.stderr) === '0') return 0;
        throw err;
      },
    );
  }

  /** One nft transaction: through the `nft -i` session when there is one and the text is small. */
  async #nft(text: string): Promise<void> {
    const session = this.#o.session;
    if (session && text.length <= SESSION_MAX_BYTES) await session.run(text);
    else await nftTransaction(this.#o.run, text);
  }

  /**
   * Adopts the half-open TCP connections SNATed to `egressIps` (see `handover-flows.ts`): one
   * `conntrack -L` of the SYN_SENT entries, then one `conntrack -U` per entry to adopt (a batch through
   * `conntrack -R` stops half-way with "Protocol error" on some lines, conntrack-tools 1.4.7). An entry gone
   * meanwhile is skipped. Resolves with how many it adopted.
   */
  async adoptHandoverFlows(egressIps: readonly string[]): Promise<number> {
    const listed = await this.#o.run('conntrack', ['-L', '-p', 'tcp', '--state', 'SYN_SENT']);
    let adopted = 0;
    for (const args of adoptCommands(flowsToAdopt(parseTcpFlows(listed.stdout), new Set(egressIps)))) {
      adopted += await this.#conntrack(args);
    }
    return adopted;
  }

  /**
   * conntrack's liberal TCP window tracking on (a planned move begins here) or back to what it was (it is over).
   * During a move each of the two gateways sees only part of a connection's segments (the cloud delivers the
   * server's to one of them), so strict tracking would mark the client's next segments invalid on the other
   * ("ACK is over upper bound": it acknowledges data that gateway never saw) and drop them.
   */
  async handoverTracking(on: boolean): Promise<void> {
    if (on) {
      this.#liberalBefore ??= await (this.#o.sysctlRead ?? defaultSysctlRead)(TCP_BE_LIBERAL_KEY);
      await this.#sysctl(TCP_BE_LIBERAL_KEY, '1');
      return;
    }
    if (this.#liberalBefore === undefined) return;
    await this.#sysctl(TCP_BE_LIBERAL_KEY, this.#liberalBefore);
    this.#liberalBefore = undefined;
  }

  /** Packets and bytes SNATed to each egress IP held here (the SNAT rules' counters), one `nft -j` read. */
  snatCounters(): Promise<SnatCounter[]> {
    return readSnatCounters(this.#o.run, this.#o.settings.nftTable);
  }

  get #sysctl(): SysctlWriter {
    return this.#o.sysctl ?? defaultSysctl;
  }

  /** Waits for gratuitous ARPs still being sent. */
  async settle(): Promise<void> {
    await Promise.all(this.#announcing);
  }

  /** Waits for announcements and ends the `nft -i` session, if any. */
  async close(): Promise<void> {
    await this.settle();
    this.#o.session?.close();
  }

  #announce(ip: string, dev: string): void {
    const p = this.#o
      .run('arping', ['-q', '-U', '-c', '1', '-I', dev, ip])
      .then(() => this.#o.logger?.debug({ ip, dev }, 'gratuitous ARP sent'))
      .catch((err: unknown) => this.#o.logger?.warn({ err, ip, dev }, 'gratuitous ARP failed'))
      .finally(() => this.#announcing.delete(p));
    this.#announcing.add(p);
  }
}
