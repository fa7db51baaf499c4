/**
 * @module
 * The small HTTP server of both processes: a few fixed `GET` routes, such as the controller's `/metrics`,
 * `/healthz` and `/readyz` and the agent's `/healthz` and `/metrics`. Plain `node:http`: a few fixed routes
 * need no framework.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A route: returns status, content type and body. */
export type Route = () => Promise<{ status: number; contentType: string; body: string }>;

/** A started server. */
export interface HttpEndpoint {
  /** `host:port` actually bound (port 0 resolved). */
  readonly address: string;
  close(): Promise<void>;
}

/** Splits `host:port` (`:8080` = all interfaces; `[::1]:80`). */
export function parseHostPort(address: string): { host: string | undefined; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address);
  if (!match) throw new Error(`"${address}" is not host:port (e.g. 127.0.0.1:8080 or :8080)`);
  const host = match[1] ?? match[2];
  return { host: host ? host : undefined, port: Number(match[3]) };
}

/** Serves `routes` on `address` (`host:port`). */
export async function serveHttp(
  address: string,
  routes: Readonly<Record<string, Route>>,
): Promise<HttpEndpoint> {
  const { host, port } = parseHostPort(address);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = routes[path];
    if (!route || req.method !== 'GET') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    route().then(
      (r) => res.writeHead(r.status, { 'content-type': r.contentType }).end(r.body),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  return {
    address: `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
