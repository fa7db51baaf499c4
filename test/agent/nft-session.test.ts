/**
 * @module
 * The long-lived `nft -i` session on a real kernel, in a scratch network namespace: transactions commit,
 * a failing one reports nft's error and commits nothing, and a session whose process died starts again.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NftSession } from '../../src/agent/linux/nft-session.ts';
import { CommandError, commandLine, commandRunner } from '../../src/agent/linux/run-command.ts';
import { netnsUnavailable } from '../support/netns.ts';

const unavailable = await netnsUnavailable();

describe.skipIf(unavailable !== undefined)(
  `nft -i session${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    const ns = `cens${randomBytes(3).toString('hex')}`;
    const run = commandRunner(ns);
    const session = new NftSession({ line: commandLine(ns) });
    const elements = async () =>
      JSON.parse((await run('nft', ['-j', 'list', 'set', 'inet', 't', 's'])).stdout).nftables[1].set.elem ??
      [];

    beforeAll(async () => {
      await commandRunner()('ip', ['netns', 'add', ns]);
      await run('nft', ['-f', '-'], 'table inet t {\n\tset s {\n\t\ttype ipv4_addr\n\t}\n}\n');
    });
    afterAll(async () => {
      session.close();
      await commandRunner()('ip', ['netns', 'del', ns]);
    });

    it('commits transactions, one after the other', async () => {
      await session.run('add element inet t s { 10.0.0.1 }\nadd element inet t s { 10.0.0.2 }\n');
      await session.run('delete element inet t s { 10.0.0.1 }\n');
      expect(await elements()).toEqual(['10.0.0.2']);
    });

    it('reports a failing transaction with nft’s message and commits none of it', async () => {
      const failing = session.run(
        'add element inet t s { 10.0.0.3 }\nadd element inet t nosuch { 10.0.0.4 }\n',
      );
      await expect(failing).rejects.toBeInstanceOf(CommandError);
      await expect(failing).rejects.toThrow(/No such file or directory/);
      expect(await elements()).toEqual(['10.0.0.2']);
      await session.run('add element inet t s { 10.0.0.5 }\n');
      expect(await elements()).toEqual(['10.0.0.2', '10.0.0.5']);
    });

    it('starts a new process when the old one is gone', async () => {
      session.close();
      await session.run('add element inet t s { 10.0.0.6 }\n');
      expect(await elements()).toContain('10.0.0.6');
    });
  },
);
