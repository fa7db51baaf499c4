/**
 * @module
 * The Azure RBAC actions behind every call the provider makes (one table: the docs' role definition is tested
 * against it), and the preflight that asks Azure which of them the controller's identity holds on the very
 * resources a failover writes: the permissions listing of Microsoft.Authorization (`GET {resource}/providers/
 * Microsoft.Authorization/permissions`, api-version 2022-04-01), which answers the caller's `actions` and
 * `notActions` per role that applies there.
 *
 * An action is held when some entry's `actions` match it (`*` is a wildcard, case-insensitive) and that same
 * entry's `notActions` do not (Azure RBAC: NotActions subtract from the Actions of the same role).
 */
import type { PreflightCheck } from '../../src/provider/contract.ts';

/**
 * The actions each call of the SDK seam (api.ts `AzureApi`) needs. `moveIpConfigurations` is a POST action, named
 * by ARM's rule for them (`<resource type>/<action>/action`); polling needs `locations/operations/read`.
 */
export const ACTIONS_BY_CALL = {
  getVm: [
    'Microsoft.Compute/virtualMachines/read',
    'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/read',
  ],
  getNic: ['Microsoft.Network/networkInterfaces/read'],
  putNic: [
    'Microsoft.Network/networkInterfaces/write',
    'Microsoft.Network/virtualNetworks/subnets/join/action',
    'Microsoft.Network/locations/operations/read',
  ],
  getSubnetPrefixes: ['Microsoft.Network/virtualNetworks/subnets/read'],
  getSubnet: ['Microsoft.Network/virtualNetworks/subnets/read'],
  getVnet: ['Microsoft.Network/virtualNetworks/read'],
  moveIpConfigurations: [
    'Microsoft.Network/virtualNetworks/moveIpConfigurations/action',
    'Microsoft.Network/locations/operations/read',
  ],
  getScaleSetNic: ['Microsoft.Compute/virtualMachineScaleSets/virtualMachines/networkInterfaces/read'],
  getRouteTable: ['Microsoft.Network/routeTables/read'],
  putRouteTable: ['Microsoft.Network/routeTables/write', 'Microsoft.Network/locations/operations/read'],
  listPermissions: ['Microsoft.Authorization/permissions/read'],
} as const satisfies Record<string, readonly string[]>;

/** Every action the provider's calls need, sorted. */
export const ALL_ACTIONS: readonly string[] = [...new Set(Object.values(ACTIONS_BY_CALL).flat())].sort();

/** One entry of the permissions listing. */
export interface PermissionEntry {
  readonly actions?: readonly string[];
  readonly notActions?: readonly string[];
}

const matches = (pattern: string, action: string) =>
  new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i').test(action);

/** True when the listing grants `action` (see the module comment). */
export function holds(entries: readonly PermissionEntry[], action: string): boolean {
  return entries.some(
    (e) =>
      (e.actions ?? []).some((p) => matches(p, action)) &&
      !(e.notActions ?? []).some((p) => matches(p, action)),
  );
}

/** The resources a failover writes and reads, with the actions wanted on each. */
export interface PermissionScope {
  /** Resource ID. */
  readonly resource: string;
  /** What it is, in words ("NIC gw-1-nic", "route table rt-aks"). */
  readonly what: string;
  readonly actions: readonly string[];
  /** The node it concerns, if one. */
  readonly node?: string;
}

/** Checks, one per scope and action: held or not, with the fix. */
export function permissionChecks(
  scope: PermissionScope,
  entries: readonly PermissionEntry[],
): PreflightCheck[] {
  return scope.actions.map((action) => {
    const ok = holds(entries, action);
    return {
      check: `permission ${action}`,
      ...(scope.node ? { node: scope.node } : {}),
      ok,
      message: ok
        ? `held on ${scope.what}`
        : `the controller's identity lacks ${action} on ${scope.what} (${scope.resource})`,
      ...(ok
        ? {}
        : {
            fix: `add ${action} to the controller's role (docs/quickstart-aks.md, "Role") and assign it at a scope that contains ${scope.resource}`,
          }),
    };
  });
}
