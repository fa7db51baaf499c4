/**
 * @module
 * The Azure emulator's state and rules: subnets, VMs (and scale-set instances), NICs with their
 * ipConfigurations, public IPs, and the long-running operations NIC writes start. The HTTPS layer
 * (server.ts) only routes; every ARM rule lives here, so tests can seed and inspect the same state.
 *
 * A NIC PUT, as ARM does it:
 *
 * ```
 *  PUT nic ──► operation of this NIC still running? ── yes ─► 409 AnotherOperationInProgress
 *      │ no
 *      ├─► If-Match given and != etag? ── yes ─► 412 PreconditionFailed
 *      ├─► validate the whole NIC (count <= 256, one primary, subnets exist, static IPs inside their subnet
 *      │   and outside Azure's five reserved addresses, no IP held by another ipConfiguration, public IPs
 *      │   exist and are free, same ASGs on every ipConfiguration) ── fails ─► 400 <code>
 *      └─► store it (new etag, provisioningState Updating), start an operation, log the write (from the
 *          request's arrival) ─► 200 + Azure-AsyncOperation
 *
 *  operation:  InProgress ──(after `operationPolls` polls, or `operationMaxMs`)──► Succeeded
 *                   └──(failNextOperation)──► Failed (the NIC goes back to what it was)
 *              either way the write's log entry ends
 * ```
 */
import { randomUUID } from 'node:crypto';
import { addressesIn, cidrRange } from '../../../src/net/ip.ts';
import {
  ArmError,
  anotherOperationInProgress,
  etagMismatch,
  resourceNotFound,
  serverError,
  throttled,
} from './arm-errors.ts';
import { checkNicPut } from './nic-rules.ts';
import { clone, ipVersion, type Json, key, secondaryIPsOf, type WireNic } from './wire.ts';

interface Subnet {
  readonly id: string;
  readonly name: string;
  readonly prefix: string;
}

interface Vm {
  readonly id: string;
  readonly name: string;
  readonly location: string;
  readonly zones: string[];
  readonly nicIds: string[];
}

interface PublicIp {
  readonly id: string;
  readonly name: string;
  readonly ipAddress: string;
}

interface Operation {
  readonly id: string;
  readonly nicKey: string;
  readonly url: string;
  readonly startedAt: number;
  pollsLeft: number;
  status: 'InProgress' | 'Succeeded' | 'Failed';
  readonly fail: boolean;
  readonly previous: WireNic;
  /** The write log's entry of the PUT that started it, if a PUT did. */
  readonly write?: NicWrite;
}

/** A fault the next matching request meets instead of its normal answer. */
export interface Fault {
  /** HTTP status: 412, 409, 429 or 5xx. */
  readonly status: 412 | 409 | 429 | 500 | 502 | 503;
  /** Only requests with this method (default PUT). */
  readonly method?: 'GET' | 'PUT';
  /** For 429/503: the `Retry-After` seconds. */
  readonly retryAfterSeconds?: number;
}

/** One request the emulator served, for tests and benchmarks. */
export interface RecordedRequest {
  readonly seq: number;
  readonly method: string;
  readonly path: string;
  readonly status: number;
}

/** A change of a NIC's state, in order: a PUT accepted, an operation finished. */
export interface NicEvent {
  readonly seq: number;
  readonly kind: 'put-accepted' | 'operation-succeeded' | 'operation-failed';
  readonly nic: string;
  /** Non-primary IPs of the NIC after the event. */
  readonly secondaryIPs: readonly string[];
}

/**
 * A NIC PUT, from the request's arrival until its operation ended (Succeeded or Failed), in `performance.now()`
 * time; `endedAt` is undefined while the operation runs. A PUT refused for concurrency (412 stale etag, 409
 * another operation in progress) ends with its answer.
 */
export interface NicWrite {
  /** The NIC's resource ID as stored (as the provider reports it). */
  readonly interfaceId: string;
  readonly startedAt: number;
  endedAt: number | undefined;
}

/** The emulated Azure subscription. */
export class AzureCloud {
  readonly subscriptionId: string;
  /** Base URL of the server (set by the server once it listens), used in operation URLs. */
  baseUrl = 'https://127.0.0.1';
  /** InProgress answers an operation gives before Succeeded. */
  operationPolls = 2;
  /** An operation nobody polls still finishes after this long. */
  operationMaxMs = 2_000;
  /** Requests served, in order. */
  readonly requests: RecordedRequest[] = [];
  /** NIC state changes, in order. */
  readonly events: NicEvent[] = [];
  /** NIC PUTs accepted or refused for concurrency, in order (other refusals write nothing and are not listed). */
  readonly writes: NicWrite[] = [];

  readonly #subnets = new Map<string, Subnet>();
  readonly #vms = new Map<string, Vm>();
  readonly #nics = new Map<string, WireNic>();
  readonly #publicIps = new Map<string, PublicIp>();
  readonly #operations = new Map<string, Operation>();
  readonly #faults: Fault[] = [];
  readonly #beforePut: (() => void)[] = [];
  #failNext = 0;
  #seq = 0;

  constructor(subscriptionId = '00000000-0000-0000-0000-00000000c0de') {
    this.subscriptionId = subscriptionId;
  }

  #rgPath(resourceGroup: string): string {
    return `/subscriptions/${this.subscriptionId}/resourceGroups/${resourceGroup}/providers`;
  }

  // ---- seeding --------------------------------------------------------------------------------------

  /** Adds a subnet; returns its resource ID. */
  addSubnet(spec: { resourceGroup: string; vnet: string; name: string; prefix: string }): string {
    const id = `${this.#rgPath(spec.resourceGroup)}/Microsoft.Network/virtualNetworks/${spec.vnet}/subnets/${spec.name}`;
    this.#subnets.set(key(id), { id, name: spec.name, prefix: spec.prefix });
    return id;
  }

  /** Adds a public IP; returns its resource ID. */
  addPublicIp(spec: { resourceGroup: string; name: string; ipAddress: string }): string {
    const id = `${this.#rgPath(spec.resourceGroup)}/Microsoft.Network/publicIPAddresses/${spec.name}`;
    this.#publicIps.set(key(id), { id, name: spec.name, ipAddress: spec.ipAddress });
    return id;
  }

  /**
   * Adds a VM with one NIC whose primary ipConfiguration holds `primaryIP` in `subnetId`. Returns the VM's
   * and the NIC's resource IDs. `extraProperties` are stored on the NIC (e.g. `enableIPForwarding`).
   */
  addVm(spec: {
    resourceGroup: string;
    name: string;
    location: string;
    zone?: string;
    subnetId: string;
    primaryIP: string;
    asgIds?: readonly string[];
    tags?: Record<string, string>;
    extraProperties?: Json;
  }): { vmId: string; nicId: string } {
    const vmId = `${this.#rgPath(spec.resourceGroup)}/Microsoft.Compute/virtualMachines/${spec.name}`;
    const nicName = `${spec.name}-nic`;
    const nicId = `${this.#rgPath(spec.resourceGroup)}/Microsoft.Network/networkInterfaces/${nicName}`;
    const nic: WireNic = {
      id: nicId,
      name: nicName,
      type: 'Microsoft.Network/networkInterfaces',
      location: spec.location,
      etag: this.#etag(),
      ...(spec.tags ? { tags: spec.tags } : {}),
      properties: {
        provisioningState: 'Succeeded',
        ...spec.extraProperties,
        virtualMachine: { id: vmId },
        macAddress: '00-0D-3A-00-00-01',
        primary: true,
        ipConfigurations: [
          {
            name: 'ipconfig1',
            properties: {
              privateIPAddress: spec.primaryIP,
              privateIPAllocationMethod: 'Dynamic',
              privateIPAddressVersion: ipVersion(spec.primaryIP),
              primary: true,
              subnet: { id: spec.subnetId },
              ...(spec.asgIds ? { applicationSecurityGroups: spec.asgIds.map((id) => ({ id })) } : {}),
            },
          },
        ],
      },
    };
    this.#finish(nic);
    this.#nics.set(key(nicId), nic);
    this.#vms.set(key(vmId), {
      id: vmId,
      name: spec.name,
      location: spec.location,
      zones: spec.zone ? [spec.zone] : [],
      nicIds: [nicId],
    });
    return { vmId, nicId };
  }

  /**
   * Adds a uniform scale-set instance whose NIC lives in the scale set's model
   * (`.../virtualMachineScaleSets/<ss>/virtualMachines/<id>/networkInterfaces/<nic>`).
   */
  addScaleSetInstance(spec: {
    resourceGroup: string;
    scaleSet: string;
    instanceId: string;
    location: string;
  }): string {
    const vmId = `${this.#rgPath(spec.resourceGroup)}/Microsoft.Compute/virtualMachineScaleSets/${spec.scaleSet}/virtualMachines/${spec.instanceId}`;
    this.#vms.set(key(vmId), {
      id: vmId,
      name: `${spec.scaleSet}_${spec.instanceId}`,
      location: spec.location,
      zones: [],
      nicIds: [`${vmId}/networkInterfaces/${spec.scaleSet}-nic`],
    });
    return vmId;
  }

  /** Puts an ipConfiguration on a NIC directly, as another tool would (no operation, new etag). */
  addIpConfiguration(nicId: string, name: string, ip: string): void {
    const nic = this.#nic(nicId);
    const primary = nic.properties.ipConfigurations.find((c) => c.properties.primary)!;
    nic.properties.ipConfigurations.push({
      name,
      properties: {
        privateIPAddress: ip,
        privateIPAllocationMethod: 'Static',
        privateIPAddressVersion: ipVersion(ip),
        primary: false,
        subnet: clone(primary.properties.subnet!),
        ...(primary.properties.applicationSecurityGroups
          ? { applicationSecurityGroups: clone(primary.properties.applicationSecurityGroups) }
          : {}),
      },
    });
    this.#finish(nic);
    nic.etag = this.#etag();
  }

  /** Removes every non-primary ipConfiguration of every NIC, ends all operations, clears faults and logs. */
  reset(): void {
    this.operationPolls = 2;
    this.operationMaxMs = 2_000;
    for (const nic of this.#nics.values()) {
      nic.properties.ipConfigurations = nic.properties.ipConfigurations.filter((c) => c.properties.primary);
      nic.properties.provisioningState = 'Succeeded';
      nic.etag = this.#etag();
    }
    this.#operations.clear();
    this.#faults.length = 0;
    this.#beforePut.length = 0;
    this.#failNext = 0;
    this.clearLogs();
  }

  /** Empties the request, event and write logs. */
  clearLogs(): void {
    this.requests.length = 0;
    this.events.length = 0;
    this.writes.length = 0;
  }

  // ---- fault knobs -----------------------------------------------------------------------------------

  /** The next NIC request(s) with the fault's method meet these faults, one each, in order. */
  injectFaults(...faults: Fault[]): void {
    this.#faults.push(...faults);
  }

  /** The next `count` NIC operations end Failed and roll the NIC back. */
  failNextOperations(count = 1): void {
    this.#failNext += count;
  }

  /** Runs `fn` once, when the next NIC PUT arrives and before it is looked at (to stage a race). */
  beforeNextPut(fn: () => void): void {
    this.#beforePut.push(fn);
  }

  /** Starts an operation on a NIC as another client would: the NIC is busy until it finishes. */
  startForeignOperation(nicId: string): void {
    const nic = this.#nic(nicId);
    this.#startOperation(nic, clone(nic), false);
  }

  // ---- inspection ------------------------------------------------------------------------------------

  /** A copy of a NIC as stored. */
  nic(nicId: string): WireNic {
    return clone(this.#nic(nicId));
  }

  /** Non-primary IPs of a NIC, sorted. */
  secondaryIPs(nicId: string): string[] {
    return secondaryIPsOf(this.#nic(nicId));
  }

  /** The primary IP of a NIC. */
  primaryIP(nicId: string): string {
    return this.#nic(nicId).properties.ipConfigurations.find((c) => c.properties.primary)!.properties
      .privateIPAddress!;
  }

  /** `count` addresses of the subnet that no ipConfiguration holds and Azure does not reserve. */
  freeIPs(subnetId: string, count: number): string[] {
    const subnet = this.#subnets.get(key(subnetId));
    if (!subnet) throw new Error(`no subnet ${subnetId}`);
    const range = cidrRange(subnet.prefix);
    const held = this.#heldIPs();
    return [
      ...addressesIn({ ...range, start: range.start + 4n, end: range.end - 1n }, (ip) => held.has(ip), count),
    ];
  }

  /** PUT requests received (accepted or not): the mutating calls made. */
  get mutatingCalls(): number {
    return this.requests.filter((r) => r.method === 'PUT').length;
  }

  // ---- the REST semantics (called by the server) ------------------------------------------------------

  /** Records a served request. */
  record(method: string, path: string, status: number): void {
    this.requests.push({ seq: ++this.#seq, method, path, status });
  }

  /** Throws the next fault queued for `method`, if any. */
  takeFault(method: 'GET' | 'PUT'): void {
    const index = this.#faults.findIndex((f) => (f.method ?? 'PUT') === method);
    if (index < 0) return;
    const [fault] = this.#faults.splice(index, 1);
    switch (fault!.status) {
      case 412:
        throw etagMismatch('W/"injected"', 'W/"current"', 'injected-fault');
      case 409:
        throw anotherOperationInProgress(`${this.baseUrl}/injected`);
      case 429:
        throw throttled(fault!.retryAfterSeconds ?? 1);
      default: {
        const error = serverError(fault!.status);
        if (fault!.retryAfterSeconds === undefined) throw error;
        throw new ArmError(error.status, error.code, error.message, {
          'Retry-After': String(fault!.retryAfterSeconds),
        });
      }
    }
  }

  /** GET a VM or a scale-set instance, by resource ID. */
  getVm(vmId: string): Json {
    const vm = this.#vms.get(key(vmId));
    if (!vm) {
      const [, rg, , , type, name] =
        /resourceGroups\/([^/]+)\/providers\/([^/]+)\/(.+)\/([^/]+)$/.exec(vmId) ?? [];
      throw resourceNotFound(`Microsoft.Compute/${type ?? 'virtualMachines'}`, name ?? vmId, rg ?? '');
    }
    return {
      id: vm.id,
      name: vm.name,
      type: 'Microsoft.Compute/virtualMachines',
      location: vm.location,
      ...(vm.zones.length ? { zones: vm.zones } : {}),
      properties: {
        provisioningState: 'Succeeded',
        networkProfile: {
          networkInterfaces: vm.nicIds.map((id, i) => ({ id, properties: { primary: i === 0 } })),
        },
      },
    };
  }

  /** GET a subnet, by resource ID. */
  getSubnet(subnetId: string): Json {
    const subnet = this.#subnets.get(key(subnetId));
    if (!subnet) throw resourceNotFound('Microsoft.Network/virtualNetworks/subnets', subnetId, '');
    return {
      id: subnet.id,
      name: subnet.name,
      type: 'Microsoft.Network/virtualNetworks/subnets',
      etag: 'W/"subnet"',
      properties: { addressPrefix: subnet.prefix, provisioningState: 'Succeeded' },
    };
  }

  /** GET a NIC, by resource ID. */
  getNic(nicId: string): WireNic {
    const nic = this.#nic(nicId);
    this.#settleByTime(key(nicId));
    return clone(nic);
  }

  /**
   * PUT a NIC that arrived at `arrivedAt` (`performance.now()`). Returns the stored body and the operation URL
   * to poll; an accepted PUT, or one refused for concurrency, is logged in {@link writes}.
   * @throws ArmError as ARM would answer.
   */
  putNic(
    nicId: string,
    body: unknown,
    ifMatch: string | undefined,
    arrivedAt = performance.now(),
  ): { nic: WireNic; operationUrl: string } {
    this.#beforePut.shift()?.();
    const nic = this.#nic(nicId);
    this.#settleByTime(key(nicId));
    const running = [...this.#operations.values()].find(
      (op) => op.nicKey === key(nicId) && op.status === 'InProgress',
    );
    // A PUT refused for concurrency is logged too (it ends with its answer): a provider that sends a write while
    // another is in flight must show in the log even though ARM refuses the second one.
    const refused = (error: Error) => {
      this.writes.push({ interfaceId: nic.id, startedAt: arrivedAt, endedAt: performance.now() });
      return error;
    };
    if (running) throw refused(anotherOperationInProgress(running.url));
    if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== nic.etag) {
      throw refused(etagMismatch(ifMatch, nic.etag, nic.id));
    }
    const next = this.#validate(nic, body);
    const previous = clone(nic);
    const fail = this.#failNext > 0;
    if (fail) this.#failNext--;
    Object.assign(nic, next);
    const write: NicWrite = { interfaceId: nic.id, startedAt: arrivedAt, endedAt: undefined };
    this.writes.push(write);
    const op = this.#startOperation(nic, previous, fail, write);
    this.#event('put-accepted', nic);
    return { nic: clone(nic), operationUrl: op.url };
  }

  /** GET an operation's status (each call is a poll). */
  pollOperation(operationId: string): Json {
    const op = this.#operations.get(operationId);
    if (!op) throw resourceNotFound('Microsoft.Network/locations/operations', operationId, '');
    if (op.status === 'InProgress') {
      if (op.pollsLeft > 0) op.pollsLeft--;
      else this.#complete(op);
    }
    return op.status === 'Failed'
      ? { status: 'Failed', error: { code: 'InternalServerError', message: 'The operation failed.' } }
      : { status: op.status };
  }

  // ---- internals ---------------------------------------------------------------------------------------

  #nic(nicId: string): WireNic {
    const nic = this.#nics.get(key(nicId));
    if (!nic) {
      const [, rg, name] = /resourceGroups\/([^/]+)\/.*\/([^/]+)$/.exec(nicId) ?? [];
      throw resourceNotFound('Microsoft.Network/networkInterfaces', name ?? nicId, rg ?? '');
    }
    return nic;
  }

  #etag(): string {
    return `W/"${randomUUID()}"`;
  }

  #event(kind: NicEvent['kind'], nic: WireNic): void {
    this.events.push({ seq: ++this.#seq, kind, nic: nic.id, secondaryIPs: secondaryIPsOf(nic) });
  }

  #startOperation(nic: WireNic, previous: WireNic, fail: boolean, write?: NicWrite): Operation {
    const id = randomUUID();
    const op: Operation = {
      id,
      nicKey: key(nic.id),
      url: `${this.baseUrl}/subscriptions/${this.subscriptionId}/providers/Microsoft.Network/locations/${nic.location}/operations/${id}?api-version=2026-01-01`,
      startedAt: Date.now(),
      pollsLeft: this.operationPolls,
      status: 'InProgress',
      fail,
      previous,
      ...(write ? { write } : {}),
    };
    this.#operations.set(id, op);
    nic.properties.provisioningState = 'Updating';
    return op;
  }

  #settleByTime(nicKey: string): void {
    for (const op of this.#operations.values()) {
      if (
        op.nicKey === nicKey &&
        op.status === 'InProgress' &&
        Date.now() - op.startedAt >= this.operationMaxMs
      ) {
        this.#complete(op);
      }
    }
  }

  #complete(op: Operation): void {
    if (op.write) op.write.endedAt = performance.now();
    const nic = this.#nics.get(op.nicKey);
    if (!nic) return;
    if (op.fail) {
      op.status = 'Failed';
      Object.assign(nic, op.previous, { etag: this.#etag() });
      nic.properties.provisioningState = 'Succeeded';
      this.#event('operation-failed', nic);
      return;
    }
    op.status = 'Succeeded';
    nic.properties.provisioningState = 'Succeeded';
    this.#event('operation-succeeded', nic);
  }

  #heldIPs(except?: WireNic): Map<string, string> {
    const held = new Map<string, string>();
    for (const nic of this.#nics.values()) {
      if (nic === except) continue;
      for (const c of nic.properties.ipConfigurations) {
        if (c.properties.privateIPAddress)
          held.set(c.properties.privateIPAddress, `${nic.id}/ipConfigurations/${c.name}`);
      }
    }
    return held;
  }

  /** Checks a PUT body against ARM's rules and returns the NIC to store. */
  #validate(current: WireNic, body: unknown): WireNic {
    const next = checkNicPut(current, body, {
      subnet: (id) => this.#subnets.get(key(id)),
      heldIPs: (except) => this.#heldIPs(except),
      publicIpExists: (id) => this.#publicIps.has(key(id)),
      publicHolder: (id, except) => this.#publicHolder(id, except),
    });
    next.etag = this.#etag();
    this.#finish(next);
    return next;
  }

  #publicHolder(publicIpId: string, except: WireNic): string | undefined {
    for (const nic of this.#nics.values()) {
      if (nic === except) continue;
      for (const c of nic.properties.ipConfigurations) {
        if (c.properties.publicIPAddress && key(c.properties.publicIPAddress.id) === key(publicIpId)) {
          return `${nic.id}/ipConfigurations/${c.name}`;
        }
      }
    }
    return undefined;
  }

  /** Fills the read-only fields ARM adds to every ipConfiguration. */
  #finish(nic: WireNic): void {
    for (const c of nic.properties.ipConfigurations) {
      c.id = `${nic.id}/ipConfigurations/${c.name}`;
      c.etag = nic.etag;
      c.type = 'Microsoft.Network/networkInterfaces/ipConfigurations';
      c.properties.provisioningState = 'Succeeded';
    }
  }
}
