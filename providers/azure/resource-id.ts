/**
 * @module
 * Azure resource IDs and node providerIDs, parsed (pure). ARM treats every segment name case-insensitively.
 *
 * | text                                                                                                   | means                 |
 * |--------------------------------------------------------------------------------------------------------|-----------------------|
 * | `azure:///subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.Compute/virtualMachines/<vm>`       | VM (or Flexible VMSS) |
 * | `azure:///subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.Compute/virtualMachineScaleSets/<ss>/virtualMachines/<id>` | uniform VMSS instance |
 * | `/subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.Network/networkInterfaces/<nic>`            | standalone NIC        |
 * | `/subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<sn>` | subnet                |
 * | `.../Microsoft.Compute/virtualMachineScaleSets/<ss>/virtualMachines/<id>/networkInterfaces/<nic>`     | uniform VMSS NIC      |
 * | `/subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.Network/routeTables/<table>`               | route table           |
 */
import { type NodeRef, ProviderError } from '../../src/provider/contract.ts';

/** The VM behind a node. */
export type AzureVmRef =
  | {
      readonly kind: 'vm';
      readonly subscriptionId: string;
      readonly resourceGroup: string;
      readonly name: string;
    }
  | {
      readonly kind: 'scaleSetInstance';
      readonly subscriptionId: string;
      readonly resourceGroup: string;
      readonly scaleSet: string;
      readonly instanceId: string;
    };

/** A standalone NIC. */
export interface NicRef {
  readonly id: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
}

/** A subnet. */
export interface SubnetRef {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly vnet: string;
  readonly name: string;
}

const PREFIX = '^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/';
const VM = new RegExp(`${PREFIX}Microsoft\\.Compute/virtualMachines/([^/]+)$`, 'i');
const SCALE_SET_VM = new RegExp(
  `${PREFIX}Microsoft\\.Compute/virtualMachineScaleSets/([^/]+)/virtualMachines/([^/]+)$`,
  'i',
);
const NIC = new RegExp(`${PREFIX}Microsoft\\.Network/networkInterfaces/([^/]+)$`, 'i');
const SCALE_SET_NIC = new RegExp(
  `${PREFIX}Microsoft\\.Compute/virtualMachineScaleSets/([^/]+)/virtualMachines/([^/]+)/networkInterfaces/([^/]+)$`,
  'i',
);
const ROUTE_TABLE = new RegExp(`${PREFIX}Microsoft\\.Network/routeTables/([^/]+)$`, 'i');
const SUBNET = new RegExp(`${PREFIX}Microsoft\\.Network/virtualNetworks/([^/]+)/subnets/([^/]+)$`, 'i');

/**
 * The VM a node's `spec.providerID` names.
 * @throws ProviderError `terminal` when it is not an Azure VM or scale-set instance providerID.
 */
export function parseProviderID(node: NodeRef): AzureVmRef {
  const path = /^azure:\/\/(\/subscriptions\/.*)$/i.exec(node.providerID)?.[1]?.replace(/\/+$/, '') ?? '';
  const vm = VM.exec(path);
  if (vm) return { kind: 'vm', subscriptionId: vm[1]!, resourceGroup: vm[2]!, name: vm[3]! };
  const ss = SCALE_SET_VM.exec(path);
  if (ss) {
    return {
      kind: 'scaleSetInstance',
      subscriptionId: ss[1]!,
      resourceGroup: ss[2]!,
      scaleSet: ss[3]!,
      instanceId: ss[4]!,
    };
  }
  throw new ProviderError(
    'terminal',
    `node ${node.name}: providerID "${node.providerID}" is not azure:///subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Compute/virtualMachines/<name> (or .../virtualMachineScaleSets/<ss>/virtualMachines/<id>)`,
    { code: 'InvalidProviderID' },
  );
}

/** A standalone NIC's ID parsed, or undefined for anything else (e.g. a uniform scale set's NIC). */
export function parseNicId(id: string): NicRef | undefined {
  const m = NIC.exec(id);
  return m ? { id, subscriptionId: m[1]!, resourceGroup: m[2]!, name: m[3]! } : undefined;
}

/** A uniform scale-set instance's NIC (read-only through the Network RP; its model belongs to the scale set). */
export interface ScaleSetNicRef {
  readonly id: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly scaleSet: string;
  readonly instanceId: string;
  readonly name: string;
}

/** A scale-set instance's NIC ID parsed, or undefined. */
export function parseScaleSetNicId(id: string): ScaleSetNicRef | undefined {
  const m = SCALE_SET_NIC.exec(id);
  return m
    ? { id, subscriptionId: m[1]!, resourceGroup: m[2]!, scaleSet: m[3]!, instanceId: m[4]!, name: m[5]! }
    : undefined;
}

/** A route table. */
export interface RouteTableRef {
  readonly id: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
}

/** A route table's ID parsed, or undefined. */
export function parseRouteTableId(id: string): RouteTableRef | undefined {
  const m = ROUTE_TABLE.exec(id.trim());
  return m ? { id: id.trim(), subscriptionId: m[1]!, resourceGroup: m[2]!, name: m[3]! } : undefined;
}

/** A subnet's ID parsed, or undefined. */
export function parseSubnetId(id: string): SubnetRef | undefined {
  const m = SUBNET.exec(id);
  return m ? { subscriptionId: m[1]!, resourceGroup: m[2]!, vnet: m[3]!, name: m[4]! } : undefined;
}

/** True when two resource IDs name the same resource. */
export function sameResource(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
}
