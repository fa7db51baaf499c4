/**
 * @module
 * The AWS provider's preflight (contract.ts `preflight`), read-only:
 *
 * ```
 * per node (in parallel)   DescribeNetworkInterfaces (the egress ENI) + DescribeInstanceTypes (cached)
 *                          ─► free IP slots; with the cluster's facts: VPC CNI, source/destination check
 * per subnet (once)        CreateTags(DryRun) of the claims version tag ─► permission ec2:CreateTags
 * a read that fails        one failed check saying what could not be checked and why
 * ```
 *
 * `AssignPrivateIpAddresses` and `UnassignPrivateIpAddresses` take no `DryRun` parameter (EC2 API Reference), so
 * their permissions cannot be asked of EC2 without a write; test/aws/iam.test.ts proves the documented policies
 * grant them. DeleteTags is granted with CreateTags by both documented policies.
 */
import type { PreflightCheck, PreflightCluster } from '../../src/provider/contract.ts';
import type { Resolved } from '../../src/provider/interface-driver.ts';
import type { Ec2Reader, ResolvedNode } from './ec2-reader.ts';
import { claimsVersionKey } from './eni.ts';
import { claimTagCheck, eniChecks } from './preflight-checks.ts';

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** The preflight checks of `nodes`; see the module diagram. */
export async function awsPreflight(
  reader: Ec2Reader,
  owner: string,
  nodes: readonly Resolved<ResolvedNode>[],
  signal?: AbortSignal,
  cluster?: PreflightCluster,
): Promise<PreflightCheck[]> {
  const perNode = await Promise.all(
    nodes.map(async ({ node, target }): Promise<PreflightCheck[]> => {
      try {
        const [eni, limits] = await Promise.all([
          reader.readEni(target, signal),
          reader.limitsOf(target, signal),
        ]);
        return eniChecks(
          {
            node: node.name,
            eni,
            instanceType: target.instanceType,
            ipv4Limit: limits.ipv4,
            ...(target.refused ? { refused: true } : {}),
          },
          cluster,
        );
      } catch (err) {
        return [
          {
            check: 'egress ENI',
            node: node.name,
            ok: false,
            message: `could not be read: ${errorText(err)}`,
          },
        ];
      }
    }),
  );
  const bySubnet = new Map<string, Resolved<ResolvedNode>[]>();
  for (const n of nodes) bySubnet.set(n.target.subnetId, [...(bySubnet.get(n.target.subnetId) ?? []), n]);
  const perSubnet = await Promise.all(
    [...bySubnet].map(async ([subnetId, members]) => {
      const names = members.map((m) => m.node.name).sort();
      try {
        await members[0]!.target.api.createTags(
          {
            Resources: [subnetId],
            Tags: [{ Key: claimsVersionKey(owner), Value: 'preflight' }],
            DryRun: true,
          },
          signal,
        );
        return claimTagCheck(subnetId, names, 'DryRunOperation', '');
      } catch (err) {
        return claimTagCheck(subnetId, names, (err as { code?: string }).code, errorText(err));
      }
    }),
  );
  return [...perNode.flat(), ...perSubnet];
}
