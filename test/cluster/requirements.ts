/**
 * @module
 * What the real-node box needs on the machine, installed from Debian where missing (as root): the agent's
 * tools, containerd, runc, the reference CNI plugins, buildah and debootstrap (the image), gcc (the pause
 * image), openssl (certificates), and cgroup v1 hierarchies with the freezer (a node's power cut).
 */
import { existsSync } from 'node:fs';
import { cliUnavailable } from '../e2e/cloud-box.ts';
import { AGENT_COMMANDS, ensurePackages, type RequiredCommand } from '../support/ensure-packages.ts';
import { netnsUnavailable } from '../support/netns.ts';

/** The commands the real-node box runs besides the agent's. */
export const NODE_COMMANDS: readonly RequiredCommand[] = [
  { command: 'containerd', pkg: 'containerd' },
  { command: 'ctr', pkg: 'containerd' },
  { command: 'runc', pkg: 'runc' },
  { command: 'buildah', pkg: 'buildah' },
  { command: 'debootstrap', pkg: 'debootstrap' },
  { command: 'gcc', pkg: 'gcc' },
  { command: 'openssl', pkg: 'openssl' },
  { command: 'nsenter', pkg: 'util-linux' },
  { command: 'unshare', pkg: 'util-linux' },
];

/** The reference CNI plugins the nodes' pod network uses (Debian's containernetworking-plugins). */
const CNI_PLUGINS = ['bridge', 'host-local', 'loopback'].map((p) => `/usr/lib/cni/${p}`);

/** Why the real-node box cannot run here, or undefined when it can. */
export async function realNodeUnavailable(): Promise<string | undefined> {
  const netns = await netnsUnavailable();
  if (netns) return netns;
  const required = [...AGENT_COMMANDS, ...NODE_COMMANDS];
  if (!CNI_PLUGINS.every((p) => existsSync(p))) {
    required.push({ command: 'containernetworking-plugins-missing', pkg: 'containernetworking-plugins' });
  }
  const missing = (
    await ensurePackages(required).catch((err: Error) => [`apt-get failed: ${err.message}`])
  ).filter((m) => m !== 'containernetworking-plugins-missing');
  if (!CNI_PLUGINS.every((p) => existsSync(p))) missing.push('the CNI plugins (containernetworking-plugins)');
  if (missing.length > 0) return `missing: ${missing.join(', ')}`;
  if (
    !existsSync('/sys/fs/cgroup/freezer/freezer.state') &&
    !existsSync('/sys/fs/cgroup/freezer/cgroup.procs')
  ) {
    return 'no cgroup v1 freezer hierarchy at /sys/fs/cgroup/freezer';
  }
  return cliUnavailable();
}
