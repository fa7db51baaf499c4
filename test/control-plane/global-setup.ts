/**
 * @module
 * Vitest global set-up of the `integration` project: builds kube-apiserver, kubectl, etcd and helm on the
 * first run on a machine (minutes), so that no single test's timeout has to cover the build. Later runs find
 * them in the tool cache at once.
 */
import { ensureControlPlaneBinaries } from './binaries.ts';

/** Called once by vitest before the integration tests. */
export default async function setup(): Promise<void> {
  await ensureControlPlaneBinaries();
}
