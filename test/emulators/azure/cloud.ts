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
 *      ├─► validate the whole NIC (count <= 256, one primary and it IPv4, subnets exist, static IPs inside
 *      │   their subnet's prefix of their version and outside Azure's five reserved addresses, no IP held by
 *      │   another ipConfiguration, public IPs exist, are free and of the ipConfiguration's version, same ASGs
 *      │   on every ipConfiguration; nic-rules.ts) ── fails ─► 400 <code>
 *      └─► store it (new etag, provisioningState Updating), start an operation, log the write (from the
 *          request's arrival) ─► 200 + Azure-AsyncOperation
 *
 *  operation:  InProgress ──(after `operationPolls` polls, or `operationMaxMs`)──► Succeeded
 *                   └──(failNextOperation)──► Failed: the NIC goes back to what it was, provisioningState
 *                      Failed, except IPs another NIC took meanwhile (an IP is never on two NICs)
 *              either way the write's log entry ends
 *
 *  POST vnet/moveIpConfigurations (feature AllowMoveIpConfigurations registered, else 400
 *  SubscriptionNotRegisteredForFeature) ─► every source ipConfiguration leaves its NIC and lands on the target
 *  NIC under the target's name, in one operation over every NIC named ─► 202 + Azure-AsyncOperation
 * ```
 *
 * Timing: by default operations end after a few polls (fast tests). {@link AzureCloud.useAzureTiming} answers
 * as Azure publishes it instead: an operation takes `operationMaxMs` (6.5 s, the 6–7 s of a NIC write on the new
 * network control plane) and every accepted write and InProgress poll carries `Retry-After: 10`.
 *
 * Lies ({@link AzureCloud.lies}, providers/inmemory/lies.ts): a lost write is answered as accepted, its operation
 * Succeeds and the NIC never changes; a late write is answered the same way and the NIC takes the PUT body
 * `delayMs` after the answer, if ARM's rules still allow it then (else never); a stale read of a NIC answers what
 * an earlier GET of it was answered (ipConfigurations and etag). Lies are told to NIC PUTs and GETs only (not to
 * route tables or moveIpConfigurations).
 */
import { randomUUID } from 'node:crypto';
import { AnswerHistory, Lies, type WriteLie } from '../../../providers/inmemory/index.ts';
import { addressesIn, canonicalIp, cidrRange, familyOf } from '../../../src/net/ip.ts';
import {
  ArmError,
  anotherOperationInProgress,
  badRequest,
  etagMismatch,
  featureNotRegistered,
  invalidReference,
  preconditionOnMissing,
  resourceNotFound,
  serverError,
  throttled,
} from './arm-errors.ts';
import { checkNicPut } from './nic-rules.ts';
import { checkRouteTablePut, type WireRoute, type WireRouteTable } from './route-rules.ts';
import { clone, ipVersion, type Json, key, secondaryIPsOf, type WireNic } from './wire.ts';

interface Subnet {
  readonly id: string;
  readonly name: string;
  /** One IPv4 prefix, then in a dual-stack subnet its IPv6 prefix. */
  readonly prefixes: readonly string[];
  /** The route table associated with the subnet, if any. */
  routeTableId?: string;
}

interface Vnet {
  readonly id: string;
  readonly name: string;
  readonly location: string;
  readonly addressPrefixes: readonly string[];
}

interface Vm {
  readonly id: string;
  readonly name: string;
  readonly location: string;
  readonly zones: string[];
  readonly nicIds: string[];
  /** What happens to each NIC when the VM is deleted (Compute `NetworkInterfaceReference.deleteOption`). */
  readonly nicDeleteOption: 'Delete' | 'Detach';
}

interface PublicIp {
  readonly id: string;
  readonly name: string;
  readonly ipAddress: string;
  /** `publicIPAddressVersion`: the version of its address. */
  readonly version: 'IPv4' | 'IPv6';
}

interface Operation {
  readonly id: string;
  /** The NIC it writes (for a move, the target NIC). */
  readonly nicKey: string;
  /** Every NIC it holds busy and rolls back on failure, with each one's state before it. */
  readonly nics: readonly { readonly nicKey: string; readonly previous: WireNic }[];
  readonly url: string;
  readonly startedAt: number;
  pollsLeft: number;
  status: 'InProgress' | 'Succeeded' | 'Failed';
  /** The error code it fails with, if it is to fail. */
  readonly fail: string | undefined;
  /** The write log's entries of the PUT (or of a move, one per target NIC) that started it. */
  readonly writes: readonly { endedAt: number | undefined }[];
  /** For a route table PUT: the table and its state before. */
  readonly routeTable?: { readonly key: string; readonly previous: WireRouteTable };
}

/** How long a NIC write takes on Azure's new network control plane: 6–7 s (F5 CFE sizing notes). */
export const AZURE_NIC_OPERATION_MS = 6_500;
/** The `Retry-After` NRP answers on NIC writes and their operation polls, in seconds. */
export const AZURE_RETRY_AFTER_SECONDS = 10;

/** A fault the next matching request meets instead of its normal answer. */
export interface Fault {
  /** HTTP status: 412, 409, 429 or 5xx. */
  readonly status: 412 | 409 | 429 | 500 | 502 | 503;
  /** Only requests with this method (default PUT; POST is a move). */
  readonly method?: 'GET' | 'PUT' | 'POST';
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
  readonly kind: 'put-accepted' | 'move-accepted' | 'operation-succeeded' | 'operation-failed';
  readonly nic: string;
  /** Non-primary IPs of the NIC after the event. */
  readonly secondaryIPs: readonly string[];
  /** When it happened (`performance.now()`). */
  readonly at: number;
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

/**
 * A route table PUT, from its arrival until its operation ended, with the next hops whose routes it changed (a
 * route added, removed, or pointed elsewhere: the nodes that gained or lost an egress IP).
 */
export interface RouteTableWrite {
  readonly routeTableId: string;
  readonly startedAt: number;
  endedAt: number | undefined;
  readonly nextHops: readonly string[];
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
  /** `Retry-After` seconds on accepted writes and InProgress polls (Azure sends 10); none when undefined. */
  retryAfterSeconds: number | undefined;
  /** Subscription features registered (`Microsoft.Network/<name>`), e.g. `AllowMoveIpConfigurations`. */
  readonly features = new Set<string>();
  /**
   * The caller's role assignments: each grants `actions` minus `notActions` on every resource under `scope` (a
   * resource ID prefix). Default: everything everywhere. The permissions listing answers from these.
   */
  readonly grants: { scope: string; actions: string[]; notActions: string[] }[] = [
    { scope: '/', actions: ['*'], notActions: [] },
  ];
  /** Requests served, in order. */
  readonly requests: RecordedRequest[] = [];
  /** NIC state changes, in order. */
  readonly events: NicEvent[] = [];
  /** NIC PUTs accepted or refused for concurrency, in order (other refusals write nothing and are not listed). */
  readonly writes: NicWrite[] = [];
  /** Route table PUTs accepted, in order. */
  readonly routeWrites: RouteTableWrite[] = [];
  /** Lost writes, late writes and stale reads to tell (see the module comment). */
  readonly lies = new Lies();
  readonly #answers = new AnswerHistory<WireNic>({
    equal: (a, b) => JSON.stringify(a) === JSON.stringify(b),
  });

  readonly #subnets = new Map<string, Subnet>();
  readonly #vnets = new Map<string, Vnet>();
  readonly #routeTables = new Map<string, WireRouteTable>();
  readonly #vms = new Map<string, Vm>();
  readonly #nics = new Map<string, WireNic>();
  readonly #publicIps = new Map<string, PublicIp>();
  readonly #operations = new Map<string, Operation>();
  readonly #faults: Fault[] = [];
  readonly #beforePut: (() => void)[] = [];
  readonly #failNext: string[] = [];
  #seq = 0;

  constructor(subscriptionId = '00000000-0000-0000-0000-00000000c0de') {
    this.subscriptionId = subscriptionId;
  }

  #rgPath(resourceGroup: string): string {
    return `/subscriptions/${this.subscriptionId}/resourceGroups/${resourceGroup}/providers`;
  }

  // ---- seeding --------------------------------------------------------------------------------------

  /**
   * Adds a subnet; returns its resource ID. With `ipv6Prefix` the subnet is dual stack (`addressPrefixes` holds both
   * prefixes); an IPv6 prefix must be exactly /64 ("The subnets for IPv6 must be exactly /64 in size", Microsoft
   * Learn, "What is IPv6 for Azure Virtual Network?"), else seeding throws.
   */
  addSubnet(spec: {
    resourceGroup: string;
    vnet: string;
    name: string;
    prefix: string;
    ipv6Prefix?: string;
  }): string {
    if (spec.ipv6Prefix !== undefined) {
      const [address, length] = spec.ipv6Prefix.split('/');
      if (!address || familyOf(address) !== 6 || length !== '64') {
        throw new Error(`${spec.ipv6Prefix}: an Azure subnet's IPv6 prefix must be an IPv6 /64`);
      }
    }
    const id = `${this.#rgPath(spec.resourceGroup)}/Microsoft.Network/virtualNetworks/${spec.vnet}/subnets/${spec.name}`;
    this.#subnets.set(key(id), {
      id,
      name: spec.name,
      prefixes: [spec.prefix, ...(spec.ipv6Prefix ? [spec.ipv6Prefix] : [])],
    });
    return id;
  }

  /** Adds a virtual network with its address space; returns its resource ID (add its subnets with addSubnet). */
  addVnet(spec: {
    resourceGroup: string;
    name: string;
    location: string;
    addressPrefixes: string[];
  }): string {
    const id = `${this.#rgPath(spec.resourceGroup)}/Microsoft.Network/virtualNetworks/${spec.name}`;
    this.#vnets.set(key(id), {
      id,
      name: spec.name,
      location: spec.location,
      addressPrefixes: spec.addressPrefixes,
    });
    return id;
  }

  /** Adds an empty route table; returns its resource ID. */
  addRouteTable(spec: { resourceGroup: string; name: string; location: string }): string {
    const id = `${this.#rgPath(spec.resourceGroup)}/Microsoft.Network/routeTables/${spec.name}`;
    this.#routeTables.set(key(id), {
      id,
      name: spec.name,
      type: 'Microsoft.Network/routeTables',
      location: spec.location,
      etag: this.#etag(),
      properties: { routes: [], provisioningState: 'Succeeded', disableBgpRoutePropagation: false },
    });
    return id;
  }

  /** Associates a route table with a subnet (as `az network vnet subnet update --route-table`). */
  associateRouteTable(subnetId: string, routeTableId: string): void {
    const subnet = this.#subnets.get(key(subnetId));
    if (!subnet) throw new Error(`no subnet ${subnetId}`);
    subnet.routeTableId = routeTableId;
  }

  /** Puts a route into a table directly, as another tool would (no operation, new etag). */
  addRoute(routeTableId: string, name: string, addressPrefix: string, nextHopIpAddress: string): void {
    const table = this.#routeTable(routeTableId);
    table.properties.routes.push({
      name,
      properties: { addressPrefix, nextHopType: 'VirtualAppliance', nextHopIpAddress },
    });
    table.etag = this.#etag();
    this.#finishTable(table);
  }

  /** The routes of a table: name, prefix, next hop. */
  routes(routeTableId: string): { name: string; prefix: string; nextHop: string | undefined }[] {
    return this.#routeTable(routeTableId).properties.routes.map((r) => ({
      name: r.name,
      prefix: r.properties.addressPrefix ?? '',
      nextHop: r.properties.nextHopIpAddress,
    }));
  }

  /** Adds a public IP; returns its resource ID. */
  addPublicIp(spec: { resourceGroup: string; name: string; ipAddress: string }): string {
    const id = `${this.#rgPath(spec.resourceGroup)}/Microsoft.Network/publicIPAddresses/${spec.name}`;
    this.#publicIps.set(key(id), {
      id,
      name: spec.name,
      ipAddress: spec.ipAddress,
      version: ipVersion(spec.ipAddress),
    });
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
    nicDeleteOption?: 'Delete' | 'Detach';
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
      nicDeleteOption: spec.nicDeleteOption ?? 'Delete',
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
    zone?: string;
    /** With these, the instance's NIC exists (readable through the Network RP's scale-set NIC GET). */
    subnetId?: string;
    primaryIP?: string;
    /** `enableIPForwarding` of the NIC (AKS node pools have it on). */
    ipForwarding?: boolean;
  }): string {
    const vmId = `${this.#rgPath(spec.resourceGroup)}/Microsoft.Compute/virtualMachineScaleSets/${spec.scaleSet}/virtualMachines/${spec.instanceId}`;
    const nicId = `${vmId}/networkInterfaces/${spec.scaleSet}-nic`;
    this.#vms.set(key(vmId), {
      id: vmId,
      name: `${spec.scaleSet}_${spec.instanceId}`,
      location: spec.location,
      zones: spec.zone ? [spec.zone] : [],
      nicIds: [nicId],
      nicDeleteOption: 'Delete',
    });
    if (spec.subnetId && spec.primaryIP) {
      const nic: WireNic = {
        id: nicId,
        name: `${spec.scaleSet}-nic`,
        type: 'Microsoft.Network/networkInterfaces',
        location: spec.location,
        etag: this.#etag(),
        properties: {
          provisioningState: 'Succeeded',
          virtualMachine: { id: vmId },
          enableIPForwarding: spec.ipForwarding ?? true,
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
              },
            },
          ],
        },
      };
      this.#finish(nic);
      this.#nics.set(key(nicId), nic);
    }
    return vmId;
  }

  /** Turns IP forwarding of a NIC on or off (as a node image upgrade may, per Calico's UDR-mode notes). */
  setIpForwarding(nicId: string, on: boolean): void {
    this.#nic(nicId).properties['enableIPForwarding'] = on;
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

  /**
   * Deletes a VM as `az vm delete` does: each NIC is deleted with it, or, with `deleteOption: Detach` (Compute
   * `NetworkInterfaceReference.properties.deleteOption`), survives with its ipConfigurations and no
   * `virtualMachine` (a detached NIC).
   */
  deleteVm(vmId: string): void {
    const vm = this.#vms.get(key(vmId));
    if (!vm) throw new Error(`no VM ${vmId}`);
    this.#vms.delete(key(vmId));
    for (const nicId of vm.nicIds) {
      const nic = this.#nics.get(key(nicId));
      if (!nic) continue;
      if (vm.nicDeleteOption === 'Delete') this.#nics.delete(key(nicId));
      else {
        delete nic.properties['virtualMachine'];
        nic.etag = this.#etag();
        this.#finish(nic);
      }
    }
  }

  /** Deletes a NIC (as `az network nic delete`). */
  deleteNic(nicId: string): void {
    this.#nics.delete(key(nicId));
  }

  /** Switches to the operation times Azure publishes (see the module comment); {@link reset} switches back. */
  useAzureTiming(): void {
    this.operationPolls = Number.POSITIVE_INFINITY;
    this.operationMaxMs = AZURE_NIC_OPERATION_MS;
    this.retryAfterSeconds = AZURE_RETRY_AFTER_SECONDS;
  }

  /** Removes every non-primary ipConfiguration of every NIC, ends all operations, clears faults and logs. */
  reset(): void {
    this.operationPolls = 2;
    this.operationMaxMs = 2_000;
    this.retryAfterSeconds = undefined;
    this.grants.splice(0, this.grants.length, { scope: '/', actions: ['*'], notActions: [] });
    for (const nic of this.#nics.values()) {
      nic.properties.ipConfigurations = nic.properties.ipConfigurations.filter((c) => c.properties.primary);
      nic.properties.provisioningState = 'Succeeded';
      nic.etag = this.#etag();
    }
    for (const table of this.#routeTables.values()) {
      table.properties.routes = [];
      table.properties.provisioningState = 'Succeeded';
      table.etag = this.#etag();
    }
    this.#operations.clear();
    this.#faults.length = 0;
    this.#beforePut.length = 0;
    this.#failNext.length = 0;
    this.lies.clear();
    this.#answers.clear();
    this.clearLogs();
  }

  /** Empties the request, event and write logs. */
  clearLogs(): void {
    this.requests.length = 0;
    this.events.length = 0;
    this.writes.length = 0;
    this.routeWrites.length = 0;
  }

  // ---- fault knobs -----------------------------------------------------------------------------------

  /** The next NIC request(s) with the fault's method meet these faults, one each, in order. */
  injectFaults(...faults: Fault[]): void {
    this.#faults.push(...faults);
  }

  /**
   * The next `count` NIC operations end Failed with `code` and roll the NIC back. `AnotherOperationInProgress`
   * is how Azure often reports a concurrent write: the PUT is accepted and its operation fails.
   */
  failNextOperations(count = 1, code = 'InternalServerError'): void {
    for (let i = 0; i < count; i++) this.#failNext.push(code);
  }

  /** Runs `fn` once, when the next NIC PUT arrives and before it is looked at (to stage a race). */
  beforeNextPut(fn: () => void): void {
    this.#beforePut.push(fn);
  }

  /** Starts an operation on a NIC as another client would: the NIC is busy until it finishes. */
  startForeignOperation(nicId: string): void {
    const nic = this.#nic(nicId);
    this.#startOperation(nic, [nic], undefined);
  }

  // ---- inspection ------------------------------------------------------------------------------------

  /** A copy of a NIC as stored. */
  nic(nicId: string): WireNic {
    return clone(this.#nic(nicId));
  }

  /** Non-primary IPs of a NIC, sorted; with `version`, only those of ipConfigurations of that version. */
  secondaryIPs(nicId: string, version?: 'IPv4' | 'IPv6'): string[] {
    const nic = this.#nic(nicId);
    if (!version) return secondaryIPsOf(nic);
    const ofVersion = nic.properties.ipConfigurations.filter(
      (c) => c.properties.privateIPAddressVersion === version,
    );
    return secondaryIPsOf({ ...nic, properties: { ...nic.properties, ipConfigurations: ofVersion } });
  }

  /** The primary IP of a NIC. */
  primaryIP(nicId: string): string {
    return this.#nic(nicId).properties.ipConfigurations.find((c) => c.properties.primary)!.properties
      .privateIPAddress!;
  }

  /** `count` addresses of the subnet's prefix of `family` that no ipConfiguration holds and Azure does not reserve. */
  freeIPs(subnetId: string, count: number, family: 4 | 6 = 4): string[] {
    const subnet = this.#subnets.get(key(subnetId));
    if (!subnet) throw new Error(`no subnet ${subnetId}`);
    const prefix = subnet.prefixes.find((p) => familyOf(p.split('/')[0]!) === family);
    if (!prefix) throw new Error(`subnet ${subnetId} has no IPv${family} prefix`);
    const range = cidrRange(prefix);
    const held = this.#heldIPs();
    return [
      ...addressesIn({ ...range, start: range.start + 4n, end: range.end - 1n }, (ip) => held.has(ip), count),
    ];
  }

  /** PUT and POST requests received (accepted or not): the mutating calls made. */
  get mutatingCalls(): number {
    return this.requests.filter((r) => r.method === 'PUT' || r.method === 'POST').length;
  }

  /** True when the NIC exists. */
  hasNic(nicId: string): boolean {
    return this.#nics.has(key(nicId));
  }

  // ---- the REST semantics (called by the server) ------------------------------------------------------

  /** Records a served request. */
  record(method: string, path: string, status: number): void {
    this.requests.push({ seq: ++this.#seq, method, path, status });
  }

  /** Throws the next fault queued for `method`, if any. */
  takeFault(method: 'GET' | 'PUT' | 'POST'): void {
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

  /**
   * GET `{resource}/providers/Microsoft.Authorization/permissions` (api-version 2022-04-01): one entry per role
   * assignment whose scope contains the resource, `{actions, notActions, dataActions, notDataActions}`.
   */
  permissionsFor(resourceId: string): Json {
    const id = key(resourceId);
    return {
      value: this.grants
        .filter((g) => g.scope === '/' || id.startsWith(key(g.scope)))
        .map((g) => ({
          actions: [...g.actions],
          notActions: [...g.notActions],
          dataActions: [],
          notDataActions: [],
        })),
    };
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
          networkInterfaces: vm.nicIds.map((id, i) => ({
            id,
            properties: { primary: i === 0, deleteOption: vm.nicDeleteOption },
          })),
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
      properties: {
        // One prefix: `addressPrefix`; a dual-stack subnet lists both in `addressPrefixes` (as `az network vnet
        // subnet create --address-prefixes 10.1.2.0/24 ace:cab:deca:deed::/64` makes it, Azure/azure-cli#15213).
        ...(subnet.prefixes.length === 1
          ? { addressPrefix: subnet.prefixes[0] }
          : { addressPrefixes: [...subnet.prefixes] }),
        provisioningState: 'Succeeded',
        ...(subnet.routeTableId ? { routeTable: { id: subnet.routeTableId } } : {}),
      },
    };
  }

  /** GET a virtual network (address space and subnets), by resource ID. */
  getVnet(vnetId: string): Json {
    const vnet = this.#vnets.get(key(vnetId));
    if (!vnet)
      throw resourceNotFound('Microsoft.Network/virtualNetworks', vnetId.split('/').at(-1) ?? vnetId, '');
    const subnets = [...this.#subnets.values()].filter((s) =>
      key(s.id).startsWith(`${key(vnet.id)}/subnets/`),
    );
    return {
      id: vnet.id,
      name: vnet.name,
      type: 'Microsoft.Network/virtualNetworks',
      location: vnet.location,
      etag: 'W/"vnet"',
      properties: {
        provisioningState: 'Succeeded',
        addressSpace: { addressPrefixes: [...vnet.addressPrefixes] },
        subnets: subnets.map((s) => this.getSubnet(s.id)),
      },
    };
  }

  /** GET a route table, by resource ID. */
  getRouteTable(routeTableId: string): WireRouteTable {
    const table = this.#routeTable(routeTableId);
    this.#settleByTime(key(routeTableId));
    return clone(table);
  }

  /**
   * PUT a route table (the whole `routes` list, `If-Match`), as for NICs: 409 while its operation runs, 412 for a
   * stale etag, route-rules.ts, then an operation. Logged in {@link routeWrites}.
   */
  putRouteTable(
    routeTableId: string,
    body: unknown,
    ifMatch: string | undefined,
    arrivedAt = performance.now(),
  ): { table: WireRouteTable; operationUrl: string } {
    if (!this.#routeTables.has(key(routeTableId))) {
      if (ifMatch !== undefined) throw preconditionOnMissing(routeTableId);
      throw new ArmError(501, 'NotImplemented', 'The emulator does not create route tables; seed them.');
    }
    const table = this.#routeTable(routeTableId);
    this.#settleByTime(key(routeTableId));
    const running = this.#running(key(routeTableId));
    if (running) throw anotherOperationInProgress(running.url);
    if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== table.etag) {
      throw etagMismatch(ifMatch, table.etag, table.id);
    }
    const next = checkRouteTablePut(table, body);
    const previous = clone(table);
    const hops = (routes: readonly WireRoute[]) =>
      new Map(
        routes.map((r) => [key(r.name), `${r.properties.addressPrefix}>${r.properties.nextHopIpAddress}`]),
      );
    const before = hops(table.properties.routes);
    const after = hops(next.properties.routes);
    const changed = new Set<string>();
    for (const route of [...table.properties.routes, ...next.properties.routes]) {
      if (before.get(key(route.name)) !== after.get(key(route.name)) && route.properties.nextHopIpAddress) {
        changed.add(route.properties.nextHopIpAddress);
      }
    }
    Object.assign(table, next, { etag: this.#etag() });
    this.#finishTable(table);
    const write: RouteTableWrite = {
      routeTableId: table.id,
      startedAt: arrivedAt,
      endedAt: undefined,
      nextHops: [...changed].sort(),
    };
    this.routeWrites.push(write);
    const op = this.#startOperation(table, [], this.#failNext.shift(), [write], [], {
      key: key(table.id),
      previous,
    });
    table.properties.provisioningState = 'Updating';
    return { table: clone(table), operationUrl: op.url };
  }

  /** GET a NIC, by resource ID. */
  getNic(nicId: string): WireNic {
    const nic = this.#nic(nicId);
    this.#settleByTime(key(nicId));
    const fresh = clone(nic);
    if (this.lies.recording) this.#answers.record(key(nicId), fresh);
    const age = this.lies.nextReadAge();
    return (age > 0 ? this.#answers.stale(key(nicId), age) : undefined) ?? fresh;
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
    if (!this.#nics.has(key(nicId))) {
      if (ifMatch !== undefined) throw preconditionOnMissing(nicId);
      throw new ArmError(501, 'NotImplemented', 'The emulator does not create NICs; seed them with addVm.');
    }
    const nic = this.#nic(nicId);
    this.#settleByTime(key(nicId));
    const running = this.#running(key(nicId));
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
    const lie = this.lies.nextWrite();
    if (lie.kind !== 'honest') return this.#lie(nic, next, body, lie, arrivedAt);
    const before = clone(nic);
    const fail = this.#failNext.shift();
    Object.assign(nic, next);
    const write: NicWrite = { interfaceId: nic.id, startedAt: arrivedAt, endedAt: undefined };
    this.writes.push(write);
    const op = this.#startOperation(nic, [nic], fail, [write], [before]);
    this.#event('put-accepted', nic);
    return { nic: clone(nic), operationUrl: op.url };
  }

  /**
   * POST `.../virtualNetworks/{vnet}/moveIpConfigurations` (Microsoft.Network 2026-01-01, as `@azure/arm-network`
   * 39 sends it: body `{moveIpConfigurationItems: [{sourceIpConfiguration: {id}, targetIpConfiguration: {id}}]}`,
   * 202 and Azure-AsyncOperation polling). Gated by the subscription feature `AllowMoveIpConfigurations`. Each
   * source ipConfiguration (non-primary, in a subnet of this VNet) leaves its NIC and is created on the target NIC
   * under the target's name, keeping its address and the rest of its properties. Items may name different source
   * and target NICs: the spec's example (VirtualNetworkMoveIpConfigurations.json, 2025-09-01; generated into
   * Azure/azure-sdk-for-js sdk/network/arm-network/samples-dev/virtualNetworksMoveIpConfigurationsSample.ts) moves
   * nic1 to nic2 and nic3 to nic4 in one request. One operation holds every NIC it names busy. The REST spec says
   * no more (it names no IP version either: an IPv6 ipConfiguration moves as an IPv4 one does); the rules beyond
   * the body's shape (same VNet, target name free, NICs not busy) are the ones NIC PUTs keep.
   */
  moveIpConfigurations(
    vnetPath: string,
    body: unknown,
    arrivedAt = performance.now(),
  ): { operationUrl: string } {
    if (!this.features.has('AllowMoveIpConfigurations')) {
      throw featureNotRegistered(this.subscriptionId, 'AllowMoveIpConfigurations');
    }
    const items = (body as { moveIpConfigurationItems?: unknown } | null)?.moveIpConfigurationItems;
    if (!Array.isArray(items) || items.length === 0) {
      throw badRequest('The request body must carry moveIpConfigurationItems.');
    }
    const vnetSubnets = `${key(vnetPath)}/subnets/`;
    const IPCONFIG = /^(.*\/networkinterfaces\/[^/]+)\/ipconfigurations\/([^/]+)$/i;
    const moves = items.map(
      (item: { sourceIpConfiguration?: { id?: string }; targetIpConfiguration?: { id?: string } }) => {
        const source = IPCONFIG.exec(item?.sourceIpConfiguration?.id ?? '');
        const target = IPCONFIG.exec(item?.targetIpConfiguration?.id ?? '');
        if (!source || !target)
          throw badRequest('Each move item needs source and target ipConfiguration IDs.');
        const from = this.#nics.get(key(source[1]!));
        const config = from?.properties.ipConfigurations.find((c) => key(c.name) === key(source[2]!));
        if (!from || !config) throw invalidReference(item.sourceIpConfiguration!.id!, vnetPath);
        const to = this.#nics.get(key(target[1]!));
        if (!to) throw invalidReference(item.targetIpConfiguration!.id!, vnetPath);
        if (config.properties.primary)
          throw badRequest(
            `${item.sourceIpConfiguration!.id} is a primary IP configuration; it cannot be moved.`,
          );
        if (!key(config.properties.subnet?.id ?? '').startsWith(vnetSubnets)) {
          throw badRequest(`${item.sourceIpConfiguration!.id} is not in virtual network ${vnetPath}.`);
        }
        if (to.properties.ipConfigurations.some((c) => key(c.name) === key(target[2]!))) {
          throw badRequest(`${to.id} already has an IP configuration named ${target[2]}.`);
        }
        return { from, to, config, name: target[2]! };
      },
    );
    const nics = [...new Set(moves.flatMap((m) => [m.from, m.to]))];
    for (const nic of nics) {
      this.#settleByTime(key(nic.id));
      const running = this.#running(key(nic.id));
      if (running) throw anotherOperationInProgress(running.url);
    }
    const before = nics.map((nic) => clone(nic));
    for (const { from, to, config, name } of moves) {
      from.properties.ipConfigurations = from.properties.ipConfigurations.filter((c) => c !== config);
      to.properties.ipConfigurations.push({ ...clone(config), name });
    }
    for (const nic of nics) {
      nic.etag = this.#etag();
      this.#finish(nic);
    }
    // One write per target NIC: the items may fill several NICs (the spec's example moves nic1 to nic2 and nic3
    // to nic4 in one request).
    const targets = [...new Set(moves.map((m) => m.to))];
    const writes = targets.map(
      (t): NicWrite => ({ interfaceId: t.id, startedAt: arrivedAt, endedAt: undefined }),
    );
    this.writes.push(...writes);
    const op = this.#startOperation(targets[0]!, nics, this.#failNext.shift(), writes, before);
    for (const nic of nics) this.#event('move-accepted', nic);
    return { operationUrl: op.url };
  }

  /** GET an operation's status (each call is a poll). */
  pollOperation(operationId: string): Json {
    const op = this.#operations.get(operationId);
    if (!op) throw resourceNotFound('Microsoft.Network/locations/operations', operationId, '');
    if (op.status === 'InProgress') {
      if (Date.now() - op.startedAt >= this.operationMaxMs) this.#complete(op);
      else if (op.pollsLeft > 0) op.pollsLeft--;
      else this.#complete(op);
    }
    return op.status === 'Failed'
      ? {
          status: 'Failed',
          error: {
            code: op.fail,
            message:
              op.fail === 'AnotherOperationInProgress'
                ? `Another operation on this or dependent resource is in progress. To retrieve status of the operation use uri: ${op.url}.`
                : 'The operation failed.',
          },
        }
      : { status: op.status };
  }

  /** The headers an accepted write or an InProgress poll of `operationId` carries (`Retry-After`). */
  pollHeaders(operationId?: string): Record<string, string> {
    if (this.retryAfterSeconds === undefined) return {};
    const op = operationId ? this.#operations.get(operationId) : undefined;
    if (op && op.status !== 'InProgress') return {};
    return { 'Retry-After': String(this.retryAfterSeconds) };
  }

  // ---- internals ---------------------------------------------------------------------------------------

  /**
   * A lost or late PUT: answered as accepted with an operation that holds the NIC busy and Succeeds, but the
   * NIC's configurations are not touched; a late one's body is put on the NIC `delayMs` later, if ARM's rules
   * allow it then.
   */
  #lie(
    nic: WireNic,
    next: WireNic,
    body: unknown,
    lie: WriteLie & { kind: 'lost' | 'late' },
    arrivedAt: number,
  ): { nic: WireNic; operationUrl: string } {
    const write: NicWrite = { interfaceId: nic.id, startedAt: arrivedAt, endedAt: undefined };
    this.writes.push(write);
    const op = this.#startOperation(nic, [nic], undefined, [write]);
    const answered = clone(next);
    answered.properties.provisioningState = nic.properties.provisioningState;
    if (lie.kind === 'late') {
      this.lies.land(lie.delayMs, () => {
        try {
          Object.assign(nic, this.#validate(nic, body));
          this.#event('put-accepted', nic);
        } catch {
          // ARM would refuse it now: it never lands.
        }
      });
    }
    return { nic: answered, operationUrl: op.url };
  }

  #nic(nicId: string): WireNic {
    const nic = this.#nics.get(key(nicId));
    if (!nic) {
      const [, rg, name] = /resourceGroups\/([^/]+)\/.*\/([^/]+)$/.exec(nicId) ?? [];
      throw resourceNotFound('Microsoft.Network/networkInterfaces', name ?? nicId, rg ?? '');
    }
    return nic;
  }

  #routeTable(routeTableId: string): WireRouteTable {
    const table = this.#routeTables.get(key(routeTableId));
    if (!table) {
      const [, rg, name] = /resourceGroups\/([^/]+)\/.*\/([^/]+)$/.exec(routeTableId) ?? [];
      throw resourceNotFound('Microsoft.Network/routeTables', name ?? routeTableId, rg ?? '');
    }
    return table;
  }

  /** Fills the read-only fields ARM adds to every route. */
  #finishTable(table: WireRouteTable): void {
    for (const r of table.properties.routes) {
      r.id = `${table.id}/routes/${r.name}`;
      r.etag = table.etag;
      r.type = 'Microsoft.Network/routeTables/routes';
      r.properties.provisioningState = 'Succeeded';
    }
  }

  #etag(): string {
    return `W/"${randomUUID()}"`;
  }

  #event(kind: NicEvent['kind'], nic: WireNic): void {
    this.events.push({
      seq: ++this.#seq,
      kind,
      nic: nic.id,
      secondaryIPs: secondaryIPsOf(nic),
      at: performance.now(),
    });
  }

  #running(resourceKey: string): Operation | undefined {
    return [...this.#operations.values()].find(
      (op) =>
        op.status === 'InProgress' &&
        (op.nics.some((n) => n.nicKey === resourceKey) || op.routeTable?.key === resourceKey),
    );
  }

  #startOperation(
    nic: { readonly id: string; readonly location: string },
    busy: readonly WireNic[],
    fail: string | undefined,
    writes: readonly { endedAt: number | undefined }[] = [],
    previous: readonly WireNic[] = busy.map((n) => clone(n)),
    routeTable?: { key: string; previous: WireRouteTable },
  ): Operation {
    const id = randomUUID();
    const op: Operation = {
      id,
      nicKey: key(nic.id),
      nics: busy.map((n, i) => ({ nicKey: key(n.id), previous: previous[i]! })),
      url: `${this.baseUrl}/subscriptions/${this.subscriptionId}/providers/Microsoft.Network/locations/${nic.location}/operations/${id}?api-version=2026-01-01`,
      startedAt: Date.now(),
      pollsLeft: this.operationPolls,
      status: 'InProgress',
      fail,
      writes,
      ...(routeTable ? { routeTable } : {}),
    };
    this.#operations.set(id, op);
    for (const n of busy) n.properties.provisioningState = 'Updating';
    return op;
  }

  #settleByTime(nicKey: string): void {
    for (const op of this.#operations.values()) {
      if (
        (op.nics.some((n) => n.nicKey === nicKey) || op.routeTable?.key === nicKey) &&
        op.status === 'InProgress' &&
        Date.now() - op.startedAt >= this.operationMaxMs
      ) {
        this.#complete(op);
      }
    }
  }

  #complete(op: Operation): void {
    const endedAt = performance.now();
    for (const w of op.writes) w.endedAt = endedAt;
    op.status = op.fail ? 'Failed' : 'Succeeded';
    if (op.routeTable) {
      const table = this.#routeTables.get(op.routeTable.key);
      if (table && op.fail) Object.assign(table, clone(op.routeTable.previous), { etag: this.#etag() });
      if (table) table.properties.provisioningState = op.fail ? 'Failed' : 'Succeeded';
    }
    // Addresses NICs outside the operation hold now: a failed operation does not take them back.
    const mine = new Set(op.nics.map((n) => n.nicKey));
    const held = new Set<string>();
    for (const [k, nic] of this.#nics) {
      if (mine.has(k)) continue;
      for (const c of nic.properties.ipConfigurations) held.add(c.properties.privateIPAddress ?? '');
    }
    for (const { nicKey, previous } of op.nics) {
      const nic = this.#nics.get(nicKey);
      if (!nic) continue;
      if (op.fail) {
        // Back to what it was, except addresses another NIC took meanwhile: an IP is never on two NICs.
        const restored = clone(previous);
        restored.properties.ipConfigurations = restored.properties.ipConfigurations.filter(
          (c) => c.properties.primary || !held.has(c.properties.privateIPAddress ?? ''),
        );
        Object.assign(nic, restored, { etag: this.#etag() });
        this.#finish(nic);
        nic.properties.provisioningState = 'Failed';
        this.#event('operation-failed', nic);
        continue;
      }
      nic.properties.provisioningState = 'Succeeded';
      this.#event('operation-succeeded', nic);
    }
  }

  #heldIPs(except?: WireNic): Map<string, string> {
    const held = new Map<string, string>();
    for (const nic of this.#nics.values()) {
      if (nic === except) continue;
      for (const c of nic.properties.ipConfigurations) {
        if (c.properties.privateIPAddress)
          held.set(canonicalIp(c.properties.privateIPAddress), `${nic.id}/ipConfigurations/${c.name}`);
      }
    }
    return held;
  }

  /** Checks a PUT body against ARM's rules and returns the NIC to store. */
  #validate(current: WireNic, body: unknown): WireNic {
    const next = checkNicPut(current, body, {
      subnet: (id) => this.#subnets.get(key(id)),
      heldIPs: (except) => this.#heldIPs(except),
      publicIpVersion: (id) => this.#publicIps.get(key(id))?.version,
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
