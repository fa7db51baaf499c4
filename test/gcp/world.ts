/**
 * @module
 * A GCP test world on the local Compute Engine emulator: one project, a region with two subnetworks,
 * three instances, and the GCP provider driven through the real `@google-cloud/compute` clients.
 *
 * ```
 * subnetwork nodes-a (europe-west1)  primary 10.0.1.0/24  secondary cloud-egress-conformance 10.1.1.0/24, pods 10.100.0.0/16
 *   node-a  europe-west1-b  10.0.1.10  + GKE-style pod range 10.100.1.0/24 (not owned)
 *   node-b  europe-west1-c  10.0.1.11  + pod range 10.100.2.0/24            (another zone, same regional subnet)
 * subnetwork nodes-c (europe-west1)  primary 10.0.2.0/24  secondary cloud-egress-conformance 10.1.2.0/24
 *   node-c  europe-west1-b  10.0.2.10
 * ```
 */
import {
  createComputeApi,
  createGcpProviderFor,
  type GcpProvider,
  type GcpProviderOptions,
} from '../../providers/gcp/index.ts';
import { addressesIn, cidrContains, cidrRange, rangesOverlap } from '../../src/net/ip.ts';
import type { NodeRef, ProviderSettings } from '../../src/provider/contract.ts';
import type { ConformanceWorld, WorldNode } from '../conformance/cloud-provider.case.ts';
import {
  type EmulatedInstance,
  type EmulatedNic,
  type GcpEmulator,
  type GcpEmulatorOptions,
  newFingerprint,
  startGcpEmulator,
} from '../emulators/gcp/index.ts';

/** The project of the world. */
export const PROJECT = 'egress-test';
/** The owner the world's provider runs as (its egress range is `cloud-egress-conformance`). */
export const OWNER = 'conformance';
const REGION = 'europe-west1';
const EGRESS_RANGE = 'cloud-egress-conformance';

/** Retry and polling settings that keep tests fast. */
export const FAST: GcpProviderOptions = { minRetryDelayMs: 5, maxRetryDelayMs: 20, pollIntervalMs: 1 };

/** A GCP world: the conformance world plus the emulator and helpers for GCP-specific tests. */
export interface GcpWorld extends ConformanceWorld {
  readonly provider: GcpProvider;
  readonly emulator: GcpEmulator;
  /** The emulator's instance of a node (tests set its `status`). */
  instance(node: WorldNode): EmulatedInstance;
  /** The emulator's NIC of a node. */
  nic(node: WorldNode): EmulatedNic;
  /** A new provider on the same emulator (own settings/options), closed with the world. */
  newProvider(settings?: Partial<ProviderSettings>, options?: GcpProviderOptions): GcpProvider;
}

const single = (range: string) =>
  range.endsWith('/32') ? range.slice(0, -3) : range.includes('/') ? undefined : range;

/** Starts the emulator and seeds the world. */
export async function startGcpWorld(
  emulatorOptions: GcpEmulatorOptions = {},
  providerOptions: GcpProviderOptions = FAST,
): Promise<GcpWorld> {
  const emulator = await startGcpEmulator(emulatorOptions);
  const { state } = emulator;
  state.addSubnetwork({
    project: PROJECT,
    region: REGION,
    name: 'nodes-a',
    ipCidrRange: '10.0.1.0/24',
    secondaryIpRanges: [
      { rangeName: EGRESS_RANGE, ipCidrRange: '10.1.1.0/24' },
      { rangeName: 'pods', ipCidrRange: '10.100.0.0/16' },
    ],
  });
  state.addSubnetwork({
    project: PROJECT,
    region: REGION,
    name: 'nodes-c',
    ipCidrRange: '10.0.2.0/24',
    secondaryIpRanges: [{ rangeName: EGRESS_RANGE, ipCidrRange: '10.1.2.0/24' }],
  });
  const add = (
    name: string,
    zone: string,
    subnetwork: string,
    networkIP: string,
    egress: string,
    pods?: string,
  ) => {
    state.addInstance({
      project: PROJECT,
      zone,
      name,
      subnetwork,
      networkIP,
      ...(pods ? { aliasIpRanges: [{ ipCidrRange: pods, subnetworkRangeName: 'pods' }] } : {}),
    });
    const ref: NodeRef = { name, providerID: `gce://${PROJECT}/${zone}/${name}` };
    return { ref, subnet: egress };
  };
  const nodes = {
    a: add('node-a', `${REGION}-b`, 'nodes-a', '10.0.1.10', '10.1.1.0/24', '10.100.1.0/24'),
    b: add('node-b', `${REGION}-c`, 'nodes-a', '10.0.1.11', '10.1.1.0/24', '10.100.2.0/24'),
    c: add('node-c', `${REGION}-b`, 'nodes-c', '10.0.2.10', '10.1.2.0/24'),
  };
  const instance = (node: WorldNode): EmulatedInstance => {
    const [, project, zone, name] = /^gce:\/\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(node.ref.providerID) ?? [];
    const inst = state.instance(project ?? '', zone ?? '', name ?? '');
    if (!inst) throw new Error(`no instance for ${node.ref.name}`);
    return inst;
  };
  const nic = (node: WorldNode): EmulatedNic => instance(node).networkInterfaces[0]!;
  const held = (ip: string) =>
    [...state.instances.values()].some((inst) =>
      inst.networkInterfaces.some(
        (n) =>
          n.networkIP === ip ||
          n.aliasIpRanges.some((a) =>
            rangesOverlap(
              cidrRange(a.ipCidrRange.includes('/') ? a.ipCidrRange : `${a.ipCidrRange}/32`),
              cidrRange(`${ip}/32`),
            ),
          ),
      ),
    );
  const free = (cidr: string, count: number) => {
    const range = cidrRange(cidr);
    return [...addressesIn({ ...range, start: range.start + 2n, end: range.end - 2n }, held, count)];
  };
  const providers: GcpProvider[] = [];
  const newProvider = (
    settings: Partial<ProviderSettings> = {},
    options: GcpProviderOptions = providerOptions,
  ) => {
    const provider = createGcpProviderFor(
      createComputeApi({ endpoint: emulator.url }),
      { owner: OWNER, ...settings },
      options,
    );
    providers.push(provider);
    return provider;
  };

  return {
    provider: newProvider(),
    emulator,
    instance,
    nic,
    newProvider,
    nodes,
    missing: { name: 'node-gone', providerID: `gce://${PROJECT}/${REGION}-b/node-gone` },
    outsideIP: '192.0.2.50',
    freeIPs: async (subnet, count) => free(subnet, count),
    foreignIP: async (node) => {
      const subnet = state.subnetworkOf(nic(node))!;
      return free(subnet.ipCidrRange, 1)[0]!;
    },
    // Single-address aliases only: wider ranges (the pod ranges) are not IPs a node holds for egress.
    cloudIPs: async (node) =>
      nic(node)
        .aliasIpRanges.map((a) => single(a.ipCidrRange))
        .filter((ip): ip is string => ip !== undefined)
        .sort(),
    primaryIP: async (node) => nic(node).networkIP,
    // The emulator's log of accepted updateNetworkInterface calls, each until its operation was DONE.
    writes: async () => emulator.writes.map((w) => ({ ...w })),
    addForeignIP: async (node, ip) => {
      const target = nic(node);
      const subnet = state.subnetworkOf(target)!;
      const secondary = subnet.secondaryIpRanges.find((r) => cidrContains(r.ipCidrRange, ip));
      target.aliasIpRanges.push(
        secondary
          ? { ipCidrRange: `${ip}/32`, subnetworkRangeName: secondary.rangeName }
          : { ipCidrRange: `${ip}/32` },
      );
      target.fingerprint = newFingerprint();
    },
    reset: async () => {
      state.finishAll();
      emulator.clearFaults();
      emulator.operationPolls = emulatorOptions.operationPolls ?? 2;
      emulator.inUseQuote = emulatorOptions.inUseQuote ?? 'cidr';
      emulator.latency = emulatorOptions.latency;
      emulator.iam.allowAll();
      for (const inst of state.instances.values()) {
        inst.status = 'RUNNING';
        for (const n of inst.networkInterfaces) {
          n.aliasIpRanges = n.aliasIpRanges.filter((a) => single(a.ipCidrRange) === undefined);
          n.fingerprint = newFingerprint();
        }
      }
    },
    close: async () => {
      await Promise.all(providers.map((p) => p.close()));
      await emulator.close();
    },
  };
}
