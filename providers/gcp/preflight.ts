/**
 * @module
 * The GCP provider's preflight (contract.ts `preflight`): whether the controller holds, on every gateway
 * instance and subnetwork, the permissions a failover needs, answered by GCP's own `testIamPermissions`
 * (permissions.ts). Read-only: no write is made, nothing is changed.
 *
 * ```
 * per node (in parallel)    instances.testIamPermissions(INSTANCE_PERMISSIONS) ─► one check per permission
 *                           holds compute.instances.get? instances.get ─► the NIC's subnetwork
 * per subnetwork (once)     subnetworks.testIamPermissions(SUBNETWORK_PERMISSIONS) ─► one check per permission,
 *                           naming the subnetwork and its nodes
 * a call that fails         one failed check saying what could not be tested and why
 * ```
 *
 * `compute.zoneOperations.get` (waiting on operations) is granted on the project and has no `testIamPermissions`
 * of its own; it is not checked here (without it the first write fails at its wait with a 403 naming it).
 */
import type { PreflightCheck } from '../../src/provider/contract.ts';
import type { Resolved } from '../../src/provider/interface-driver.ts';
import type { NicIo, NicTarget } from './nic-io.ts';
import { INSTANCE_PERMISSIONS, SUBNETWORK_PERMISSIONS, WITHOUT } from './permissions.ts';

const ROLE_HINT = 'the custom role cloudEgressController in docs/gcp.md §2 has it';
const instancePath = (t: NicTarget) => `projects/${t.project}/zones/${t.zone}/instances/${t.instance}`;
/** `projects/P/regions/R/subnetworks/S` of a subnetwork URL. */
const subnetworkPath = (url: string) => url.replace(/^.*?\/(projects\/)/, '$1');

/** One check per permission asked on `resource`, from the permissions GCP says are held there. */
function permissionChecks(
  asked: readonly string[],
  granted: readonly string[],
  where: string,
  node?: string,
): PreflightCheck[] {
  return asked.map((permission) => {
    const ok = granted.includes(permission);
    const check = { check: `permission ${permission}`, ...(node ? { node } : {}) };
    return ok
      ? { ...check, ok, message: `granted on ${where}` }
      : {
          ...check,
          ok,
          message: `not granted on ${where}: ${WITHOUT[permission] ?? 'the provider needs it'}`,
          fix: `grant ${permission} on ${where} to the controller's identity (${ROLE_HINT})`,
        };
  });
}

/** A check that could not be made, and why. */
function notChecked(check: string, err: unknown, node?: string): PreflightCheck {
  return {
    check,
    ...(node ? { node } : {}),
    ok: false,
    message: `could not be checked: ${err instanceof Error ? err.message : String(err)}`,
  };
}

/** The preflight checks of `nodes`; see the module diagram. */
export async function gcpPreflight(
  io: NicIo,
  nodes: readonly Resolved<NicTarget>[],
  signal?: AbortSignal,
): Promise<PreflightCheck[]> {
  const subnetworks = new Map<string, string[]>();
  const perNode = await Promise.all(
    nodes.map(async ({ node, target }): Promise<PreflightCheck[]> => {
      const where = `instance ${instancePath(target)}`;
      let granted: string[];
      try {
        granted = await io.instancePermissions(target, INSTANCE_PERMISSIONS, signal);
      } catch (err) {
        return [notChecked(`permissions on ${where}`, err, node.name)];
      }
      const checks = permissionChecks(INSTANCE_PERMISSIONS, granted, where, node.name);
      if (!granted.includes('compute.instances.get')) return checks;
      try {
        const { nic } = await io.readNic(target, signal);
        subnetworks.set(nic.subnetwork, [...(subnetworks.get(nic.subnetwork) ?? []), node.name]);
      } catch (err) {
        checks.push(notChecked('permissions on its subnetwork', err, node.name));
      }
      return checks;
    }),
  );
  const perSubnetwork = await Promise.all(
    [...subnetworks].map(async ([url, names]): Promise<PreflightCheck[]> => {
      const where = `subnetwork ${subnetworkPath(url)} (nodes ${names.sort().join(', ')})`;
      try {
        const granted = await io.subnetworkPermissions(url, SUBNETWORK_PERMISSIONS, signal);
        return permissionChecks(SUBNETWORK_PERMISSIONS, granted, where);
      } catch (err) {
        return [notChecked(`permissions on ${where}`, err)];
      }
    }),
  );
  return [...perNode.flat(), ...perSubnetwork.flat()];
}
