/**
 * @module
 * The agent in an unprivileged container's view of the kernel settings: a process in a node's network
 * namespace whose `/proc/sys` is read-only (as container runtimes mount it) and that has the namespace's
 * `/proc/sys/net` bound read-write at another path (as the chart mounts the host's). With `--proc-sys` at
 * that path the agent programs the node; without it the sync fails and says what to do. Needs root.
 */

import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentInputs } from '../../src/agent/agent-inputs.ts';
import { commandRunner } from '../../src/agent/linux/run-command.ts';
import { DEFAULT_DATAPLANE_SETTINGS } from '../../src/agent/settings.ts';
import { netnsUnavailable } from '../support/netns.ts';

const here = dirname(fileURLToPath(import.meta.url));
const unavailable = await netnsUnavailable();

describe.skipIf(unavailable !== undefined)(
  `the agent with a read-only /proc/sys${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    const ns = `ceps${randomBytes(3).toString('hex')}`;
    const run = commandRunner(ns);
    let dir = '';
    const inputs: AgentInputs = {
      node: { name: 'node-1', ip: '192.168.252.1', iface: 'eth0', mtu: 1500 },
      policies: [],
      nodes: [{ name: 'node-1', ip: '192.168.252.1' }],
      pods: [],
      namespaceLabels: new Map(),
      clusterCidrs: ['10.244.0.0/16'],
    };

    /** One sync by a process that sees /proc/sys read-only and `<dir>/proc/sys/net` read-write. */
    const syncInContainer = async (flags: readonly string[]) => {
      const script =
        'mount --bind /proc/sys/net "$0/proc/sys/net" && mount --bind /proc/sys /proc/sys && ' +
        'mount -o remount,bind,ro /proc/sys && exec "$@"';
      const out = await commandRunner()(
        'ip',
        [
          'netns',
          'exec',
          ns,
          'unshare',
          '--mount',
          '--propagation',
          'private',
          'sh',
          '-c',
          script,
          dir,
          process.execPath,
          join(here, 'sync-once.ts'),
          '--node-name',
          'node-1',
          ...flags,
        ],
        JSON.stringify({ ...inputs, namespaceLabels: {} }),
      ).catch((err: { stderr: string }) => ({ stdout: err.stderr }));
      return JSON.parse(out.stdout.trim().split('\n').at(-1) ?? '{}') as {
        changes?: string[];
        error?: string;
      };
    };
    const rpFilter = async () =>
      (
        await run('cat', [`/proc/sys/net/ipv4/conf/${DEFAULT_DATAPLANE_SETTINGS.tunnelName}/rp_filter`])
      ).stdout.trim();

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'cloud-egress-procsys-'));
      await mkdir(join(dir, 'proc', 'sys', 'net'), { recursive: true });
      await commandRunner()('ip', ['netns', 'add', ns]);
      await run('ip', ['link', 'set', 'lo', 'up']);
      await run('ip', ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0']);
      await run('ip', ['addr', 'add', '192.168.252.1/24', 'dev', 'eth0']);
      await run('ip', ['link', 'set', 'eth0', 'up']);
      await run('ip', ['link', 'set', 'peer0', 'up']);
    });
    afterAll(async () => {
      await commandRunner()('ip', ['netns', 'del', ns]).catch(() => {});
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('fails with a clear error without --proc-sys', async () => {
      const result = await syncInContainer([]);
      expect(result.error).toMatch(
        /cannot write \/proc\/sys\/net\/ipv4\/conf\/cegress0\/rp_filter \(EROFS\)/,
      );
      expect(result.error).toContain('--proc-sys');
    });

    it('programs the node through the writable mount given as --proc-sys', async () => {
      const result = await syncInContainer([`--proc-sys=${dir}/proc/sys`]);
      expect(result.error).toBeUndefined();
      expect(result.changes).toContain('tunnel.create');
      expect(await rpFilter()).toBe('2');
      const table = (await run('nft', ['list', 'table', 'inet', DEFAULT_DATAPLANE_SETTINGS.nftTable])).stdout;
      expect(table).toContain('chain classify');
      // A second sync finds everything in place.
      expect(await syncInContainer([`--proc-sys=${dir}/proc/sys`])).toEqual({ changes: [] });
    });

    it('on a node that already has the tunnel, still fails without --proc-sys (a chart without the mount fails on every node, not only on new ones)', async () => {
      expect(await run('ip', ['link', 'show', DEFAULT_DATAPLANE_SETTINGS.tunnelName])).toBeDefined();
      const result = await syncInContainer([]);
      expect(result.error).toMatch(
        /cannot write \/proc\/sys\/net\/ipv4\/conf\/cegress0\/rp_filter \(EROFS\)/,
      );
    });

    it("repairs the tunnel's reverse-path setting when something else changed it", async () => {
      await run('sh', [
        '-c',
        `echo 1 > /proc/sys/net/ipv4/conf/${DEFAULT_DATAPLANE_SETTINGS.tunnelName}/rp_filter`,
      ]);
      expect(await rpFilter()).toBe('1');
      expect(await syncInContainer([`--proc-sys=${dir}/proc/sys`])).toEqual({ changes: [] });
      expect(await rpFilter()).toBe('2');
    });

    it("cleans up without --proc-sys, as the chart's cleanup container runs (it removes the tunnel, it writes no setting)", async () => {
      const result = await syncInContainer(['--cleanup']);
      expect(result.error).toBeUndefined();
      expect(result.changes).toContain('tunnel.delete');
      await expect(run('ip', ['link', 'show', DEFAULT_DATAPLANE_SETTINGS.tunnelName])).rejects.toThrow();
    });
  },
);
