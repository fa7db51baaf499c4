/**
 * @module
 * Which tracked connections a gateway adopts during a planned move of an egress IP (a handover), and the
 * `conntrack` commands that do it. Pure.
 *
 * During a handover both gateways SNAT what the tunnel brings them for the IP (one copies it to the other),
 * but the cloud delivers the IP to one of them at a time. A connection opened meanwhile is tracked on both;
 * its handshake answer reaches only the cloud's holder, so the other gateway's entry stays in `SYN_SENT`,
 * and once the cloud moves the IP there the client's next segments are invalid in that state: they are not
 * NATed, and the connection stalls until its entry expires. Adopting such entries (declaring them
 * established, as a gateway that had seen the answer would) lets the NAT carry them on.
 *
 * ```
 * tracked entry                  reply destination (the SNAT     decision
 *                                address)
 * TCP SYN_SENT                   an egress IP this node is a     ESTABLISHED with a SYN_SENT-sized timeout
 *                                gateway of in a handover        (ADOPTED_TIMEOUT_SECONDS): the next segment
 *                                                                 refreshes it; a handshake that never
 *                                                                 completes still expires soon
 * TCP SYN_SENT                   anything else                   left alone (not the agent's)
 * any other state or protocol    -                               left alone (already established, closing,
 *                                                                 or stateless enough for NAT: UDP, ICMP)
 * ```
 *
 * On the gateway that did get the answer, adopting an entry in the instant before it arrives is harmless:
 * an answer to an established entry is accepted and NATed by that entry (the kernel's TCP tracker ignores it
 * for its state, `nf_conntrack_proto_tcp.c`, SYN/ACK in ESTABLISHED -> ignore), and the window tracking
 * picks the reply direction up from its next segment.
 */

/** One TCP entry of `conntrack -L`: the original tuple, its state and the reply tuple's destination. */
export interface TrackedFlow {
  readonly state: string;
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
  /** Destination of the reply tuple: the address the connection was SNATed to. */
  readonly replyDst: string;
}

/** Timeout of an adopted entry: the kernel's default for SYN_SENT (`nf_conntrack_tcp_timeout_syn_sent`). */
export const ADOPTED_TIMEOUT_SECONDS = 120;

/**
 * The TCP entries of `conntrack -L` output (the default text format: `tcp 6 <timeout> <STATE> src=.. dst=..
 * sport=.. dport=.. [flags] src=.. dst=.. ...`); other lines and protocols are skipped.
 */
export function parseTcpFlows(text: string): TrackedFlow[] {
  const flows: TrackedFlow[] = [];
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] !== 'tcp' || words.length < 4) continue;
    // Each key comes twice: the original tuple's value first, then the reply tuple's.
    const fields: Record<string, string[]> = {};
    for (const w of words) {
      const eq = w.indexOf('=');
      if (eq <= 0) continue;
      const key = w.slice(0, eq);
      fields[key] = [...(fields[key] ?? []), w.slice(eq + 1)];
    }
    const [src, replySrc] = fields.src ?? [];
    const [dst, replyDst] = fields.dst ?? [];
    const [sport] = fields.sport ?? [];
    const [dport] = fields.dport ?? [];
    if (!src || !dst || !sport || !dport || !replySrc || !replyDst) continue;
    flows.push({ state: words[3]!, src, dst, sport: Number(sport), dport: Number(dport), replyDst });
  }
  return flows;
}

/** The entries to adopt: see the module comment's table. */
export function flowsToAdopt(flows: readonly TrackedFlow[], movingIps: ReadonlySet<string>): TrackedFlow[] {
  return flows.filter((f) => f.state === 'SYN_SENT' && movingIps.has(f.replyDst));
}

/** The `conntrack` arguments that adopt each of `flows`: an update by its original tuple. */
export function adoptCommands(flows: readonly TrackedFlow[]): string[][] {
  return flows.map((f) => [
    '-U',
    '-p',
    'tcp',
    '-s',
    f.src,
    '-d',
    f.dst,
    '--sport',
    String(f.sport),
    '--dport',
    String(f.dport),
    '--state',
    'ESTABLISHED',
    '-t',
    String(ADOPTED_TIMEOUT_SECONDS),
  ]);
}
