/**
 * @module
 * Kernel settings written as files under a `/proc/sys` mount with `node:fs`, not with `sysctl`. Container
 * runtimes mount `/proc/sys` read-only in unprivileged containers; the chart mounts the host's
 * `/proc/sys/net` read-write at another path and passes it as `--proc-sys`. `/proc/sys/net` always shows the
 * network namespace of the process that reads it, so the mount serves the host's namespace to a
 * `hostNetwork` pod.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Writes one setting, `key` as a path below `/proc/sys` (e.g. `net/ipv4/conf/cegress0/rp_filter`). */
export type SysctlWriter = (key: string, value: string) => Promise<void>;

/** Reads one setting, `key` as for {@link SysctlWriter}; resolves with its value, trimmed. */
export type SysctlReader = (key: string) => Promise<string>;

/** The default root of the kernel settings. */
export const DEFAULT_PROC_SYS = '/proc/sys';

/** A setting that could not be written. */
export class SysctlError extends Error {
  override readonly name = 'SysctlError';
}

/** The `rp_filter` setting of a device. */
export const rpFilterKey = (dev: string) => `net/ipv4/conf/${dev}/rp_filter`;

/** Writes settings below `root` (default `/proc/sys`) with `node:fs`. */
export function procSysWriter(root: string = DEFAULT_PROC_SYS): SysctlWriter {
  return async (key, value) => {
    const file = join(root, key);
    try {
      await writeFile(file, `${value}\n`);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const hint =
        code === 'EROFS' || code === 'EACCES' || code === 'EPERM'
          ? `: ${root} is read-only here (an unprivileged container); mount the host's /proc/sys/net ` +
            'read-write at <path>/net and pass --proc-sys=<path> (the Helm chart does)'
          : '';
      throw new SysctlError(`cannot write ${file} (${code ?? (err as Error).message})${hint}`, {
        cause: err,
      });
    }
  };
}

/** Reads settings below `root` (default `/proc/sys`) with `node:fs`. */
export function procSysReader(root: string = DEFAULT_PROC_SYS): SysctlReader {
  return async (key) => {
    const file = join(root, key);
    try {
      return (await readFile(file, 'utf8')).trim();
    } catch (err) {
      throw new SysctlError(
        `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
        {
          cause: err,
        },
      );
    }
  };
}

/**
 * conntrack's liberal TCP window tracking (`nf_conntrack_tcp_be_liberal`): out-of-window segments pass instead of
 * being marked invalid. Per network namespace: the node's, for a `hostNetwork` agent.
 */
export const TCP_BE_LIBERAL_KEY = 'net/netfilter/nf_conntrack_tcp_be_liberal';

/**
 * The settings of `dev` under which adding an IPv6 address makes the kernel advertise it at once (an unsolicited
 * neighbour advertisement, as a gratuitous ARP does for IPv4): no duplicate address detection (`accept_dad=0`,
 * which would hold the address tentative for a second and advertise only then) and `ndisc_notify=1`.
 */
export function ipv6AnnounceKeys(dev: string): readonly (readonly [string, string])[] {
  return [
    [`net/ipv6/conf/${dev}/accept_dad`, '0'],
    [`net/ipv6/conf/${dev}/ndisc_notify`, '1'],
  ];
}
