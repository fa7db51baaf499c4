/**
 * @module
 * The GCP emulator's world: subnetworks with primary and secondary ranges, instances with network
 * interfaces and alias IP ranges, and zonal operations. Tests seed and inspect it directly; the HTTP
 * server in `server.ts` exposes it as the Compute Engine v1 REST API.
 *
 * Resource shapes follow https://cloud.google.com/compute/docs/reference/rest/v1 (`Instance`,
 * `NetworkInterface`, `AliasIpRange`, `Subnetwork`, `Operation`); only the fields the provider reads
 * are kept.
 */
import { randomBytes } from 'node:crypto';

/** `AliasIpRange`: a CIDR (or bare IP) from the subnetwork's primary range or the named secondary range. */
export interface AliasIpRange {
  ipCidrRange: string;
  subnetworkRangeName?: string;
}

/** `NetworkInterface` (the fields the emulator keeps). */
export interface EmulatedNic {
  name: string;
  network: string;
  /** Full URL of the subnetwork, as GCP returns it. */
  subnetwork: string;
  networkIP: string;
  fingerprint: string;
  aliasIpRanges: AliasIpRange[];
}

/**
 * `Instance.status` (REST reference, `Instance`; https://cloud.google.com/compute/docs/instances/instance-life-cycle):
 * STOPPING and SUSPENDING are the transitions to TERMINATED (stopped) and SUSPENDED.
 */
export type InstanceStatus =
  | 'PROVISIONING'
  | 'STAGING'
  | 'RUNNING'
  | 'STOPPING'
  | 'TERMINATED'
  | 'SUSPENDING'
  | 'SUSPENDED'
  | 'REPAIRING';

/**
 * Statuses in which an operation on the instance (a start, stop, suspend, repair) is in flight, so a write
 * answers 400 `resourceNotReady` naming the instance (errors.ts).
 */
export const TRANSITIONAL_STATUSES: ReadonlySet<InstanceStatus> = new Set([
  'PROVISIONING',
  'STAGING',
  'STOPPING',
  'SUSPENDING',
  'REPAIRING',
]);

/** `Instance` (the fields the emulator keeps). */
export interface EmulatedInstance {
  id: string;
  project: string;
  zone: string;
  name: string;
  /** Tests set it to stop, suspend or repair the instance; its NICs keep their alias ranges meanwhile. */
  status: InstanceStatus;
  networkInterfaces: EmulatedNic[];
}

/** `Subnetwork` (the fields the emulator keeps). Regional: instances in every zone of the region use it. */
export interface EmulatedSubnetwork {
  project: string;
  region: string;
  name: string;
  network: string;
  ipCidrRange: string;
  secondaryIpRanges: { rangeName: string; ipCidrRange: string }[];
}

/** A zonal `Operation`; `effect` runs when it becomes DONE. */
export interface EmulatedOperation {
  id: string;
  name: string;
  project: string;
  zone: string;
  operationType: string;
  targetLink: string;
  status: 'PENDING' | 'RUNNING' | 'DONE';
  /** Polls (get or wait) left before it turns DONE. */
  pollsLeft: number;
  insertTime: string;
  endTime?: string;
  /** The `requestId` of the request that began it, if it had one. */
  clientOperationId?: string;
  error?: { errors: { code: string; message: string }[] };
  effect?: () => void;
}

/** Base of resource URLs the emulator returns (the same as GCP's `selfLink`s). */
export const COMPUTE_BASE = 'https://www.googleapis.com/compute/v1';

/** Full URL of a subnetwork. */
export function subnetworkUrl(project: string, region: string, name: string): string {
  return `${COMPUTE_BASE}/projects/${project}/regions/${region}/subnetworks/${name}`;
}

/** Full URL of a VPC network. */
export function networkUrl(project: string, name: string): string {
  return `${COMPUTE_BASE}/projects/${project}/global/networks/${name}`;
}

/** A new opaque fingerprint (GCP's are base64 of 8 bytes). */
export function newFingerprint(): string {
  return randomBytes(8).toString('base64');
}

/** The region of a zone (`europe-west1-b` -> `europe-west1`). */
export function regionOf(zone: string): string {
  return zone.replace(/-[a-z]$/, '');
}

/** In-memory Compute Engine state. */
export class GcpState {
  readonly instances = new Map<string, EmulatedInstance>();
  readonly subnetworks = new Map<string, EmulatedSubnetwork>();
  readonly operations = new Map<string, EmulatedOperation>();
  #nextId = 1000;

  /** Adds a subnetwork; `network` defaults to `default` in the same project. */
  addSubnetwork(spec: {
    project: string;
    region: string;
    name: string;
    ipCidrRange: string;
    network?: string;
    secondaryIpRanges?: { rangeName: string; ipCidrRange: string }[];
  }): EmulatedSubnetwork {
    const subnet: EmulatedSubnetwork = {
      project: spec.project,
      region: spec.region,
      name: spec.name,
      network: spec.network ?? networkUrl(spec.project, 'default'),
      ipCidrRange: spec.ipCidrRange,
      secondaryIpRanges: spec.secondaryIpRanges ?? [],
    };
    this.subnetworks.set(`${spec.project}/${spec.region}/${spec.name}`, subnet);
    return subnet;
  }

  /** Adds an instance with one interface `nic0` in `subnetwork` (a subnetwork of the zone's region). */
  addInstance(spec: {
    project: string;
    zone: string;
    name: string;
    subnetwork: string;
    networkIP: string;
    aliasIpRanges?: AliasIpRange[];
    status?: InstanceStatus;
  }): EmulatedInstance {
    const subnet = this.subnetwork(spec.project, regionOf(spec.zone), spec.subnetwork);
    if (!subnet) throw new Error(`no subnetwork ${spec.subnetwork} in ${regionOf(spec.zone)}`);
    const instance: EmulatedInstance = {
      id: String(this.#nextId++),
      project: spec.project,
      zone: spec.zone,
      name: spec.name,
      status: spec.status ?? 'RUNNING',
      networkInterfaces: [
        {
          name: 'nic0',
          network: subnet.network,
          subnetwork: subnetworkUrl(subnet.project, subnet.region, subnet.name),
          networkIP: spec.networkIP,
          fingerprint: newFingerprint(),
          aliasIpRanges: spec.aliasIpRanges ?? [],
        },
      ],
    };
    this.instances.set(`${spec.project}/${spec.zone}/${spec.name}`, instance);
    return instance;
  }

  /** The instance, if it exists. */
  instance(project: string, zone: string, name: string): EmulatedInstance | undefined {
    return this.instances.get(`${project}/${zone}/${name}`);
  }

  /** The subnetwork, if it exists. */
  subnetwork(project: string, region: string, name: string): EmulatedSubnetwork | undefined {
    return this.subnetworks.get(`${project}/${region}/${name}`);
  }

  /** The subnetwork a NIC's `subnetwork` URL points to. */
  subnetworkOf(nic: EmulatedNic): EmulatedSubnetwork | undefined {
    const match = /projects\/([^/]+)\/regions\/([^/]+)\/subnetworks\/([^/]+)$/.exec(nic.subnetwork);
    return match ? this.subnetwork(match[1]!, match[2]!, match[3]!) : undefined;
  }

  /** Creates a zonal operation that turns DONE after `polls` polls and then runs `effect`. */
  addOperation(spec: {
    project: string;
    zone: string;
    operationType: string;
    targetLink: string;
    polls: number;
    clientOperationId?: string;
    effect?: () => void;
  }): EmulatedOperation {
    const id = String(this.#nextId++);
    const op: EmulatedOperation = {
      id,
      name: `operation-${Date.now()}-${randomBytes(6).toString('hex')}`,
      project: spec.project,
      zone: spec.zone,
      operationType: spec.operationType,
      targetLink: spec.targetLink,
      status: spec.polls > 0 ? 'RUNNING' : 'PENDING',
      pollsLeft: spec.polls,
      insertTime: new Date().toISOString(),
      ...(spec.clientOperationId ? { clientOperationId: spec.clientOperationId } : {}),
      ...(spec.effect ? { effect: spec.effect } : {}),
    };
    this.operations.set(`${spec.project}/${spec.zone}/${op.name}`, op);
    if (spec.polls <= 0) this.finish(op);
    return op;
  }

  /** One poll of an operation: counts down, and turns it DONE (running its effect) at zero. */
  poll(op: EmulatedOperation): void {
    if (op.status === 'DONE') return;
    op.pollsLeft--;
    op.status = 'RUNNING';
    if (op.pollsLeft <= 0) this.finish(op);
  }

  /** Turns an operation DONE now and runs its effect. */
  finish(op: EmulatedOperation): void {
    if (op.status === 'DONE') return;
    op.status = 'DONE';
    op.endTime = new Date().toISOString();
    op.effect?.();
  }

  /** Finishes every operation still running (test clean-up). */
  finishAll(): void {
    for (const op of this.operations.values()) this.finish(op);
  }
}
