import { describe, expect, it } from 'vitest';
import { parseNftTable, parseSnatCounters } from './linux/nftables.ts';
import { renderElements, renderStructure } from './nft-model.ts';
import { DEFAULT_DATAPLANE_SETTINGS as S } from './settings.ts';

/** A node holding two egress IPs (mark values 18 and 19), no policies. */
const twoHeld = {
  settings: S,
  policies: [],
  markChains: new Map<number, number>(),
  snat: new Map([
    [18, '10.0.1.17'],
    [19, '10.0.1.18'],
  ]),
};

describe('nft text and read-back', () => {
  it('fingerprints the structure: equal inputs, equal text; a held IP changes it', () => {
    const input = {
      settings: S,
      policies: [{ prefix: 'pabc' }],
      markChains: new Map([[18, 18]]),
      snat: new Map(),
    };
    const a = renderStructure(input);
    expect(renderStructure(input)).toEqual(a);
    expect(a.text).toContain(`comment "cloud-egress ${a.fingerprint}"`);
    const b = renderStructure({ ...input, snat: new Map([[18, '10.0.1.17']]) });
    expect(b.fingerprint).not.toBe(a.fingerprint);
    expect(b.text).toContain('meta mark & 0x3fff == 0x12 counter name "new_10_0_1_17" snat ip to 10.0.1.17');
    expect(b.text).toContain(
      'oifname != "cegress0" counter name meta mark & 0x3fff map { 0x12 : "out_10_0_1_17" }\n',
    );
  });

  it('looks up the held IPs once per packet in the count and guard chains, however many there are', () => {
    const { text } = renderStructure(twoHeld);
    expect(text).toContain(
      'counter name meta mark & 0x3fff map { 0x12 : "out_10_0_1_17", 0x13 : "out_10_0_1_18" }\n',
    );
    expect(text).toContain('meta mark & 0x3fff . ip saddr { 0x12 . 10.0.1.17, 0x13 . 10.0.1.18 } return\n');
    expect(text).not.toContain('== 0x13 counter name "out_');
  });

  it("does not track the tunnel's outer packets between nodes, nor classify what comes out of the tunnel", () => {
    const { text } = renderStructure({ settings: S, policies: [], markChains: new Map(), snat: new Map() });
    expect(text).toContain(
      'type filter hook prerouting priority raw; policy accept;\n\t\tudp dport 4796 ip saddr @nodes4 notrack',
    );
    expect(text).toContain(
      'type filter hook output priority raw; policy accept;\n\t\tudp dport 4796 ip daddr @nodes4 notrack',
    );
    expect(text).toContain('\t\tiifname "cegress0" return\n\t\tct direction original jump classify');
  });

  it('return path tunnel: records the source node, routes its replies by mark, addresses them in the egress hook', () => {
    const returnPath = {
      nodeIds: new Map([
        ['02:ce:0a:00:00:01', 0x10000],
        ['02:ce:0a:00:00:03', 0x20000],
      ]),
      hopMac: '02:ce:a9:fe:ce:02',
    };
    const base = { settings: S, policies: [], markChains: new Map(), snat: new Map() };
    const { text } = renderStructure({ ...base, returnPath });
    // Recorded once per connection (connection mark still 0) from what comes out of the tunnel; replies marked
    // for the route back (also those the other gateway of a planned move sends on through the tunnel), before
    // the return that skips the classification.
    expect(text).toContain(
      '\t\tiifname "cegress0" ct direction original ct mark 0 ct mark set ether saddr map ' +
        '{ 02:ce:0a:00:00:01 : 0x10000, 02:ce:0a:00:00:03 : 0x20000 }\n' +
        '\t\tct direction reply ct mark & 0x3fff0000 != 0 meta mark set ct mark & 0x3fff0000 | 0x3fff\n' +
        '\t\tiifname "cegress0" return\n',
    );
    // The source node accepts the replies that come out of the tunnel, whatever their mark.
    expect(text).toContain(
      '\t\tiifname "cegress0" oifname "cegress0" drop\n\t\tiifname "cegress0" ct direction reply return\n' +
        '\t\tiifname "cegress0" meta mark & 0x3fff != @held_marks drop\n',
    );
    expect(text).toContain(
      'type filter hook egress device "cegress0" priority filter; policy accept;\n' +
        '\t\tmeta mark & 0x3fff == 0x3fff ether daddr set meta mark & 0x3fff0000 map ' +
        '{ 0x10000 : 02:ce:0a:00:00:01, 0x20000 : 02:ce:0a:00:00:03 } meta mark set meta mark & 0xc000c000\n' +
        '\t\tether daddr 02:ce:a9:fe:ce:02 drop\n',
    );
    // What the other gateway sends itself records nothing; its copies name the pod's node by their copy MAC.
    const copying = renderStructure({
      ...base,
      snat: new Map([[18, '10.0.1.17']]),
      copies: new Map([[18, '10.0.0.3']]),
      tunnelMac: '02:ce:0a:00:00:01',
      returnPath,
    });
    expect(copying.text).toContain(
      'ct mark 0 ether saddr != { 02:ce:0a:00:00:03 } ct mark set ether saddr map ' +
        '{ 02:ce:0a:00:00:01 : 0x10000, 02:ce:0a:00:00:03 : 0x20000, 02:cf:0a:00:00:01 : 0x10000, 02:cf:0a:00:00:03 : 0x20000 }',
    );
    // The copy leaves from the pod's node's copy MAC; the frame that goes on here gets its source MAC back, so it
    // records its own node.
    expect(copying.text).toContain(
      'meta mark & 0x3fff == 0x12 ether saddr != 02:ce:0a:00:00:03 ether saddr vmap { 02:ce:0a:00:00:03 : jump from_20000 }',
    );
    expect(copying.text).toContain(
      '\tchain from_20000 {\n\t\tether saddr set 02:cf:0a:00:00:03 ether daddr set meta mark & 0x3fff map ' +
        '{ 0x12 : 02:ce:0a:00:00:03 } dup to "cegress0" ether daddr set 02:ce:0a:00:00:01 ether saddr set 02:ce:0a:00:00:03\n',
    );
    // Without it (podNetwork), none of this, and the return table goes.
    const off = renderStructure(base).text;
    expect(off).not.toContain('ct direction reply');
    expect(off).toContain('add table netdev cloud_egress_return\ndelete table netdev cloud_egress_return');
    expect(off).not.toContain('table netdev cloud_egress_return {');
  });

  it("copies a planned move's traffic to the new gateway in a table of its own; without copies that table goes", () => {
    const input = {
      settings: S,
      policies: [],
      markChains: new Map(),
      snat: new Map([[18, '10.0.1.17']]),
      tunnelMac: '02:ce:0a:00:00:02',
    };
    const none = renderStructure(input);
    const table = `${S.nftTable}_dup`;
    expect(none.text).toContain(`add table netdev ${table}\ndelete table netdev ${table}\n`);
    expect(none.text).not.toContain(`table netdev ${table} {`);
    // The tunnel's outer packets carry the inner mark: never SNATed.
    expect(none.text).toContain(
      `srcnat - 10; policy accept;\n\t\tip daddr @nodes4 udp dport ${S.port} return\n`,
    );
    const copying = renderStructure({ ...input, copies: new Map([[18, '10.0.1.12']]) });
    expect(copying.fingerprint).not.toBe(none.fingerprint);
    expect(copying.text).toContain(
      `\tchain ingress {\n\t\ttype filter hook ingress device "${S.tunnelName}" priority filter; policy accept;\n` +
        `\t\tmeta mark & 0x3fff == 0x12 ether saddr != 02:ce:0a:00:01:0c ether saddr set 02:ce:0a:00:00:02 ether daddr set 02:ce:0a:00:01:0c dup to "${S.tunnelName}" ether daddr set 02:ce:0a:00:00:02\n`,
    );
  });

  it("sends an answer it has no connection for on to a planned move's other gateway; without moves that table goes", () => {
    const input = { ...twoHeld, tunnelMac: '02:ce:0a:00:00:02' };
    const table = `${S.nftTable}_answers`;
    const none = renderStructure(input).text;
    expect(none).toContain(`add table ip ${table}\ndelete table ip ${table}\n`);
    expect(none).not.toContain(`table ip ${table} {`);
    expect(none).not.toContain('ether daddr set ether daddr map');
    // One of the two held IPs is moving, to or from the node 10.0.1.12.
    const moving = renderStructure({ ...input, copies: new Map([[18, '10.0.1.12']]) }).text;
    const unknown = 'iifname != "cegress0" ct state new,invalid ip daddr { 10.0.1.17 }';
    expect(moving).toContain(
      `table ip ${table} {\n\tchain prerouting {\n\t\ttype filter hook prerouting priority mangle - 10; policy accept;\n` +
        `\t\t${unknown} counter dup to ip daddr map { 10.0.1.17 : 10.0.1.12 } device "cegress0"\n\t\t${unknown} drop\n`,
    );
    // A handshake answer it knows is copied to the other gateway too; what the other sends that it has no entry
    // for is dropped, not answered.
    expect(moving).toContain(
      '\t\tiifname != "cegress0" ct direction reply tcp flags & (syn | ack) == syn | ack ip daddr { 10.0.1.17 } ' +
        'counter dup to ip daddr map { 10.0.1.17 : 10.0.1.12 } device "cegress0"\n' +
        '\t\tiifname "cegress0" ether saddr { 02:ce:0a:00:01:0c } ct state new,invalid ip daddr { 10.0.1.17 } counter drop\n',
    );
    // It leaves for the egress IP's own neighbour entry, and the tunnel's egress hook addresses it to the other
    // gateway; there it is forwarded like an answer that came from outside, not dropped as tunnel-to-tunnel.
    expect(moving).toContain(
      'type filter hook egress device "cegress0" priority filter; policy accept;\n' +
        '\t\tether daddr set ether daddr map { 02:ce:0a:00:01:11 : 02:ce:0a:00:01:0c }\n',
    );
    expect(moving).toContain(
      '\t\tiifname "cegress0" ct direction reply ether saddr { 02:ce:0a:00:01:0c } accept\n' +
        '\t\tiifname "cegress0" oifname "cegress0" drop\n',
    );
  });

  it('reads the per-egress-IP counters from `nft -j list counters`', () => {
    const counter = (name: string, packets: number, bytes: number) => ({
      counter: { family: 'inet', name, table: 'cloud_egress', handle: 3, packets, bytes },
    });
    const text = JSON.stringify({
      nftables: [
        { metainfo: { version: '1.0.6' } },
        counter('new_10_0_1_17', 3, 180),
        counter('out_10_0_1_17', 40, 5200),
        counter('out_10_0_1_18', 0, 0),
        counter('someone_else', 9, 9),
      ],
    });
    expect(parseSnatCounters(text)).toEqual([
      { egressIp: '10.0.1.17', connections: 3, packets: 40, bytes: 5200 },
      { egressIp: '10.0.1.18', connections: 0, packets: 0, bytes: 0 },
    ]);
  });

  it('writes interval, set and map elements as nft expects', () => {
    const text = renderElements(
      'add',
      't',
      'p_dst4',
      'interval',
      new Map([
        ['10.0.0.0-10.0.0.255', ''],
        ['10.1.0.1-10.1.0.1', ''],
      ]),
    );
    expect(text).toBe('add element inet t p_dst4 { 10.0.0.0-10.0.0.255, 10.1.0.1 }\n');
    expect(renderElements('delete', 't', 'p_pods4', 'map', new Map([['10.244.1.10', 'goto m18']]))).toBe(
      'delete element inet t p_pods4 { 10.244.1.10 }\n',
    );
  });

  it('reads `nft -j list table` back into the keys the planner compares', () => {
    const json = JSON.stringify({
      nftables: [
        { metainfo: { version: '1.0.6' } },
        {
          set: {
            name: 'cluster4',
            flags: ['interval'],
            elem: [
              { prefix: { addr: '10.244.0.0', len: 16 } },
              '10.0.0.1',
              { range: ['10.0.0.5', '10.0.0.9'] },
            ],
          },
        },
        { set: { name: 'held_marks', elem: [18] } },
        {
          map: {
            name: 'p_pods4',
            elem: [
              ['10.244.1.10', { goto: { target: 'm18' } }],
              ['10.244.1.11', { drop: null }],
            ],
          },
        },
        { rule: { chain: 'prerouting', comment: 'cloud-egress 0123456789abcdef' } },
      ],
    });
    const state = parseNftTable(json);
    expect(state.fingerprint).toBe('0123456789abcdef');
    expect([...state.sets['cluster4']!.keys()]).toEqual([
      '10.244.0.0-10.244.255.255',
      '10.0.0.1-10.0.0.1',
      '10.0.0.5-10.0.0.9',
    ]);
    expect([...state.sets['held_marks']!.keys()]).toEqual(['18']);
    expect(state.sets['p_pods4']).toEqual(
      new Map([
        ['10.244.1.10', 'goto m18'],
        ['10.244.1.11', 'drop'],
      ]),
    );
  });
});
