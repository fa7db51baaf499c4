/**
 * @module
 * The conformance world of the in-memory provider (test/conformance/inmemory.test.ts), also the in-memory
 * cloud of the controller's lying-cloud cases.
 */
import { createInMemoryProviderFor, InMemoryCloud } from '../../providers/inmemory/index.ts';
import type { LyingWorld } from './lying-cloud.case.ts';

/** An in-memory cloud with three nodes (`a`, `b` in 10.0.1.0/24, `c` in 10.0.2.0/24 with room for 7 IPs). */
export async function startInMemoryWorld(): Promise<LyingWorld> {
  const cloud = new InMemoryCloud();
  // Writes take time, as on a cloud, so two writes of one interface that overlap would show in the log.
  cloud.writeLatencyMs = 5;
  const add = (name: string, zone: string, subnet: string, primaryIP: string, limit?: number) => {
    cloud.addInstance({ name, zone, subnet, primaryIP, ...(limit ? { limit } : {}) });
    return { ref: { name, providerID: `inmemory:///${zone}/${name}` }, subnet };
  };
  const nodes = {
    a: add('node-a', 'zone-1', '10.0.1.0/24', '10.0.1.10'),
    b: add('node-b', 'zone-1', '10.0.1.0/24', '10.0.1.11'),
    c: add('node-c', 'zone-2', '10.0.2.0/24', '10.0.2.10', 8),
  };
  const instance = (name: string) => cloud.instances.get(name)!;
  return {
    provider: createInMemoryProviderFor(cloud, { owner: 'conformance' }),
    lies: cloud.lies,
    nodes,
    missing: { name: 'node-gone', providerID: 'inmemory:///zone-1/node-gone' },
    outsideIP: '192.0.2.50',
    freeIPs: async (subnet, count) => cloud.freeIPs(subnet, count),
    cloudIPs: async (node) => cloud.secondaryIPs(node.ref.name),
    primaryIP: async (node) => instance(node.ref.name).primaryIP,
    addForeignIP: async (node, ip) => {
      instance(node.ref.name).secondary.set(ip, { ip, owner: undefined });
    },
    writes: async () => [...cloud.writes],
    reset: async () => {
      for (const inst of cloud.instances.values()) inst.secondary.clear();
      cloud.writes.length = 0;
    },
    close: async () => {},
  };
}
