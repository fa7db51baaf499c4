/**
 * @module
 * The AWS driver's `list`: the owned IPs on the ENIs of many nodes of one region, from a few batched, filtered
 * reads (one attempt; the engine retries it, and resolves afresh and lists alone a node left `undefined`).
 *
 * ```
 * ONE DescribeNetworkInterfaces (filter network-interface-id: every ENI)
 *   || ONE DescribeSubnets (filter subnet-id: the resolved subnets; one more if an ENI sits in another)
 * -> ONE DescribeAddresses (filter network-interface-id: the ENIs holding IPs we own; none if no ENI does)
 * -> per node: owned IPs (on the ENI and claimed on its subnet) with their Elastic IPs      (assignments.ts)
 *    undefined for a node whose ENI (or its subnet) is not in the answer
 * (filters take at most 200 values: more ids are read in parallel calls of 200)
 * ```
 *
 * A filter, unlike a list of ids, does not fail the call for an id that is gone: the ENI is just left out.
 */
import type { Address } from '@aws-sdk/client-ec2';
import type { CloudAssignment } from '../../src/provider/contract.ts';
import type { Resolved } from '../../src/provider/interface-driver.ts';
import { assignmentsOn, eniStateOf } from './assignments.ts';
import type { Ec2Api } from './ec2-api.ts';
import { chunks, MAX_FILTER_VALUES, type ResolvedNode, type SubnetView, subnetView } from './ec2-reader.ts';
import { type EniView, eniView, ownedIPs } from './eni.ts';

/**
 * Runs `describe` on the distinct `values` in chunks of at most {@link MAX_FILTER_VALUES} (one call when they
 * fit), in parallel, and joins the answers; no call at all for no values.
 */
async function describeChunked<T>(
  values: Iterable<string>,
  describe: (part: string[]) => Promise<readonly T[] | undefined>,
): Promise<T[]> {
  const parts = await Promise.all(chunks([...new Set(values)], MAX_FILTER_VALUES).map(describe));
  return parts.flatMap((part) => part ?? []);
}

/** The ENIs of `eniIds` that exist, by id (`network-interface-id` filter). */
async function readEnis(api: Ec2Api, eniIds: Iterable<string>, signal?: AbortSignal) {
  const found = await describeChunked(
    eniIds,
    async (part) =>
      (
        await api.describeNetworkInterfaces(
          { Filters: [{ Name: 'network-interface-id', Values: part }] },
          signal,
        )
      ).NetworkInterfaces,
  );
  return new Map<string, EniView>(found.map((raw) => eniView(raw)).map((eni) => [eni.id, eni]));
}

/** The subnets of `subnetIds` that exist, by id (`subnet-id` filter). */
async function readSubnets(api: Ec2Api, subnetIds: Iterable<string>, signal?: AbortSignal) {
  const found = await describeChunked(
    subnetIds,
    async (part) =>
      (await api.describeSubnets({ Filters: [{ Name: 'subnet-id', Values: part }] }, signal)).Subnets,
  );
  return new Map<string, SubnetView>(
    found.flatMap((s) => (s.SubnetId ? [[s.SubnetId, subnetView(s.SubnetId, s)] as const] : [])),
  );
}

/** The Elastic IPs associated with any of `eniIds` (`network-interface-id` filter). */
function readAddresses(api: Ec2Api, eniIds: Iterable<string>, signal?: AbortSignal): Promise<Address[]> {
  return describeChunked(
    eniIds,
    async (part) =>
      (await api.describeAddresses({ Filters: [{ Name: 'network-interface-id', Values: part }] }, signal))
        .Addresses,
  );
}

/**
 * The assignments on the ENIs of `group` (nodes of one region, so one EC2 API), in the order given; `undefined`
 * for a node whose ENI or subnet is not in the answer. See the module diagram.
 */
export async function listAssignmentsOnce(
  group: readonly Resolved<ResolvedNode>[],
  owner: string,
  signal?: AbortSignal,
): Promise<(CloudAssignment[] | undefined)[]> {
  const api = group[0]?.target.api;
  if (!api) return [];
  const asked = new Set(group.flatMap(({ target }) => (target.subnetId ? [target.subnetId] : [])));
  const [enis, subnets] = await Promise.all([
    readEnis(
      api,
      group.map(({ target }) => target.eniId),
      signal,
    ),
    readSubnets(api, asked, signal),
  ]);
  const unread = [...enis.values()].map((eni) => eni.subnetId).filter((id) => !asked.has(id));
  for (const [id, subnet] of await readSubnets(api, unread, signal)) subnets.set(id, subnet);
  const states = group.map(({ target }) => eniStateOf(target.eniId, enis, subnets, owner));
  const holding = states.flatMap((st) => (st && ownedIPs(st.eni, st.claims).length > 0 ? [st.eni.id] : []));
  const addresses = await readAddresses(api, holding, signal);
  return group.map(({ node }, i) => {
    const st = states[i];
    return st && assignmentsOn(node.name, st, addresses);
  });
}
