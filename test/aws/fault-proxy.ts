/**
 * @module
 * A local HTTP proxy in front of LocalStack's EC2 that counts calls per Action and injects faults on chosen
 * Actions: throttling (`RequestLimitExceeded` in EC2's XML error format, HTTP 503 as EC2 sends it), HTTP 500
 * `InternalError`, added latency, and dropped connections (before forwarding, or after LocalStack has
 * carried the call out, so the client never learns that it worked). It also logs the interface writes
 * LocalStack carried out (Assign/Unassign of private IPv4 and of IPv6 addresses, per ENI, from the call's
 * arrival until its answer), for the conformance suite's `writes()`.
 *
 * ```ts
 * const proxy = await startFaultProxy(ls.endpoint);
 * proxy.inject({ action: 'AssignPrivateIpAddresses', fault: 'throttle', times: 2 });
 * // ... point the provider at proxy.endpoint ...
 * proxy.mutatingCalls('AssignPrivateIpAddresses');
 * await proxy.close();
 * ```
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InterfaceWrite } from '../conformance/cloud-provider.case.ts';

/** The Actions that change the IPs of an interface (`NetworkInterfaceId`). */
export const INTERFACE_WRITES: ReadonlySet<string> = new Set([
  'AssignPrivateIpAddresses',
  'UnassignPrivateIpAddresses',
  'AssignIpv6Addresses',
  'UnassignIpv6Addresses',
]);

/** A fault kind. */
export type Fault = 'throttle' | 'error500' | 'latency' | 'dropBefore' | 'dropAfter';

/** A fault rule: applies to the next `times` matching calls (`Infinity` = until cleared). */
export interface FaultRule {
  /** EC2 Action name, or `*` for every call. */
  readonly action: string;
  readonly fault: Fault;
  readonly times: number;
  /** For `latency`: the delay in ms. */
  readonly latencyMs?: number;
  /** Only calls whose form parameters include every one of these (e.g. `SecondaryPrivateIpAddressCount`). */
  readonly withParam?: string;
}

/** A running proxy. */
export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: give this to the SDK as the endpoint. */
  readonly endpoint: string;
  /** Adds a fault rule. */
  inject(rule: FaultRule): void;
  /** Removes every rule. */
  clearFaults(): void;
  /** Calls received per Action (faulted ones included). */
  calls(): ReadonlyMap<string, number>;
  /** Mutating calls received (every Action but Describe*), for one Action or all. */
  mutatingCalls(action?: string): number;
  /** When each call of `action` arrived (`performance.now()`), in order. */
  arrivals(action: string): readonly number[];
  /** Faults injected so far, per fault kind. */
  injected(): ReadonlyMap<Fault, number>;
  /**
   * The interface writes LocalStack carried out (answered 2xx; refused and faulted calls left out, a call whose
   * answer was dropped after LocalStack did it kept), in order of arrival. LocalStack refuses no write of an
   * ENI for concurrency (two writes of one ENI run side by side), so a write that overlaps another shows here.
   */
  interfaceWrites(): readonly InterfaceWrite[];
  /** Resets the counters and the log of interface writes. */
  resetCounts(): void;
  close(): Promise<void>;
}

function ec2Error(res: ServerResponse, status: number, code: string, message: string) {
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code>` +
    `<Message>${message}</Message></Error></Errors><RequestID>${randomUUID()}</RequestID></Response>`;
  res.writeHead(status, {
    'content-type': 'text/xml;charset=UTF-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of req) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** Starts the proxy on a free port of 127.0.0.1, forwarding to `upstream`. */
export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  const rules: { rule: FaultRule; left: number }[] = [];
  const counts = new Map<string, number>();
  const faults = new Map<Fault, number>();
  const times = new Map<string, number[]>();
  const writes: InterfaceWrite[] = [];

  const forward = (
    req: IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: target.host };
      const up = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
        async (res) => {
          try {
            const data = await readBody(res);
            const out: Record<string, string> = {};
            for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') out[k] = v;
            resolve({ status: res.statusCode ?? 502, headers: out, body: data });
          } catch (err) {
            reject(err);
          }
        },
      );
      up.on('error', reject);
      up.end(body);
    });

  const server = createServer(async (req, res) => {
    try {
      const body = await readBody(req);
      const params = new URLSearchParams(
        req.method === 'POST' ? body.toString() : ((req.url ?? '').split('?')[1] ?? ''),
      );
      const action = params.get('Action') ?? '(none)';
      const startedAt = performance.now();
      counts.set(action, (counts.get(action) ?? 0) + 1);
      times.set(action, [...(times.get(action) ?? []), startedAt]);
      const matching = rules.filter(
        (r) =>
          r.left > 0 &&
          (r.rule.action === '*' || r.rule.action === action) &&
          (!r.rule.withParam || [...params.keys()].some((k) => k.startsWith(r.rule.withParam!))),
      );
      let dropAfter = false;
      for (const r of matching) {
        r.left--;
        faults.set(r.rule.fault, (faults.get(r.rule.fault) ?? 0) + 1);
        switch (r.rule.fault) {
          case 'latency':
            await new Promise((resolve) => setTimeout(resolve, r.rule.latencyMs ?? 200));
            break;
          case 'throttle':
            ec2Error(res, 503, 'RequestLimitExceeded', 'Request limit exceeded.');
            return;
          case 'error500':
            ec2Error(res, 500, 'InternalError', 'An internal error has occurred');
            return;
          case 'dropBefore':
            req.socket.destroy();
            return;
          case 'dropAfter':
            dropAfter = true;
            break;
        }
      }
      const reply = await forward(req, body);
      const interfaceId = params.get('NetworkInterfaceId');
      if (INTERFACE_WRITES.has(action) && interfaceId && reply.status >= 200 && reply.status < 300) {
        writes.push({ interfaceId, startedAt, endedAt: performance.now() });
      }
      if (dropAfter) {
        req.socket.destroy();
        return;
      }
      res.writeHead(reply.status, reply.headers);
      res.end(reply.body);
    } catch (err) {
      if (!res.headersSent) ec2Error(res, 502, 'InternalError', String(err));
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    inject: (rule) => rules.push({ rule, left: rule.times }),
    clearFaults: () => rules.splice(0),
    calls: () => new Map(counts),
    mutatingCalls: (action) =>
      [...counts]
        .filter(([a]) => !a.startsWith('Describe') && (action === undefined || a === action))
        .reduce((n, [, c]) => n + c, 0),
    injected: () => new Map(faults),
    arrivals: (action) => [...(times.get(action) ?? [])],
    interfaceWrites: () => [...writes],
    resetCounts: () => {
      counts.clear();
      faults.clear();
      times.clear();
      writes.length = 0;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
