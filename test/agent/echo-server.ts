/**
 * @module
 * The "outside world" of the network-namespace tests, run inside the external namespace with
 * `ip netns exec`: a TCP server that answers each connection with the caller's IP (after reading what the
 * caller sends, so uploads test the MTU path), and a UDP server that echoes each datagram prefixed with the
 * caller's IP. Prints `listening` once all are bound. Usage: `echo-server.ts <tcpPort> <udpPort> <ip>...`;
 * one UDP socket is bound per IP, so that each answer leaves from the address the datagram was sent to
 * (an unbound socket would answer from the routing's choice, and the caller's conntrack would not match).
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

const tcpPort = Number(process.argv[2] ?? 8080);
const udpPort = Number(process.argv[3] ?? 8081);

const tcp = createServer((conn) => {
  let bytes = 0;
  conn.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    // A line "ping" gets an immediate answer (kept-open connections); anything else is counted.
    if (chunk.toString().endsWith('ping\n')) conn.write(`${conn.remoteAddress} ${bytes}\n`);
  });
  conn.on('end', () => conn.end(`${conn.remoteAddress} ${bytes}\n`));
  conn.on('error', () => {});
});
const udpIps = process.argv.slice(4);

let bound = 0;
const ready = () => {
  if (++bound === 1 + udpIps.length) process.stdout.write('listening\n');
};
tcp.listen(tcpPort, '0.0.0.0', ready);
for (const ip of udpIps) {
  const udp = createSocket('udp4');
  udp.on('message', (msg, rinfo) =>
    udp.send(`${rinfo.address} ${msg.toString()}`, rinfo.port, rinfo.address),
  );
  udp.bind(udpPort, ip, ready);
}
