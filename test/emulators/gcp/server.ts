/**
 * @module
 * A local Compute Engine v1 REST endpoint for exactly the calls the GCP provider makes, so that the real
 * `@google-cloud/compute` clients can be tested against it (`apiEndpoint: '127.0.0.1', port, protocol: 'http'`).
 *
 * | call                                                                          | behaviour                     |
 * |-------------------------------------------------------------------------------|-------------------------------|
 * | GET   /compute/v1/projects/P/zones/Z/instances/I                              | the instance (status, NICs)   |
 * | PATCH /compute/v1/projects/P/zones/Z/instances/I/updateNetworkInterface?networkInterface=N | PATCH semantics: |
 * |       only fields present change; `fingerprint` must be the NIC's current one (else 412          |
 * |       `conditionNotMet`); alias rules of `alias-rules.ts`; answers a RUNNING zonal operation; the  |
 * |       new ranges (and a new fingerprint) apply when the operation is DONE (until then the NIC      |
 * |       reads as before and the added ranges are reserved)                                           |
 * | GET   /compute/v1/projects/P/zones/Z/operations/O                             | one poll of the operation     |
 * | POST  /compute/v1/projects/P/zones/Z/operations/O/wait                        | one poll; may return RUNNING, |
 * |       as zoneOperations.wait is documented to ("might return before DONE")                         |
 * | GET   /compute/v1/projects/P/regions/R/subnetworks/S                          | primary + secondary ranges    |
 * | POST  …/zones/Z/instances/I/testIamPermissions, …/regions/R/subnetworks/S/testIamPermissions | the   |
 * |       permissions asked that the caller holds there (iam.ts); each call above checks its own          |
 *
 * Query parameters the SDK adds (`$alt=json;enum-encoding=int`, `requestId`, `$prettyPrint`) and `x-goog-*`
 * headers are accepted. A `requestId` must be a UUID other than the zero UUID (else 400 `invalid`); a write
 * repeated with the `requestId` of one received before is ignored and answered with that one's operation, which
 * names it as `clientOperationId` (REST reference, `requestId`). Fault knobs ({@link GcpEmulator.inject}) make
 * the next matching calls fail the way GCP does: a concurrent writer (real 412 through a changed fingerprint),
 * 429 `rateLimitExceeded`, 5xx `backendError`, 400 `resourceNotReady` (another operation on the instance or
 * subnetwork in flight), an operation that ends DONE with an `error` (GCP reports some failures only there), or
 * an accepted write whose answer is lost.
 *
 * Operations are DONE after a number of polls ({@link GcpEmulator.operationPolls}), or, with a latency model
 * (latency.ts: GCP's published timing, or a test's), by the clock: every answer takes `requestMs`, an operation
 * runs `operationMs` whether anyone polls it or not, and a `wait` blocks until DONE or `waitMs`.
 *
 * A write accepted while another write on the same NIC is still RUNNING carries the fingerprint that write will
 * consume: whichever operation is DONE second ends DONE with `CONDITION_NOT_MET` and changes nothing, so neither
 * update is silently lost. GCP checks the fingerprint again when the operation runs: a writer racing another on
 * one fingerprinted document "returns 200 with an operation, the operation then completes with
 * CONDITION_NOT_MET" (CloudVE/cloudbridge#349, `setCommonInstanceMetadata`); the NetworkInterface `fingerprint`
 * field is the same optimistic lock ("412 Precondition Failed if the fingerprint is out of date", REST reference).
 *
 * An instance's `status` is the tests' to set (state.ts). While it changes state (STOPPING, SUSPENDING, STAGING,
 * PROVISIONING, REPAIRING) an operation on the instance is in flight, and a write answers 400 `resourceNotReady`
 * naming the instance (errors.ts). A TERMINATED or SUSPENDED instance is no obstacle: its NICs keep their alias
 * ranges (a stopped VM keeps its internal addresses, and the other use of `updateNetworkInterface`, migrating
 * an interface to another network, is made on stopped VMs: "Migrating a VM between networks", linked from the
 * method's reference). That a stopped VM's alias ranges can be removed is this emulator's reading of those
 * pages; GCP does not state it for alias ranges.
 *
 * Lies ({@link GcpEmulator.lies}, providers/inmemory/lies.ts): a lost write's operation ends DONE without an
 * error and changes no alias range (nor the fingerprint); a late write's operation ends DONE (its ranges no
 * longer reserved) and the ranges land `delayMs` later with a new fingerprint, if GCP's rules still allow them
 * then (else never); a stale read of an instance answers what an earlier GET of it was answered (ranges and
 * fingerprint).
 *
 * The write log ({@link GcpEmulator.writes}) holds every accepted `updateNetworkInterface`: the NIC it wrote
 * (`projects/P/zones/Z/instances/I#N`), when the call arrived and when its operation became DONE (in
 * `performance.now()` time; `Infinity` while it runs), and every call refused for concurrency (412 stale
 * fingerprint), ending with its answer. Other refusals (400, 404, injected statuses) and a repeated `requestId`
 * (no new write) are left out; an operation that ends DONE with an error is in it, since the NIC was being
 * written until then.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AnswerHistory, Lies } from '../../../providers/inmemory/index.ts';
import { type AliasCheck, checkAliasRanges, type InUseQuote, inUseMessage } from './alias-rules.ts';
import { GcpApiError, invalidField, notFound, resourceNotReady, staleFingerprint } from './errors.ts';
import { GcpIam } from './iam.ts';
import type { GcpLatency } from './latency.ts';
import {
  type AliasIpRange,
  COMPUTE_BASE,
  type EmulatedInstance,
  type EmulatedNic,
  type EmulatedOperation,
  type EmulatedSubnetwork,
  GcpState,
  newFingerprint,
  subnetworkUrl,
  TRANSITIONAL_STATUSES,
} from './state.ts';

/** A fault to inject into the next matching calls. */
export type GcpFault =
  /** Another writer changes the NIC's fingerprint just before the next write, so it gets a real 412. */
  | { readonly kind: 'concurrentWrite'; readonly times?: number }
  /** The next accepted write's operation ends DONE with this error and changes nothing. */
  | {
      readonly kind: 'operationError';
      readonly code: string;
      readonly message: string;
      readonly times?: number;
    }
  /**
   * The next writes answer 400 `resourceNotReady` naming the instance or its NIC's subnetwork: another
   * operation on that resource is in flight (see {@link resourceNotReady}).
   */
  | {
      readonly kind: 'resourceNotReady';
      readonly resource: 'instance' | 'subnetwork';
      readonly times?: number;
    }
  /**
   * The next accepted writes are carried out (their operation runs) but their answer is lost: the connection
   * closes without one, as after a timeout or a reset on the way back.
   */
  | { readonly kind: 'dropResponse'; readonly times?: number }
  /** The next calls of `on` answer `status` with `reason` (429 rateLimitExceeded, 503 backendError, ...). */
  | {
      readonly kind: 'status';
      readonly on: 'write' | 'read' | 'any';
      readonly status: number;
      readonly reason: string;
      readonly message?: string;
      readonly times?: number;
    };

/** One call the emulator answered. */
export interface GcpCall {
  readonly method: string;
  readonly path: string;
  /** The HTTP status answered; 0 when the connection was closed without an answer (`dropResponse`). */
  readonly status: number;
  /** For writes: the `requestId` sent, if any. */
  readonly requestId?: string;
  readonly at: number;
  /** For operation polls: the operation's status in the answer. */
  readonly operationStatus?: string;
}

/** One accepted `updateNetworkInterface`, from the call's arrival until its operation was DONE. */
export interface GcpWrite {
  /** `projects/P/zones/Z/instances/I#N`. */
  readonly interfaceId: string;
  readonly startedAt: number;
  /** When the operation became DONE; `Infinity` while it runs. */
  readonly endedAt: number;
}

/** Options of {@link startGcpEmulator}. */
export interface GcpEmulatorOptions {
  /** Polls (operations get or wait) an operation stays RUNNING before it is DONE; default 2. */
  readonly operationPolls?: number;
  /** How long one `wait` call blocks before answering (GCP blocks up to 2 minutes); default 0. */
  readonly waitDelayMs?: number;
  /** How `IP_IN_USE_BY_ANOTHER_RESOURCE` quotes a single address (alias-rules.ts); default `cidr`. */
  readonly inUseQuote?: InUseQuote;
  /**
   * Answer in time rather than in polls (latency.ts): each answer takes `requestMs`, an operation is DONE
   * `operationMs` after it began (polled or not), a `wait` blocks until then or `waitMs`. Default none.
   */
  readonly latency?: GcpLatency;
}

/** A running emulator. */
export interface GcpEmulator {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** The world, to seed and inspect. */
  readonly state: GcpState;
  /** The caller's grants: everything unless a test denies it (iam.ts). */
  readonly iam: GcpIam;
  /** Every call answered, in order. */
  readonly calls: GcpCall[];
  /** Calls of `updateNetworkInterface` (accepted or refused). */
  mutatingCalls(): number;
  /** `updateNetworkInterface` calls accepted or refused for concurrency, in order (see the module comment). */
  readonly writes: readonly GcpWrite[];
  /** Polls an operation stays RUNNING; change between tests. */
  operationPolls: number;
  waitDelayMs: number;
  /** How an address another NIC holds is quoted in the operation error; change between tests. */
  inUseQuote: InUseQuote;
  /** The timing the emulator answers with, if any (see {@link GcpEmulatorOptions.latency}); change between runs. */
  latency: GcpLatency | undefined;
  /** Queues a fault. */
  inject(fault: GcpFault): void;
  /** Lost writes, late writes and stale reads to tell (see the module comment). */
  readonly lies: Lies;
  /** Drops queued faults and lies, the call log and the write log. */
  clearFaults(): void;
  /** Stops the server. */
  close(): Promise<void>;
}

type Route = { method: string; pattern: RegExp; handle: (m: string[], req: Parsed) => unknown };
interface Parsed {
  readonly query: URLSearchParams;
  readonly body: unknown;
  /** `performance.now()` when the request arrived. */
  readonly arrivedAt: number;
}

const PREFIX = '/compute/v1/projects/([^/]+)';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts the emulator on 127.0.0.1 and a free port. */
export async function startGcpEmulator(options: GcpEmulatorOptions = {}): Promise<GcpEmulator> {
  const state = new GcpState();
  const iam = new GcpIam();
  const calls: GcpCall[] = [];
  const writes: { interfaceId: string; startedAt: number; endedAt: number }[] = [];
  const faults: (GcpFault & { left: number })[] = [];
  const pending = new Map<EmulatedNic, AliasIpRange[]>();
  const byRequestId = new Map<string, EmulatedOperation>();
  const timers = new Set<NodeJS.Timeout>();
  const lies = new Lies();
  const answers = new AnswerHistory<unknown>({
    equal: (a, b) => JSON.stringify(a) === JSON.stringify(b),
  });

  const instanceOr404 = (project: string, zone: string, name: string): EmulatedInstance => {
    const inst = state.instance(project, zone, name);
    if (!inst) throw notFound(`projects/${project}/zones/${zone}/instances/${name}`);
    return inst;
  };

  const instanceJson = (inst: EmulatedInstance) => ({
    kind: 'compute#instance',
    id: inst.id,
    name: inst.name,
    status: inst.status,
    zone: `${COMPUTE_BASE}/projects/${inst.project}/zones/${inst.zone}`,
    selfLink: `${COMPUTE_BASE}/projects/${inst.project}/zones/${inst.zone}/instances/${inst.name}`,
    networkInterfaces: inst.networkInterfaces.map((nic) => ({
      kind: 'compute#networkInterface',
      name: nic.name,
      network: nic.network,
      subnetwork: nic.subnetwork,
      networkIP: nic.networkIP,
      fingerprint: nic.fingerprint,
      stackType: 'IPV4_ONLY',
      ...(nic.aliasIpRanges.length ? { aliasIpRanges: nic.aliasIpRanges.map((a) => ({ ...a })) } : {}),
    })),
  });

  const operationJson = (op: EmulatedOperation) => ({
    kind: 'compute#operation',
    id: op.id,
    name: op.name,
    operationType: op.operationType,
    targetLink: op.targetLink,
    status: op.status,
    progress: op.status === 'DONE' ? 100 : 0,
    insertTime: op.insertTime,
    ...(op.endTime ? { endTime: op.endTime } : {}),
    ...(op.error ? { error: op.error } : {}),
    ...(op.clientOperationId ? { clientOperationId: op.clientOperationId } : {}),
    zone: `${COMPUTE_BASE}/projects/${op.project}/zones/${op.zone}`,
    selfLink: `${COMPUTE_BASE}/projects/${op.project}/zones/${op.zone}/operations/${op.name}`,
  });

  const operationOr404 = (project: string, zone: string, name: string) => {
    const op = state.operations.get(`${project}/${zone}/${name}`);
    if (!op) throw notFound(`projects/${project}/zones/${zone}/operations/${name}`);
    return op;
  };

  const updateNetworkInterface = ([project, zone, name]: string[], req: Parsed) => {
    iam.check(
      'compute.instances.updateNetworkInterface',
      `projects/${project}/zones/${zone}/instances/${name}`,
    );
    const inst = instanceOr404(project!, zone!, name!);
    const nicName = req.query.get('networkInterface');
    if (!nicName) {
      throw new GcpApiError(
        400,
        'required',
        "Required field 'networkInterface' not specified",
        'networkInterface',
      );
    }
    const nic = inst.networkInterfaces.find((n) => n.name === nicName);
    if (!nic)
      throw notFound(`projects/${project}/zones/${zone}/instances/${name}/networkInterfaces/${nicName}`);
    // "The request ID must be a valid UUID with the exception that zero UUID is not supported"; a request
    // repeated with the ID of one received before is ignored: its operation is the answer (REST reference).
    const requestId = req.query.get('requestId');
    if (requestId !== null && (!UUID.test(requestId) || requestId === ZERO_UUID)) {
      throw invalidField(
        'requestId',
        requestId,
        'The request ID must be a valid UUID, and not the zero UUID.',
      );
    }
    const seen = requestId ? byRequestId.get(requestId) : undefined;
    if (seen) return operationJson(seen);
    // A stop, suspend or repair in flight: the instance is not ready (TERMINATED and SUSPENDED ones are: their
    // NICs keep their alias ranges and can be changed).
    if (TRANSITIONAL_STATUSES.has(inst.status)) {
      throw resourceNotReady(`projects/${project}/zones/${zone}/instances/${name}`);
    }
    const notReady = takeFault((f) => f.kind === 'resourceNotReady');
    if (notReady?.kind === 'resourceNotReady') {
      throw resourceNotReady(
        notReady.resource === 'instance'
          ? `projects/${project}/zones/${zone}/instances/${name}`
          : nic.subnetwork.replace(`${COMPUTE_BASE}/`, ''),
      );
    }
    const body = (req.body ?? {}) as { fingerprint?: string; aliasIpRanges?: AliasIpRange[] };
    const concurrent = takeFault((f) => f.kind === 'concurrentWrite');
    if (concurrent) nic.fingerprint = newFingerprint();
    if (!body.fingerprint) {
      throw new GcpApiError(
        400,
        'required',
        "Required field 'resource.fingerprint' not specified",
        'fingerprint',
      );
    }
    if (body.fingerprint !== nic.fingerprint) {
      // Refused for concurrency, and logged too (it ends with its answer): a provider that writes while another
      // write is in flight must show in the log even though GCP refuses the second one.
      writes.push({
        interfaceId: `projects/${project}/zones/${zone}/instances/${name}#${nicName}`,
        startedAt: req.arrivedAt,
        endedAt: performance.now(),
      });
      throw staleFingerprint();
    }
    const subnet = state.subnetworkOf(nic);
    if (!subnet) throw notFound(nic.subnetwork);
    // PATCH semantics: a field that is absent stays as it is.
    const check: AliasCheck =
      body.aliasIpRanges === undefined
        ? { ranges: nic.aliasIpRanges, inUse: undefined }
        : checkAliasRanges(state, inst, nic, subnet, body.aliasIpRanges, pending);
    const next = check.ranges;
    // An address another NIC holds fails the operation, not the request (alias-rules.ts).
    const injected = check.inUse ? undefined : takeFault((f) => f.kind === 'operationError');
    const failure: { code: string; message: string } | undefined = check.inUse
      ? { code: 'IP_IN_USE_BY_ANOTHER_RESOURCE', message: inUseMessage(check.inUse, emulator.inUseQuote) }
      : injected?.kind === 'operationError'
        ? { code: injected.code, message: injected.message }
        : undefined;
    const added = failure
      ? []
      : next.filter((r) => !nic.aliasIpRanges.some((a) => a.ipCidrRange === r.ipCidrRange));
    pending.set(nic, [...(pending.get(nic) ?? []), ...added]);
    const lie = lies.nextWrite();
    const write = {
      interfaceId: `projects/${project}/zones/${zone}/instances/${name}#${nicName}`,
      startedAt: req.arrivedAt,
      endedAt: Number.POSITIVE_INFINITY,
    };
    writes.push(write);
    const op = state.addOperation({
      project: project!,
      zone: zone!,
      operationType: 'updateNetworkInterface',
      targetLink: `${COMPUTE_BASE}/projects/${project}/zones/${zone}/instances/${name}`,
      polls: emulator.latency ? Number.POSITIVE_INFINITY : emulator.operationPolls,
      ...(requestId ? { clientOperationId: requestId } : {}),
      effect: () => {
        write.endedAt = performance.now();
        const left = (pending.get(nic) ?? []).filter((p) => !added.includes(p));
        if (left.length) pending.set(nic, left);
        else pending.delete(nic);
        if (failure) {
          op.error = { errors: [{ code: failure.code, message: failure.message }] };
          return;
        }
        // The fingerprint this request was accepted with was consumed by a write that was DONE first: the
        // operation fails instead of overwriting that write (see the module comment).
        if (nic.fingerprint !== body.fingerprint) {
          op.error = { errors: [{ code: 'CONDITION_NOT_MET', message: 'Invalid fingerprint.' }] };
          return;
        }
        if (lie.kind === 'late') {
          lies.land(lie.delayMs, () => {
            const still = lateRanges(inst, nic, subnet, next);
            if (!still) return;
            nic.aliasIpRanges = still;
            nic.fingerprint = newFingerprint();
          });
        } else if (lie.kind === 'honest') {
          nic.aliasIpRanges = next.map((r) => ({ ...r }));
          nic.fingerprint = newFingerprint();
        }
      },
    });
    if (requestId) byRequestId.set(requestId, op);
    if (emulator.latency) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        state.finish(op);
      }, emulator.latency.operationMs);
      timers.add(timer);
    }
    return operationJson(op);
  };

  /** The ranges of a late write where GCP's rules still allow them when it lands, else undefined. */
  const lateRanges = (
    inst: EmulatedInstance,
    nic: EmulatedNic,
    subnet: EmulatedSubnetwork,
    ranges: readonly AliasIpRange[],
  ): AliasIpRange[] | undefined => {
    try {
      const check = checkAliasRanges(state, inst, nic, subnet, ranges, pending);
      return check.inUse ? undefined : check.ranges;
    } catch {
      return undefined;
    }
  };

  /** GET instance: the instance now, or what an earlier GET was answered while a stale read is told. */
  const getInstance = ([p, z, i]: string[]) => {
    const key = `${p}/${z}/${i}`;
    iam.check('compute.instances.get', `projects/${p}/zones/${z}/instances/${i}`);
    const fresh = instanceJson(instanceOr404(p!, z!, i!));
    if (lies.recording) answers.record(key, fresh);
    const age = lies.nextReadAge();
    return (age > 0 ? answers.stale(key, age) : undefined) ?? fresh;
  };

  const routes: Route[] = [
    {
      method: 'GET',
      pattern: new RegExp(`^${PREFIX}/zones/([^/]+)/instances/([^/]+)$`),
      handle: getInstance,
    },
    {
      method: 'POST',
      pattern: new RegExp(`^${PREFIX}/zones/([^/]+)/instances/([^/]+)/testIamPermissions$`),
      handle: ([p, z, i], req) => {
        instanceOr404(p!, z!, i!);
        return testPermissions(`projects/${p}/zones/${z}/instances/${i}`, req.body);
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^${PREFIX}/regions/([^/]+)/subnetworks/([^/]+)/testIamPermissions$`),
      handle: ([p, r, n], req) => {
        if (!state.subnetwork(p!, r!, n!)) throw notFound(`projects/${p}/regions/${r}/subnetworks/${n}`);
        return testPermissions(`projects/${p}/regions/${r}/subnetworks/${n}`, req.body);
      },
    },
    {
      method: 'PATCH',
      pattern: new RegExp(`^${PREFIX}/zones/([^/]+)/instances/([^/]+)/updateNetworkInterface$`),
      handle: updateNetworkInterface,
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${PREFIX}/zones/([^/]+)/operations/([^/]+)$`),
      handle: ([p, z, o]) => {
        iam.check('compute.zoneOperations.get', `projects/${p}/zones/${z}/operations/${o}`);
        const op = operationOr404(p!, z!, o!);
        state.poll(op);
        return operationJson(op);
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^${PREFIX}/zones/([^/]+)/operations/([^/]+)/wait$`),
      handle: async ([p, z, o]) => {
        iam.check('compute.zoneOperations.get', `projects/${p}/zones/${z}/operations/${o}`);
        const op = operationOr404(p!, z!, o!);
        if (emulator.latency) {
          const until = performance.now() + emulator.latency.waitMs;
          while (op.status !== 'DONE' && performance.now() < until) await sleep(2);
          return operationJson(op);
        }
        if (emulator.waitDelayMs > 0) await sleep(emulator.waitDelayMs);
        state.poll(op);
        return operationJson(op);
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^${PREFIX}/regions/([^/]+)/subnetworks/([^/]+)$`),
      handle: ([p, r, s]) => {
        iam.check('compute.subnetworks.get', `projects/${p}/regions/${r}/subnetworks/${s}`);
        const subnet = state.subnetwork(p!, r!, s!);
        if (!subnet) throw notFound(`projects/${p}/regions/${r}/subnetworks/${s}`);
        return {
          kind: 'compute#subnetwork',
          name: subnet.name,
          region: `${COMPUTE_BASE}/projects/${p}/regions/${r}`,
          network: subnet.network,
          ipCidrRange: subnet.ipCidrRange,
          secondaryIpRanges: subnet.secondaryIpRanges.map((s) => ({ ...s })),
          selfLink: subnetworkUrl(subnet.project, subnet.region, subnet.name),
          fingerprint: 'c3VibmV0',
        };
      },
    },
  ];

  /**
   * `testIamPermissions` (instances and subnetworks): "Returns permissions that a caller has on the specified
   * resource", the subset of `permissions` granted; wildcards "are not allowed" (REST reference,
   * TestPermissionsRequest). An empty answer is `{}`: JSON leaves out an empty list.
   */
  function testPermissions(resource: string, body: unknown) {
    const asked = (body as { permissions?: unknown } | undefined)?.permissions;
    if (asked !== undefined && (!Array.isArray(asked) || asked.some((p) => typeof p !== 'string'))) {
      throw invalidField('permissions', String(asked), 'It must be a list of permission names.');
    }
    const permissions = (asked ?? []) as string[];
    const wildcard = permissions.find((p) => p.includes('*'));
    if (wildcard) throw invalidField('permissions', wildcard, 'Permissions with wildcards are not allowed.');
    const granted = permissions.filter((p) => iam.allows(p, resource));
    return granted.length ? { permissions: granted } : {};
  }

  function takeFault(match: (f: GcpFault) => boolean): GcpFault | undefined {
    const i = faults.findIndex(match);
    if (i < 0) return undefined;
    const fault = faults[i]!;
    fault.left--;
    if (fault.left <= 0) faults.splice(i, 1);
    return fault;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const arrivedAt = performance.now();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    let status = 200;
    let payload: unknown;
    let operationStatus: string | undefined;
    let dropped = false;
    if (emulator.latency) await sleep(emulator.latency.requestMs);
    try {
      const route = routes.find((r) => r.method === method && r.pattern.test(url.pathname));
      if (!route) throw new GcpApiError(404, 'notFound', `No such method: ${method} ${url.pathname}`);
      const write = method === 'PATCH';
      const fault = takeFault((f) => f.kind === 'status' && (f.on === 'any' || (f.on === 'write') === write));
      if (fault?.kind === 'status') {
        throw new GcpApiError(fault.status, fault.reason, fault.message ?? `Injected ${fault.reason}`);
      }
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        throw new GcpApiError(400, 'parseError', 'Parse Error');
      }
      const match = route.pattern.exec(url.pathname)!.slice(1).map(decodeURIComponent);
      payload = await route.handle(match, { query: url.searchParams, body, arrivedAt });
      if (url.pathname.includes('/operations/')) operationStatus = (payload as { status?: string }).status;
      dropped = write && takeFault((f) => f.kind === 'dropResponse') !== undefined;
    } catch (err) {
      const apiError =
        err instanceof GcpApiError
          ? err
          : new GcpApiError(500, 'backendError', `Internal error: ${String(err)}`);
      status = apiError.status;
      payload = apiError.toJSON();
    }
    const requestId = method === 'PATCH' ? url.searchParams.get('requestId') : null;
    calls.push({
      method,
      path: url.pathname,
      status: dropped ? 0 : status,
      at: performance.now(),
      ...(requestId ? { requestId } : {}),
      ...(operationStatus ? { operationStatus } : {}),
    });
    if (dropped) {
      res.destroy();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
    res.end(JSON.stringify(payload));
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const emulator: GcpEmulator = {
    url: `http://127.0.0.1:${port}`,
    port,
    state,
    iam,
    calls,
    operationPolls: options.operationPolls ?? 2,
    waitDelayMs: options.waitDelayMs ?? 0,
    inUseQuote: options.inUseQuote ?? 'cidr',
    latency: options.latency,
    mutatingCalls: () => calls.filter((c) => c.method === 'PATCH').length,
    writes,
    inject: (fault) => faults.push({ ...fault, left: fault.times ?? 1 }),
    lies,
    clearFaults: () => {
      faults.length = 0;
      lies.clear();
      calls.length = 0;
      writes.length = 0;
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
  return emulator;
}
