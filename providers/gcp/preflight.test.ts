import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/provider/contract.ts';
import type { Resolved } from '../../src/provider/interface-driver.ts';
import type { GceNic } from './client.ts';
import type { NicIo, NicTarget } from './nic-io.ts';
import { gcpPreflight } from './preflight.ts';

const SUBNET = 'https://www.googleapis.com/compute/v1/projects/host/regions/europe-west1/subnetworks/nodes';
const resolved = (name: string): Resolved<NicTarget> => ({
  node: { name, providerID: `gce://p/europe-west1-b/${name}` },
  target: {
    project: 'p',
    zone: 'europe-west1-b',
    instance: name,
    nic: 'nic0',
    id: `projects/p/zones/europe-west1-b/instances/${name}#nic0`,
    node: name,
  },
});
const nic: GceNic = {
  name: 'nic0',
  networkIP: '10.0.0.2',
  fingerprint: 'f',
  subnetwork: SUBNET,
  aliasIpRanges: [],
};

/** NIC I/O that answers permission tests from `denied` (by instance name, or `subnet`) and counts subnet tests. */
function permissionIo(denied: Record<string, readonly string[] | Error>) {
  const subnetTests: string[] = [];
  const answer = (key: string, asked: readonly string[]) => {
    const no = denied[key] ?? [];
    if (no instanceof Error) throw no;
    return asked.filter((p) => !no.includes(p));
  };
  const unused = () => {
    throw new Error('preflight must not write');
  };
  const io: NicIo = {
    readNic: async () => ({ nic, status: 'RUNNING' }),
    readSubnet: unused,
    sendAliases: unused,
    waitDone: unused,
    operationFailure: unused,
    instancePermissions: async (t, asked) => answer(t.instance, asked),
    subnetworkPermissions: async (url, asked) => {
      subnetTests.push(url);
      return answer('subnet', asked);
    },
  };
  return { io, subnetTests };
}

describe('gcp preflight', () => {
  it('checks each permission on each instance, and each subnetwork once for all its nodes', async () => {
    const { io, subnetTests } = permissionIo({});
    const checks = await gcpPreflight(io, [resolved('gw-1'), resolved('gw-2')]);
    expect(checks.map((c) => [c.check, c.node, c.ok])).toEqual([
      ['permission compute.instances.get', 'gw-1', true],
      ['permission compute.instances.updateNetworkInterface', 'gw-1', true],
      ['permission compute.instances.get', 'gw-2', true],
      ['permission compute.instances.updateNetworkInterface', 'gw-2', true],
      ['permission compute.subnetworks.get', undefined, true],
    ]);
    expect(subnetTests).toEqual([SUBNET]);
    expect(checks.at(-1)?.message).toBe(
      'granted on subnetwork projects/host/regions/europe-west1/subnetworks/nodes (nodes gw-1, gw-2)',
    );
  });

  it('names a denied permission, what it breaks and the fix', async () => {
    const { io } = permissionIo({
      'gw-2': ['compute.instances.updateNetworkInterface'],
      subnet: ['compute.subnetworks.get'],
    });
    const checks = await gcpPreflight(io, [resolved('gw-1'), resolved('gw-2')]);
    const failed = checks.filter((c) => !c.ok);
    expect(failed).toEqual([
      {
        check: 'permission compute.instances.updateNetworkInterface',
        node: 'gw-2',
        ok: false,
        message: expect.stringMatching(
          /^not granted on instance projects\/p\/zones\/europe-west1-b\/instances\/gw-2: egress IPs cannot be added/,
        ),
        fix: expect.stringContaining('grant compute.instances.updateNetworkInterface on instance'),
      },
      {
        check: 'permission compute.subnetworks.get',
        ok: false,
        message: expect.stringContaining('the egress range of the subnetwork cannot be read'),
        fix: expect.stringContaining('cloudEgressController'),
      },
    ]);
  });

  it('without compute.instances.get the subnetwork is unknown: it is not tested, the denial says why', async () => {
    const { io, subnetTests } = permissionIo({ 'gw-1': ['compute.instances.get'] });
    const checks = await gcpPreflight(io, [resolved('gw-1')]);
    expect(checks.map((c) => [c.check, c.ok])).toEqual([
      ['permission compute.instances.get', false],
      ['permission compute.instances.updateNetworkInterface', true],
    ]);
    expect(subnetTests).toEqual([]);
  });

  it('a permission test that fails is a failed check that says why, not a thrown error', async () => {
    const gone = new ProviderError(
      'notFound',
      "The resource 'projects/p/zones/europe-west1-b/instances/gw-1' was not found",
    );
    const { io } = permissionIo({ 'gw-1': gone });
    const checks = await gcpPreflight(io, [resolved('gw-1')]);
    expect(checks).toEqual([
      {
        check: 'permissions on instance projects/p/zones/europe-west1-b/instances/gw-1',
        node: 'gw-1',
        ok: false,
        message: expect.stringContaining('could not be checked: The resource'),
      },
    ]);
  });
});
