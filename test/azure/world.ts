/**
 * @module
 * An Azure world on the local emulator, driven through the real SDK clients over HTTPS: three VMs (`a`, `b`
 * in one subnet, `c` in a larger one), an application security group on every primary ipConfiguration, a
 * public IP, and the Azure provider with its SDK clients pointed at the emulator (`endpoint`), trusting the
 * emulator's self-signed certificate through an `https.Agent`, with a fixed bearer token. The world's
 * `writes()` are the NIC PUTs the emulator accepted (each until its operation ended) or refused for concurrency.
 */
import { Agent } from 'node:https';
import { AuthorizationManagementClient } from '@azure/arm-authorization';
import { ComputeManagementClient } from '@azure/arm-compute';
import { NetworkManagementClient } from '@azure/arm-network';
import { type AzureProviderOptions, createAzureProviderFromClients } from '../../providers/azure/index.ts';
import type { CloudProvider, NodeRef } from '../../src/provider/contract.ts';
import type { ConformanceWorld, WorldNode } from '../conformance/cloud-provider.case.ts';
import { type AzureEmulator, startAzureEmulator } from '../emulators/azure/index.ts';

/** A node of the Azure world, with its cloud resource IDs. */
export interface AzureWorldNode extends WorldNode {
  readonly nicId: string;
  readonly subnetId: string;
}

/** The Azure world: the conformance world plus the emulator and resource IDs. */
export interface AzureWorld extends ConformanceWorld {
  readonly emulator: AzureEmulator;
  readonly nodes: { readonly a: AzureWorldNode; readonly b: AzureWorldNode; readonly c: AzureWorldNode };
  /** A public IP resource ID nothing uses. */
  readonly publicIpId: string;
  /** A uniform scale-set instance (its NIC lives in the scale set's model). */
  readonly scaleSetNode: NodeRef;
  /** Another provider over the same emulator (e.g. with other settings). */
  newProvider(options?: AzureProviderOptions, owner?: string): CloudProvider;
}

const RG = 'rg-egress';
const LOCATION = 'westeurope';

/** A token credential for the emulator (it only checks that a bearer token is sent). */
export const emulatorCredential = {
  getToken: async () => ({ token: 'emulator-token', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

/**
 * An `@azure/arm-network` client of the emulator's subscription, through an `https.Agent` that trusts the
 * emulator's certificate (destroy the agent when done), with the SDK's retries off.
 */
export function emulatorNetworkClient(emulator: AzureEmulator): {
  agent: Agent;
  network: NetworkManagementClient;
} {
  const agent = new Agent({ ca: emulator.ca, keepAlive: true });
  const network = new NetworkManagementClient(emulatorCredential, emulator.cloud.subscriptionId, {
    endpoint: emulator.url,
    agent,
    retryOptions: { maxRetries: 0 },
  });
  return { agent, network };
}

/** Fast retries and polling for tests. */
export const FAST: AzureProviderOptions = {
  pollIntervalMs: 5,
  operationTimeoutMs: 10_000,
  retry: { retries: 12, minTimeoutMs: 10, maxTimeoutMs: 100, maxRetryAfterMs: 1_500 },
};

/**
 * The egress IPs' family of a world. `6`: dual stack, egress IPs IPv6: the virtual network has an IPv6 address
 * space (fd00:db8:1::/48), each subnet an IPv6 /64 beside its IPv4 prefix (a and b fd00:db8:1:1::/64, c
 * fd00:db8:1:4::/64), the NICs keep their primary IPv4 ipConfiguration, the world's subnets, free IPs, outside IP
 * and public IP are IPv6.
 */
export type WorldFamily = 4 | 6;

/** Starts the emulator, seeds the world and builds the provider. */
export async function startAzureWorld(
  options: AzureProviderOptions = FAST,
  family: WorldFamily = 4,
): Promise<AzureWorld> {
  const emulator = await startAzureEmulator();
  const { cloud } = emulator;
  const sub = cloud.subscriptionId;
  const v6 = family === 6;
  cloud.addVnet({
    resourceGroup: RG,
    name: 'vnet-1',
    location: LOCATION,
    addressPrefixes: ['10.1.0.0/16', ...(v6 ? ['fd00:db8:1::/48'] : [])],
  });
  const subnetAB = cloud.addSubnet({
    resourceGroup: RG,
    vnet: 'vnet-1',
    name: 'gateways',
    prefix: '10.1.0.0/24',
    ...(v6 ? { ipv6Prefix: 'fd00:db8:1:1::/64' } : {}),
  });
  const subnetC = cloud.addSubnet({
    resourceGroup: RG,
    vnet: 'vnet-1',
    name: 'gateways-wide',
    prefix: '10.1.4.0/22',
    ...(v6 ? { ipv6Prefix: 'fd00:db8:1:4::/64' } : {}),
  });
  const asg = `/subscriptions/${sub}/resourceGroups/${RG}/providers/Microsoft.Network/applicationSecurityGroups/gateways`;
  const add = (
    name: string,
    subnetId: string,
    subnet: string,
    primaryIP: string,
    zone: string,
  ): AzureWorldNode => {
    const { nicId } = cloud.addVm({
      resourceGroup: RG,
      name,
      location: LOCATION,
      zone,
      subnetId,
      primaryIP,
      asgIds: [asg],
      tags: { team: 'network' },
      extraProperties: { enableIPForwarding: true },
    });
    const ref = {
      name,
      providerID: `azure:///subscriptions/${sub}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/${name}`,
    };
    return { ref, subnet, nicId, subnetId };
  };
  const nodes = {
    a: add('gw-a', subnetAB, v6 ? 'fd00:db8:1:1::/64' : '10.1.0.0/24', '10.1.0.4', '1'),
    b: add('gw-b', subnetAB, v6 ? 'fd00:db8:1:1::/64' : '10.1.0.0/24', '10.1.0.5', '2'),
    c: add('gw-c', subnetC, v6 ? 'fd00:db8:1:4::/64' : '10.1.4.0/22', '10.1.4.4', '3'),
  };
  const publicIpId = cloud.addPublicIp({
    resourceGroup: RG,
    name: 'egress-pip-1',
    ipAddress: v6 ? '2001:db8:ff::10' : '203.0.113.10',
  });
  cloud.addScaleSetInstance({ resourceGroup: RG, scaleSet: 'aks-pool', instanceId: '0', location: LOCATION });
  const scaleSetNode = {
    name: 'aks-pool-0',
    providerID: `azure:///subscriptions/${sub}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachineScaleSets/aks-pool/virtualMachines/0`,
  };

  const agent = new Agent({ ca: emulator.ca, keepAlive: true });
  const clientOptions = { endpoint: emulator.url, agent, retryOptions: { maxRetries: 0 } };
  const newProvider = (opts: AzureProviderOptions = options, owner = 'conformance') =>
    createAzureProviderFromClients(
      { owner },
      (subscriptionId) => ({
        network: new NetworkManagementClient(emulatorCredential, subscriptionId, clientOptions),
        compute: new ComputeManagementClient(emulatorCredential, subscriptionId, clientOptions),
        authorization: new AuthorizationManagementClient(emulatorCredential, subscriptionId, clientOptions),
      }),
      opts,
    );

  const nicOf = (node: WorldNode) => (node as AzureWorldNode).nicId;
  return {
    emulator,
    provider: newProvider(),
    newProvider,
    nodes,
    publicIpId,
    scaleSetNode,
    missing: {
      name: 'gw-gone',
      providerID: `azure:///subscriptions/${sub}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/gw-gone`,
    },
    outsideIP: v6 ? '2001:db8:ffff::50' : '192.0.2.50',
    freeIPs: async (subnet, count) =>
      cloud.freeIPs(subnet === nodes.c.subnet ? nodes.c.subnetId : nodes.a.subnetId, count, family),
    // Only ipConfigurations whose privateIPAddressVersion is the world's family count.
    cloudIPs: async (node) => cloud.secondaryIPs(nicOf(node), v6 ? 'IPv6' : 'IPv4'),
    primaryIP: async (node) => cloud.primaryIP(nicOf(node)),
    addForeignIP: async (node, ip) =>
      cloud.addIpConfiguration(nicOf(node), `other-tool-${ip.replace(/[.:]/g, '-')}`, ip),
    // A write whose operation still runs has not ended: it overlaps every later one.
    writes: async () =>
      cloud.writes.map((w) => ({
        interfaceId: w.interfaceId,
        startedAt: w.startedAt,
        endedAt: w.endedAt ?? Number.POSITIVE_INFINITY,
      })),
    reset: async () => cloud.reset(),
    close: async () => {
      agent.destroy();
      await emulator.close();
    },
  };
}
