/**
 * @module
 * Client side of the network-namespace tests, run inside a pod namespace with `ip netns exec`. Prints one
 * JSON line.
 *
 * - `echo-client.ts tcp <port> <bytes> <ip>...`: for each IP, connects, sends `bytes` bytes, half-closes
 *   and records the source address the server saw (or `error: ...`).
 * - `echo-client.ts udp <port> <ip> <count> <intervalMs>`: sends `count` datagrams, one every
 *   `intervalMs`, and reports how many came back and from which source address.
 * - `echo-client.ts spray <port> <ip> <durationMs> <intervalMs> [burst]`: for `durationMs`, sends `burst`
 *   (default 1) datagrams every `intervalMs`, each from a new socket (a new connection for conntrack and NAT
 *   each time); reports how many were sent. Who saw them is recorded on the receiving side.
 * - `echo-client.ts hold <port> <ip> <rounds> <intervalMs>`: one TCP connection kept open, a `ping` every
 *   `intervalMs`; reports the answers (the flow survives what happens meanwhile, or not). With `rounds` 0 it
 *   pings until SIGTERM, then reports.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';

const [mode, portText, ...rest] = process.argv.slice(2);
const port = Number(portText);

function tcpOnce(ip: string, bytes: number): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect({ host: ip, port });
    let data = '';
    const timer = setTimeout(() => {
      sock.destroy();
      resolve('error: timeout');
    }, 5000);
    sock.on('connect', () => {
      sock.end(Buffer.alloc(bytes, 120));
    });
    sock.on('data', (d: Buffer) => {
      data += d.toString();
    });
    sock.on('end', () => {
      clearTimeout(timer);
      const [source, count] = data.trim().split(' ');
      resolve(Number(count) === bytes ? source! : `error: server got ${count} of ${bytes} bytes`);
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      resolve(`error: ${e.message}`);
    });
  });
}

if (mode === 'tcp') {
  const [bytesText, ...ips] = rest;
  const out: Record<string, string> = {};
  for (const ip of ips) out[ip] = await tcpOnce(ip, Number(bytesText));
  console.log(JSON.stringify(out));
} else if (mode === 'udp') {
  const [ip, countText, intervalText] = rest;
  const count = Number(countText);
  const sock = createSocket(ip!.includes(':') ? 'udp6' : 'udp4');
  const got = new Set<number>();
  const sources: Record<string, number> = {};
  sock.on('message', (msg) => {
    const [source, seq] = msg.toString().split(' ');
    got.add(Number(seq));
    sources[source!] = (sources[source!] ?? 0) + 1;
  });
  for (let i = 0; i < count; i++) {
    sock.send(String(i), port, ip!);
    await new Promise((r) => setTimeout(r, Number(intervalText)));
  }
  await new Promise((r) => setTimeout(r, 500));
  sock.close();
  console.log(JSON.stringify({ sent: count, received: got.size, sources }));
} else if (mode === 'spray') {
  const [ip, durationText, intervalText, burstText = '1'] = rest;
  const end = Date.now() + Number(durationText);
  let sent = 0;
  while (Date.now() < end) {
    for (let i = 0; i < Number(burstText); i++) {
      const sock = createSocket(ip!.includes(':') ? 'udp6' : 'udp4');
      sock.send(String(sent++), port, ip!, () => sock.close());
    }
    await new Promise((r) => setTimeout(r, Number(intervalText)));
  }
  console.log(JSON.stringify({ sent }));
} else if (mode === 'hold') {
  const [ip, roundsText, intervalText] = rest;
  const sock = connect({ host: ip!, port });
  const answers: string[] = [];
  let pending: ((line: string) => void) | undefined;
  sock.on('data', (d: Buffer) => pending?.(d.toString().trim()));
  sock.on('error', () => {});
  let stop = false;
  process.on('SIGTERM', () => {
    stop = true;
  });
  await new Promise((r) => sock.once('connect', r));
  console.log(JSON.stringify({ connected: true }));
  const rounds = Number(roundsText) || Number.POSITIVE_INFINITY;
  for (let i = 0; i < rounds && !stop; i++) {
    const answer = await new Promise<string>((resolve) => {
      const t = setTimeout(() => resolve('timeout'), 2000);
      pending = (line) => {
        clearTimeout(t);
        resolve(line.split(' ')[0]!);
      };
      sock.write('ping\n');
    });
    answers.push(answer);
    await new Promise((r) => setTimeout(r, Number(intervalText)));
  }
  sock.destroy();
  console.log(JSON.stringify({ answers }));
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
