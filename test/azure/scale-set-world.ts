/**
 * @module
 * An AKS-shaped Azure world on the local emulator: gateway nodes that are instances of uniform scale sets (AKS's
 * default node pools), whose egress IPs are /32 routes in the route table of their subnet (docs/adr/0005),
 * driven through the real SDK clients over HTTPS. Nodes `a` and `b` are instances of one pool in VNet
 * 10.2.0.0/16 (nodes' subnet 10.2.0.0/24, route table `rt-aks`); `c` is in VNet 10.3.0.0/16 with its own table.
 * Egress IPs come from the VNets' address space outside the nodes' subnet (10.2.8.0/22, 10.3.8.0/22).
 * The world's `writes()` are the route table PUTs, one entry per node whose routes a PUT changed.
 */
import { Agent } from 'node:https';
import { AuthorizationManagementClient } from '@azure/arm-authorization';
import { ComputeManagementClient } from '@azure/arm-compute';
import { NetworkManagementClient } from '@azure/arm-network';
import { type AzureProviderOptions, createAzureProviderFromClients } from '../../providers/azure/index.ts';
import { addressesIn, cidrRange } from '../../src/net/ip.ts';
import type { CloudProvider, NodeRef, ProviderSettings } from '../../src/provider/contract.ts';
import type { ConformanceWorld, WorldNode } from '../conformance/cloud-provider.case.ts';
import { type AzureEmulator, startAzureEmulator } from '../emulators/azure/index.ts';
import { emulatorCredential, FAST } from './world.ts';

/** A scale-set node of the world. */
export interface ScaleSetWorldNode extends WorldNode {
  readonly nicId: string;
  readonly nodeIP: string;
  readonly routeTableId: string;
  readonly subnetId: string;
}

/** The scale-set world. */
export interface ScaleSetWorld extends ConformanceWorld {
  readonly emulator: AzureEmulator;
  readonly nodes: {
    readonly a: ScaleSetWorldNode;
    readonly b: ScaleSetWorldNode;
    readonly c: ScaleSetWorldNode;
  };
  /** A route table of a peered VNet, associated with nothing here (to be named in settings.routeTables). */
  readonly peeredTableId: string;
  /** Another provider over the same emulator. */
  newProvider(options?: AzureProviderOptions, settings?: Partial<ProviderSettings>): CloudProvider;
}

const RG = 'mc-aks-nodes';
const LOCATION = 'westeurope';

/** Starts the emulator, seeds the AKS-shaped world and builds the provider. */
export async function startScaleSetWorld(options: AzureProviderOptions = FAST): Promise<ScaleSetWorld> {
  const emulator = await startAzureEmulator();
  const { cloud } = emulator;
  const sub = cloud.subscriptionId;
  const vnet = (name: string, space: string, subnet: string, table: string) => {
    cloud.addVnet({ resourceGroup: RG, name, location: LOCATION, addressPrefixes: [space] });
    const subnetId = cloud.addSubnet({ resourceGroup: RG, vnet: name, name: 'aks-subnet', prefix: subnet });
    const routeTableId = cloud.addRouteTable({ resourceGroup: RG, name: table, location: LOCATION });
    cloud.associateRouteTable(subnetId, routeTableId);
    return { subnetId, routeTableId };
  };
  const r = vnet('aks-vnet', '10.2.0.0/16', '10.2.0.0/24', 'rt-aks');
  const other = vnet('other-vnet', '10.3.0.0/16', '10.3.0.0/24', 'rt-other');
  const peeredTableId = cloud.addRouteTable({ resourceGroup: RG, name: 'rt-peered', location: LOCATION });
  const add = (
    pool: string,
    instance: string,
    net: { subnetId: string; routeTableId: string },
    space: string,
    nodeIP: string,
    zone: string,
  ): ScaleSetWorldNode => {
    const vmId = cloud.addScaleSetInstance({
      resourceGroup: RG,
      scaleSet: pool,
      instanceId: instance,
      location: LOCATION,
      zone,
      subnetId: net.subnetId,
      primaryIP: nodeIP,
      ipForwarding: true,
    });
    return {
      ref: { name: `${pool}-vmss00000${instance}`, providerID: `azure://${vmId}` },
      subnet: space,
      nicId: `${vmId}/networkInterfaces/${pool}-nic`,
      nodeIP,
      ...net,
    };
  };
  const nodes = {
    a: add('aks-nodepool1', '0', r, '10.2.0.0/16', '10.2.0.4', '1'),
    b: add('aks-nodepool1', '1', r, '10.2.0.0/16', '10.2.0.5', '2'),
    c: add('aks-otherpool', '0', other, '10.3.0.0/16', '10.3.0.4', '3'),
  };
  const all = [nodes.a, nodes.b, nodes.c];

  const agent = new Agent({ ca: emulator.ca, keepAlive: true });
  const clientOptions = { endpoint: emulator.url, agent, retryOptions: { maxRetries: 0 } };
  const newProvider = (opts: AzureProviderOptions = options, settings: Partial<ProviderSettings> = {}) =>
    createAzureProviderFromClients(
      { owner: 'conformance', ...settings },
      (subscriptionId) => ({
        network: new NetworkManagementClient(emulatorCredential, subscriptionId, clientOptions),
        compute: new ComputeManagementClient(emulatorCredential, subscriptionId, clientOptions),
        authorization: new AuthorizationManagementClient(emulatorCredential, subscriptionId, clientOptions),
      }),
      opts,
    );
  const node = (n: WorldNode) => n as ScaleSetWorldNode;
  const routedTo = (n: ScaleSetWorldNode) =>
    cloud
      .routes(n.routeTableId)
      .filter((route) => route.nextHop === n.nodeIP)
      .map((route) => route.prefix.split('/')[0]!)
      .sort();
  return {
    emulator,
    provider: newProvider(),
    newProvider,
    nodes,
    peeredTableId,
    missing: {
      name: 'aks-nodepool1-vmss000009',
      providerID: `azure:///subscriptions/${sub}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1/virtualMachines/9`,
    },
    outsideIP: '192.0.2.50',
    freeIPs: async (space, count) => {
      const n = all.find((x) => x.subnet === space)!;
      const range = cidrRange(space === '10.2.0.0/16' ? '10.2.8.0/22' : '10.3.8.0/22');
      const routed = new Set(cloud.routes(n.routeTableId).map((route) => route.prefix.split('/')[0]!));
      return [...addressesIn(range, (ip) => routed.has(ip), count)];
    },
    cloudIPs: async (n) => routedTo(node(n)),
    primaryIP: async (n) => node(n).nodeIP,
    addForeignIP: async (n, ip) =>
      cloud.addRoute(
        node(n).routeTableId,
        `other-tool-${ip.replace(/\./g, '-')}`,
        `${ip}/32`,
        node(n).nodeIP,
      ),
    writes: async () =>
      cloud.routeWrites.flatMap((w) =>
        w.nextHops.flatMap((hop) => {
          const holder = all.find((n) => n.nodeIP === hop);
          return holder
            ? [
                {
                  interfaceId: holder.nicId,
                  startedAt: w.startedAt,
                  endedAt: w.endedAt ?? Number.POSITIVE_INFINITY,
                },
              ]
            : [];
        }),
      ),
    reset: async () => cloud.reset(),
    close: async () => {
      agent.destroy();
      await emulator.close();
    },
  };
}

/** The nodes a bench or test adds to the world's pool: instance `instance` of `aks-nodepool1`. */
export function addPoolNode(world: ScaleSetWorld, instance: string, nodeIP: string): NodeRef {
  const vmId = world.emulator.cloud.addScaleSetInstance({
    resourceGroup: RG,
    scaleSet: 'aks-nodepool1',
    instanceId: instance,
    location: LOCATION,
    zone: '3',
    subnetId: world.nodes.a.subnetId,
    primaryIP: nodeIP,
    ipForwarding: true,
  });
  return { name: `aks-nodepool1-vmss00000${instance}`, providerID: `azure://${vmId}` };
}
