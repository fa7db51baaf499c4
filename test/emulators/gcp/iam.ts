/**
 * @module
 * Who may call what on the emulator: every permission is granted unless a test denies it, on one resource
 * (`projects/P/zones/Z/instances/I`, `projects/P/regions/R/subnetworks/S`) or everywhere. Calls are checked as
 * GCP checks them (each method's "IAM Permissions" in the REST reference), and `testIamPermissions` answers
 * from the same grants.
 *
 * A denied call answers 403 `forbidden` with `Required '<permission>' permission for '<resource>'`, the text
 * GCP answers (captured: `googleapi: Error 403: Required 'compute.zones.list' permission for 'projects/XXX',
 * forbidden`, terraform-google-modules/terraform-google-vault#206; `Required 'compute.networks.get' permission
 * for 'projects/…/global/networks/default'`, alexandarp/terraform-gke#2).
 */
import { GcpApiError } from './errors.ts';

/** Everywhere: a denial on this resource applies to every resource. */
const EVERYWHERE = '*';

/** The emulator's grants (see the module comment). */
export class GcpIam {
  readonly #denied = new Map<string, Set<string>>();

  /** Denies `permission` on `resource` (a path such as `projects/p/zones/z/instances/i`), or everywhere. */
  deny(permission: string, resource: string = EVERYWHERE): void {
    const on = this.#denied.get(permission) ?? new Set<string>();
    on.add(resource);
    this.#denied.set(permission, on);
  }

  /** Grants everything again. */
  allowAll(): void {
    this.#denied.clear();
  }

  /** Whether the caller holds `permission` on `resource`. */
  allows(permission: string, resource: string): boolean {
    const on = this.#denied.get(permission);
    return !on || !(on.has(EVERYWHERE) || on.has(resource));
  }

  /** @throws GcpApiError 403 `forbidden` when the caller lacks `permission` on `resource`. */
  check(permission: string, resource: string): void {
    if (!this.allows(permission, resource)) {
      throw new GcpApiError(403, 'forbidden', `Required '${permission}' permission for '${resource}'`);
    }
  }
}
