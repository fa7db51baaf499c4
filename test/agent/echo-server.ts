/**
 * @module
 * The "outside world" of the network-namespace tests, run inside the external namespace with
 * `ip netns exec`: a TCP server that answers each connection with the caller's IP (after reading what the
 * caller sends, so uploads test the MTU path), and a UDP server that echoes each datagram prefixed with the
 * caller's IP (TCP on IPv6 too when an IPv6 address is among the IPs). Prints `listening` once all are bound. Usage: `echo-server.ts <tcpPort> <udpPort> <ip>...`;
 * one UDP socket is bound per IP, so that each answer leaves from the address the datagram was sent to
 * (an unbound socket would answer from the routing's choice, and the caller's conntrack would not match).
 */
import { createSocket } from 'node:dgram';
import { createServer, type Socket } from 'node:net';

const tcpPort = Number(process.argv[2] ?? 8080);
const udpPort = Number(process.argv[3] ?? 8081);

const answer = (conn: Socket) => {
  let bytes = 0;
  conn.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    // A line "ping" gets an immediate answer (kept-open connections); anything else is counted.
    if (chunk.toString().endsWith('ping\n')) conn.write(`${conn.remoteAddress} ${bytes}\n`);
  });
  conn.on('end', () => conn.end(`${conn.remoteAddress} ${bytes}\n`));
  conn.on('error', () => {});
};
const udpIps = process.argv.slice(4);

// IPv6 addresses among the IPs: TCP on '::' as well, IPv6 only (a dual-stack socket would report IPv4 callers
// as ::ffff:a.b.c.d).
const v6 = udpIps.some((ip) => ip.includes(':'));
let bound = 0;
const ready = () => {
  if (++bound === (v6 ? 2 : 1) + udpIps.length) process.stdout.write('listening\n');
};
createServer(answer).listen(tcpPort, '0.0.0.0', ready);
if (v6) createServer(answer).listen({ port: tcpPort, host: '::', ipv6Only: true }, ready);
for (const ip of udpIps) {
  const udp = createSocket(ip.includes(':') ? 'udp6' : 'udp4');
  udp.on('message', (msg, rinfo) =>
    udp.send(`${rinfo.address} ${msg.toString()}`, rinfo.port, rinfo.address),
  );
  udp.bind(udpPort, ip, ready);
}
