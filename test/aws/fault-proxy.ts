/**
 * @module
 * A local HTTP proxy in front of LocalStack's EC2 that counts calls per Action and injects faults on chosen
 * Actions: throttling (`RequestLimitExceeded` in EC2's XML error format, HTTP 503 as EC2 sends it), HTTP 500
 * `InternalError`, an IAM denial (`UnauthorizedOperation`, HTTP 403), added latency, and dropped connections (before forwarding, or after LocalStack has
 * carried the call out, so the client never learns that it worked), and the lies of a cloud (providers/inmemory/
 * lies.ts): lost writes (EC2's success answer, nothing forwarded), late writes (the success answer at once, the
 * call forwarded `delayMs` later) and stale reads (a Describe* call answered with what LocalStack answered for
 * the same request at least `staleMs` ago). Lost and late writes are told only to interface writes that name
 * their addresses: an answer to an allocation (`SecondaryPrivateIpAddressCount`) names addresses only EC2 can
 * pick. It also logs the interface writes
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
import { AnswerHistory } from '../../providers/inmemory/index.ts';
import type { InterfaceWrite } from '../conformance/cloud-provider.case.ts';
import type { CloudLies } from '../conformance/lying-cloud.case.ts';

/** The Actions that change the IPs of an interface (`NetworkInterfaceId`). */
export const INTERFACE_WRITES: ReadonlySet<string> = new Set([
  'AssignPrivateIpAddresses',
  'UnassignPrivateIpAddresses',
  'AssignIpv6Addresses',
  'UnassignIpv6Addresses',
]);

/** A fault kind. */
export type Fault =
  | 'throttle'
  | 'error500'
  | 'unauthorized'
  | 'latency'
  | 'dropBefore'
  | 'dropAfter'
  | 'lostWrite'
  | 'lateWrite'
  | 'staleRead';

/** A fault rule: applies to the next `times` matching calls (`Infinity` = until cleared). */
export interface FaultRule {
  /** EC2 Action name, or `*` for every call. */
  readonly action: string;
  readonly fault: Fault;
  readonly times: number;
  /** For `latency`: the delay in ms. */
  readonly latencyMs?: number;
  /** For `lateWrite`: how long after its answer the call is forwarded, in ms (default 500). */
  readonly delayMs?: number;
  /** For `staleRead`: how old the answer is, at least, in ms (default 1000). */
  readonly staleMs?: number;
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
  /** Resolves once every late write answered so far has been forwarded and answered by LocalStack. */
  settled(): Promise<void>;
  /** The lies as the lying-cloud suite drives them: rules for every eligible call; `clear` drops only those. */
  readonly lies: CloudLies;
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

/** Whether `fault` can be told to a call of `action` with `params` (see the module comment). */
function eligible(fault: Fault, action: string, params: URLSearchParams): boolean {
  if (fault === 'staleRead') return action.startsWith('Describe');
  if (fault !== 'lostWrite' && fault !== 'lateWrite') return true;
  return INTERFACE_WRITES.has(action) && !params.has('SecondaryPrivateIpAddressCount');
}

/** The numbered values of a query-protocol list parameter (`PrivateIpAddress.1`, `.2`, ...). */
function listParam(params: URLSearchParams, prefix: string): string[] {
  return [...params.entries()]
    .filter(([k]) => k.startsWith(`${prefix}.`))
    .sort(([a], [b]) => Number(a.slice(prefix.length + 1)) - Number(b.slice(prefix.length + 1)))
    .map(([, v]) => v);
}

/**
 * EC2's success answer to an interface write (the shapes of the EC2 API reference for each Action), as the
 * lost and late writes give it without LocalStack.
 */
function acceptedAnswer(action: string, params: URLSearchParams): string {
  const eni = `<networkInterfaceId>${params.get('NetworkInterfaceId') ?? ''}</networkInterfaceId>`;
  const set = (name: string, param: string, field?: string) => {
    const items = listParam(params, param).map((ip) => (field ? `<${field}>${ip}</${field}>` : ip));
    return `<${name}>${items.map((item) => `<item>${item}</item>`).join('')}</${name}>`;
  };
  const body =
    action === 'AssignPrivateIpAddresses'
      ? eni + set('assignedPrivateIpAddressesSet', 'PrivateIpAddress', 'privateIpAddress')
      : action === 'AssignIpv6Addresses'
        ? eni + set('assignedIpv6Addresses', 'Ipv6Addresses')
        : action === 'UnassignIpv6Addresses'
          ? eni + set('unassignedIpv6Addresses', 'Ipv6Addresses')
          : '<return>true</return>';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>${randomUUID()}</requestId>${body}</${action}Response>`;
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
  type Reply = { status: number; headers: Record<string, string>; body: Buffer };
  const answers = new AnswerHistory<Reply>({
    equal: (a, b) => a.status === b.status && a.body.equals(b.body),
  });
  const late = new Set<Promise<void>>();

  const forward = (req: IncomingMessage, body: Buffer): Promise<Reply> =>
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
          eligible(r.rule.fault, action, params) &&
          (!r.rule.withParam || [...params.keys()].some((k) => k.startsWith(r.rule.withParam!))),
      );
      const interfaceId = params.get('NetworkInterfaceId');
      const logWrite = (reply: Reply, from: number) => {
        if (INTERFACE_WRITES.has(action) && interfaceId && reply.status >= 200 && reply.status < 300) {
          writes.push({ interfaceId, startedAt: from, endedAt: performance.now() });
        }
      };
      const readKey = `${action}?${[...params.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => `${k}=${v}`)
        .join('&')}`;
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
          case 'unauthorized':
            // What EC2 answers a caller whose IAM policy does not allow the call, DryRun or not (LocalStack
            // enforces no IAM): https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
            ec2Error(res, 403, 'UnauthorizedOperation', 'You are not authorized to perform this operation.');
            return;
          case 'dropBefore':
            req.socket.destroy();
            return;
          case 'dropAfter':
            dropAfter = true;
            break;
          case 'lostWrite':
          case 'lateWrite': {
            const answer = acceptedAnswer(action, params);
            res.writeHead(200, {
              'content-type': 'text/xml;charset=UTF-8',
              'content-length': Buffer.byteLength(answer),
            });
            res.end(answer);
            if (r.rule.fault === 'lateWrite') {
              const landing = new Promise((resolve) => setTimeout(resolve, r.rule.delayMs ?? 500)).then(
                async () => {
                  const from = performance.now();
                  logWrite(await forward(req, body), from);
                },
              );
              late.add(landing);
              void landing.catch(() => {}).finally(() => late.delete(landing));
            }
            return;
          }
          case 'staleRead': {
            const old = answers.stale(readKey, r.rule.staleMs ?? 1000);
            if (old) {
              res.writeHead(old.status, old.headers);
              res.end(old.body);
              return;
            }
            break;
          }
        }
      }
      const reply = await forward(req, body);
      logWrite(reply, startedAt);
      if (action.startsWith('Describe') && reply.status >= 200 && reply.status < 300) {
        answers.record(readKey, reply);
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
  const inject = (rule: FaultRule) => {
    rules.push({ rule, left: rule.times });
  };
  const settled = async () => {
    while (late.size > 0) await Promise.allSettled([...late]);
  };

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    inject,
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
    settled,
    lies: {
      loseWrites: (times) => inject({ action: '*', fault: 'lostWrite', times }),
      delayWrites: (times, delayMs) => inject({ action: '*', fault: 'lateWrite', times, delayMs }),
      staleReads: (times, staleMs) => inject({ action: '*', fault: 'staleRead', times, staleMs }),
      // Every Describe* answer is kept anyway.
      record: () => {},
      clear: () => {
        const lies: ReadonlySet<Fault> = new Set(['lostWrite', 'lateWrite', 'staleRead']);
        for (let i = rules.length - 1; i >= 0; i--) if (lies.has(rules[i]!.rule.fault)) rules.splice(i, 1);
      },
      settled,
    },
    close: async () => {
      await Promise.allSettled([...late]);
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
