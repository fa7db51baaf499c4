/**
 * @module
 * What cloud-egress's agent may leave on a node, read back from the kernel: its nftables table, its tunnel
 * device, its `ip rule`s, routes in its tables or with its protocol, and /32 egress addresses on the node's
 * interface. `docs/upgrade-uninstall.md` promises that none of these remains after the cleanup.
 */
import type { RunCommand } from '../../src/agent/linux/run-command.ts';
import { DEFAULT_DATAPLANE_SETTINGS as D } from '../../src/agent/settings.ts';

/** Everything the agent added that is still on the node (empty when clean). */
export async function nodeLeftovers(run: RunCommand, iface = 'eth0'): Promise<string[]> {
  const left: string[] = [];
  const tables = (await run('nft', ['list', 'tables'])).stdout;
  if (tables.includes(` ${D.nftTable}`)) left.push(`nft table ${D.nftTable}`);
  const links = (await run('ip', ['-o', 'link', 'show'])).stdout;
  if (links.includes(`${D.tunnelName}:`)) left.push(`link ${D.tunnelName}`);
  for (const line of (await run('ip', ['rule', 'show'])).stdout.split('\n')) {
    if (line.startsWith(`${D.rulePriority}:`) || line.includes(`proto ${D.routeProtocol}`))
      left.push(`rule ${line}`);
  }
  for (const line of (await run('ip', ['route', 'show', 'table', 'all'])).stdout.split('\n')) {
    const table = /table (\d+)/.exec(line)?.[1];
    const ours = table !== undefined && Number(table) >= D.tableBase && Number(table) < D.tableBase + 0x10000;
    if (ours || line.includes(`proto ${D.routeProtocol}`)) left.push(`route ${line}`);
  }
  const addrs = JSON.parse((await run('ip', ['-j', 'addr', 'show', 'dev', iface])).stdout) as {
    addr_info?: { local: string; prefixlen: number; family: string }[];
  }[];
  for (const a of addrs[0]?.addr_info ?? []) {
    if (a.family === 'inet' && a.prefixlen === 32) left.push(`address ${a.local}/32 on ${iface}`);
  }
  return left;
}
