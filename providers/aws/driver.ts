/**
 * @module
 * The AWS driver (src/provider/interface-driver.ts): egress IPs are secondary private IPs of a gateway node's
 * ENI. The engine (src/provider/engine.ts) groups, orders, locks and retries; each function here is one step.
 *
 * | function    | EC2                                                                                         |
 * |-------------|---------------------------------------------------------------------------------------------|
 * | `resolve`   | providerID ─► DescribeInstances ─► ENI (device index, or by tag); cached per node (ec2-reader.ts); |
 * |             | the default's ENI that the VPC CNI manages is resolved `refused` (egress-eni.ts), not cached |
 * | `refresh`   | the same, the cached resolution dropped first (after `notFound`: the ENI or instance was replaced) |
 * | `key`       | the ENI id                                                                                  |
 * | `write`     | removes: release-attempt.ts; adds and allocations: assign-attempt.ts (refused: the refusal) |
 * | `describe`  | DescribeNetworkInterfaces || DescribeSubnets (claims) || DescribeInstanceTypes (cached);    |
 * |             | refused: with the refusal (the core places no IP there, and moves its IPs off where it can) |
 * | `list`      | a few batched, filtered reads per region (list-reads.ts)                                    |
 * | `listGroup` | the region: nodes of one region are listed together                                         |
 * | `classify`  | EC2 codes to kinds (errors.ts)                                                              |
 * | `preflight` | the egress ENI's slots, VPC CNI and source/destination check; CreateTags(DryRun) (preflight.ts) |
 *
 * Ownership claims live in the subnet's tags (eni.ts, subnet-claims.ts): a private IP belongs to its subnet
 * whichever ENI holds it, so a failover move writes no tag and a claim outlives the node that held the IP. A
 * move of IPv4 addresses this installation claims looks up no holder: a claimed IP is ours wherever it is, so
 * AllowReassignment may take it from whichever ENI holds it. An unclaimed IP's holder is always looked up,
 * which is what refuses to take another tool's IP.
 */
import type {
  ClusterProbe,
  NodeNetwork,
  ProviderError,
  ProviderSettings,
} from '../../src/provider/contract.ts';
import type { BatchResult, Edit, InterfaceDriver } from '../../src/provider/interface-driver.ts';
import { type AddEdit, assignAttempt } from './assign-attempt.ts';
import type { Ec2Api } from './ec2-api.ts';
import { createEc2Reader, type ResolvedNode } from './ec2-reader.ts';
import { ownedIPs, reservedIPs } from './eni.ts';
import { toProviderError } from './errors.ts';
import { listAssignmentsOnce } from './list-reads.ts';
import { awsPreflight } from './preflight.ts';
import { type RemoveEdit, releaseAttempt } from './release-attempt.ts';
import { subnetClaims } from './subnet-claims.ts';

const isRemove = (edit: Edit): edit is RemoveEdit => edit.kind === 'remove';
const isAdd = (edit: Edit): edit is AddEdit => edit.kind !== 'remove';

/** The outcomes of two attempts on one ENI as one. */
function merged(results: readonly (BatchResult | undefined)[]): BatchResult {
  const failed = new Map<Edit, ProviderError>();
  const allocated = new Map<Edit, readonly string[]>();
  for (const result of results) {
    for (const [edit, error] of result?.failed ?? []) failed.set(edit, error);
    for (const [edit, ips] of result?.allocated ?? []) allocated.set(edit, ips);
  }
  return { failed, allocated };
}

/** The AWS driver over the EC2 API of each region. */
export function awsDriver(
  settings: ProviderSettings,
  ec2For: (region: string) => Ec2Api,
  cluster?: ClusterProbe,
): InterfaceDriver<ResolvedNode> {
  const owner = settings.owner;
  const reader = createEc2Reader(settings, ec2For, cluster);
  const claims = subnetClaims(owner, reader);

  return {
    resolve: reader.resolve,
    refresh: reader.refresh,
    key: (r) => r.eniId,
    listGroup: (r) => r.region,

    write(r, edits, signal) {
      // The engine sends removes (phase 1) and additions (phase 2) in batches of their own; a batch with both
      // would release first, then add.
      const removes = edits.filter(isRemove);
      const adds = edits.filter(isAdd);
      const release = removes.length > 0 ? releaseAttempt(reader, claims, r, removes, signal) : undefined;
      const refused = r.refused;
      const assign =
        adds.length === 0
          ? undefined
          : refused
            ? async (): Promise<BatchResult> => {
                throw refused;
              }
            : assignAttempt(reader, claims, r, adds, signal);
      if (!assign) return release ?? (async () => ({}));
      if (!release) return assign;
      return async () => merged([await release(), await assign()]);
    },

    async describe({ node, target }, signal) {
      const [{ eni, subnet }, limits] = await Promise.all([
        reader.readEniAndSubnet(target, signal),
        reader.limitsOf(target, signal),
      ]);
      const claimed = claims.of(subnet);
      const network: NodeNetwork = {
        node: node.name,
        interfaceId: eni.id,
        zone: eni.zone,
        subnets: [...subnet.cidrs],
        reservedIPs: reservedIPs(eni, claimed),
        ownedIPs: ownedIPs(eni, claimed),
        freeSlots: Math.max(0, limits.ipv4 - eni.ipv4.length),
      };
      // An ENI that takes no new egress IP: the core places none there, and moves off what it holds.
      const refused = target.refused;
      return refused ? { ...network, refusal: `${refused.message} (fix: ${refused.fix})` } : network;
    },

    list: (group, signal) => listAssignmentsOnce(group, owner, signal),
    preflight: (nodes, signal, cluster) => awsPreflight(reader, owner, nodes, signal, cluster),
    classify: toProviderError,
  };
}
