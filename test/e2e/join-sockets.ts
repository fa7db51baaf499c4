/**
 * @module
 * Joins two stream sockets: bytes flow both ways, and when either side ends or fails, both are closed.
 */
import type { Socket } from 'node:net';

/** Pipes `a` and `b` into each other until either closes. */
export function joinSockets(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.on('close', () => b.destroy());
  b.on('close', () => a.destroy());
}
