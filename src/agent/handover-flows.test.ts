import { describe, expect, it } from 'vitest';
import { ADOPTED_TIMEOUT_SECONDS, adoptCommands, flowsToAdopt, parseTcpFlows } from './handover-flows.ts';

// `conntrack -L` as conntrack-tools 1.4.7 prints it (the summary goes to stderr).
const LISTED = [
  'tcp      6 119 SYN_SENT src=10.244.1.10 dst=198.51.100.10 sport=48718 dport=8080 [UNREPLIED] src=198.51.100.10 dst=192.168.100.50 sport=8080 dport=48718 mark=0 use=1',
  'tcp      6 299 ESTABLISHED src=10.244.1.10 dst=198.51.100.10 sport=48702 dport=8080 src=198.51.100.10 dst=192.168.100.50 sport=8080 dport=48702 [ASSURED] mark=0 use=1',
  'tcp      6 117 SYN_SENT src=10.244.1.11 dst=203.0.113.10 sport=40000 dport=443 [UNREPLIED] src=203.0.113.10 dst=192.168.100.1 sport=443 dport=40000 mark=0 use=1',
  'udp      17 29 src=10.244.1.10 dst=198.51.100.10 sport=5000 dport=8081 [UNREPLIED] src=198.51.100.10 dst=192.168.100.50 sport=8081 dport=5000 mark=0 use=1',
  '',
].join('\n');

describe('parseTcpFlows', () => {
  it('reads the original tuple, the state and the reply destination of each TCP entry', () => {
    expect(parseTcpFlows(LISTED)).toEqual([
      {
        state: 'SYN_SENT',
        src: '10.244.1.10',
        dst: '198.51.100.10',
        sport: 48718,
        dport: 8080,
        replyDst: '192.168.100.50',
      },
      {
        state: 'ESTABLISHED',
        src: '10.244.1.10',
        dst: '198.51.100.10',
        sport: 48702,
        dport: 8080,
        replyDst: '192.168.100.50',
      },
      {
        state: 'SYN_SENT',
        src: '10.244.1.11',
        dst: '203.0.113.10',
        sport: 40000,
        dport: 443,
        replyDst: '192.168.100.1',
      },
    ]);
  });

  it('skips lines it cannot read whole', () => {
    expect(
      parseTcpFlows('tcp 6 119 SYN_SENT src=10.0.0.1 dst=10.0.0.2\nconntrack v1.4.7: 0 flow entries\n'),
    ).toEqual([]);
  });
});

describe('flowsToAdopt', () => {
  it('takes the SYN_SENT entries SNATed to a moving egress IP, and nothing else', () => {
    const flows = parseTcpFlows(LISTED);
    expect(flowsToAdopt(flows, new Set(['192.168.100.50']))).toEqual([flows[0]]);
    expect(flowsToAdopt(flows, new Set(['192.168.100.50', '192.168.100.1']))).toEqual([flows[0], flows[2]]);
    expect(flowsToAdopt(flows, new Set())).toEqual([]);
  });
});

describe('adoptCommands', () => {
  it('updates each entry by its original tuple to ESTABLISHED with a short timeout', () => {
    const [flow] = parseTcpFlows(LISTED);
    expect(adoptCommands([flow!])).toEqual([
      [
        ...[
          '-U',
          '-p',
          'tcp',
          '-s',
          '10.244.1.10',
          '-d',
          '198.51.100.10',
          '--sport',
          '48718',
          '--dport',
          '8080',
        ],
        ...['--state', 'ESTABLISHED', '-t', String(ADOPTED_TIMEOUT_SECONDS)],
      ],
    ]);
    expect(adoptCommands([])).toEqual([]);
  });
});
