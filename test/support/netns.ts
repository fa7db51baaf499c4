/**
 * @module
 * Building blocks of the network-namespace test topologies (the agent's lab and the end-to-end box): a
 * namespace with loopback up and IPv6 off, and a veth pair between two namespaces.
 */
import { commandRunner } from '../../src/agent/linux/run-command.ts';

const host = commandRunner();

/** Creates network namespace `ns` with loopback up and IPv6 disabled (the topologies are IPv4). */
export async function createNamespace(ns: string): Promise<void> {
  await host('ip', ['netns', 'add', ns]);
  const run = commandRunner(ns);
  await run('ip', ['link', 'set', 'lo', 'up']);
  await run('sysctl', [
    '-q',
    '-w',
    'net.ipv6.conf.all.disable_ipv6=1',
    'net.ipv6.conf.default.disable_ipv6=1',
  ]);
}

/** A veth pair `aName` in namespace `a` <-> `bName` in namespace `b`, both up. */
export async function createVethPair(a: string, aName: string, b: string, bName: string): Promise<void> {
  await host('ip', ['link', 'add', aName, 'netns', a, 'type', 'veth', 'peer', 'name', bName, 'netns', b]);
  await commandRunner(a)('ip', ['link', 'set', aName, 'up']);
  await commandRunner(b)('ip', ['link', 'set', bName, 'up']);
}
