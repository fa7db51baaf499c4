/**
 * iproute2 batches in a network namespace of their own: idempotent deletes of what is not there pass, a bad
 * command fails the batch with an error that names it while the other lines still apply, and a permanent
 * neighbour is removed without ending the batch. Needs root.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchError, runIpBatch } from '../../src/agent/linux/ip-batch.ts';
import {
  addPeerCommands,
  addRouteCommand,
  addRuleCommand,
  deleteAddressCommand,
  deletePeerCommands,
  deleteRouteCommand,
  deleteRuleCommand,
  readPeers,
  readRoutes,
  readRules,
} from '../../src/agent/linux/iproute.ts';
import { commandRunner } from '../../src/agent/linux/run-command.ts';
import { createNamespace, netnsUnavailable } from '../support/netns.ts';

const unavailable = await netnsUnavailable();
const PROTO = 199;

describe.skipIf(unavailable !== undefined)(
  `iproute2 batches${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    const ns = `ceib${randomBytes(3).toString('hex')}`;
    const run = commandRunner(ns);
    const peer = { nodeIp: '192.168.77.2', mac: '02:00:00:00:77:02' };
    const route = { table: 1001, kind: 'via', via: '192.168.77.2', dev: 'vx0' } as const;
    const rule = { table: 1001, priority: 1001, mark: 0x1001, mask: 0xffff };

    beforeAll(async () => {
      await createNamespace(ns);
      await run('ip', ['link', 'add', 'vx0', 'type', 'vxlan', 'id', '77', 'dstport', '4789', 'nolearning']);
      await run('ip', ['addr', 'add', '192.168.77.1/24', 'dev', 'vx0']);
      await run('ip', ['link', 'set', 'vx0', 'up']);
    });
    afterAll(async () => {
      await commandRunner()('ip', ['netns', 'del', ns]).catch(() => undefined);
    });

    it('given deletes of a route, rule, address and peer that are not there, then the batch passes', async () => {
      await runIpBatch(run, [
        deleteRouteCommand(route, PROTO),
        deleteRuleCommand(rule, PROTO),
        deleteAddressCommand({ ip: '192.168.77.50', dev: 'vx0' }),
        ...deletePeerCommands('vx0', peer),
      ]);
      expect(await readRoutes(run, PROTO)).toEqual([]);
    });

    it('given one bad command among good ones, then the error names it and the others are applied', async () => {
      const bad = addRouteCommand({ ...route, table: 1002, dev: 'nosuchdev' }, PROTO);
      const error = await runIpBatch(run, [
        ...addPeerCommands('vx0', peer),
        bad,
        addRouteCommand(route, PROTO),
        addRuleCommand(rule, PROTO),
      ]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BatchError);
      expect((error as BatchError).failures).toEqual([
        { command: `ip ${bad.args.join(' ')}`, error: expect.stringContaining('nosuchdev') },
      ]);
      expect(await readPeers(run, 'vx0')).toEqual([peer]);
      expect(await readRoutes(run, PROTO)).toEqual([route]);
      expect((await readRules(run, PROTO)).map((r) => r.table)).toEqual([1001]);
    });

    it('given a permanent neighbour and a route behind it, when both are deleted in one batch, then both are gone', async () => {
      await runIpBatch(run, [...deletePeerCommands('vx0', peer), deleteRouteCommand(route, PROTO)]);
      expect(await readPeers(run, 'vx0')).toEqual([]);
      expect(await readRoutes(run, PROTO)).toEqual([]);
      const neigh = await run('ip', ['neigh', 'show', 'dev', 'vx0']);
      expect(neigh.stdout).not.toContain(peer.nodeIp);
    });

    it('given a route via one peer, when one batch moves it to another peer and removes the first, then after every process of the batch the route leads to a peer with both its FDB and neighbour entries', async () => {
      // The batch a source node runs when the controller names the new gateway of a planned move (plan-changes.ts
      // steps 3 and 7 with no nft change between them). Between two processes a packet routed to a next hop
      // whose FDB entry is gone is dropped by the VXLAN device (nolearning, no default entry).
      const next = { nodeIp: '192.168.77.3', mac: '02:00:00:00:77:03' };
      const throwOf = (dst: string) => ({ table: 1001, kind: 'throw', dst }) as const;
      await runIpBatch(run, [
        ...addPeerCommands('vx0', peer),
        addRouteCommand(route, PROTO),
        addRouteCommand(throwOf(peer.nodeIp), PROTO),
      ]);
      const nextHops: { via: string | undefined; peers: string[] }[] = [];
      const watched: typeof run = async (file, args, stdin) => {
        const out = await run(file, args, stdin);
        if (args.includes('-batch')) {
          const via = (await readRoutes(run, PROTO)).find((r) => r.kind === 'via')?.via;
          nextHops.push({ via, peers: (await readPeers(run, 'vx0')).map((p) => p.nodeIp) });
        }
        return out;
      };
      await runIpBatch(watched, [
        ...addPeerCommands('vx0', next),
        addRouteCommand({ ...route, via: next.nodeIp }, PROTO),
        addRouteCommand(throwOf(next.nodeIp), PROTO),
        deleteRouteCommand(throwOf(peer.nodeIp), PROTO),
        ...deletePeerCommands('vx0', peer),
      ]);
      expect(nextHops.length).toBeGreaterThan(1);
      for (const hop of nextHops) expect(hop.peers).toContain(hop.via);
      expect(nextHops.at(-1)).toEqual({ via: next.nodeIp, peers: [next.nodeIp] });
      await runIpBatch(run, [
        deleteRouteCommand({ ...route, via: next.nodeIp }, PROTO),
        deleteRouteCommand(throwOf(next.nodeIp), PROTO),
        ...deletePeerCommands('vx0', next),
      ]);
    });
  },
);
