/**
 * @module
 * Vitest global set-up of the `integration` project: builds kube-apiserver, kubectl, etcd and helm, the node
 * binaries (kubelet, kube-proxy, kube-scheduler, kube-controller-manager) and, as root, the project's image
 * and the pause image for the real-node box (test/cluster/) on the first run on a machine (minutes), so
 * that no single test's timeout has to cover a build. Later runs find them in the tool cache at once.
 */
import { ensureImage, ensurePauseImage } from '../cluster/image.ts';
import { ensureNodeTemplate } from '../cluster/node-template.ts';
import { realNodeUnavailable } from '../cluster/requirements.ts';
import { ensureControlPlaneBinaries, ensureNodeBinaries } from './binaries.ts';

/** Called once by vitest before the integration tests. */
export default async function setup(): Promise<void> {
  await ensureControlPlaneBinaries();
  await ensureNodeBinaries();
  // The images and the node template only where the real-node suites run (they skip otherwise, with the
  // reason). realNodeUnavailable also installs what is missing (containerd for the node template, buildah):
  // on a fresh machine nothing else has installed containerd yet.
  const unavailable = await realNodeUnavailable();
  if (unavailable) {
    process.stderr.write(`[global-setup] no real-node images: ${unavailable}\n`);
  } else {
    const pause = await ensurePauseImage();
    const image = await ensureImage();
    await ensureNodeTemplate([pause, image.archive]);
  }
}
