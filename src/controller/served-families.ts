/**
 * @module
 * Pure: the address families a gateway's egress IPs may have, and why each other one is refused. An IP must be
 * placed by the gateway's provider (capabilities.ts `families`) and carried by the node agents
 * (`DATAPLANE_FAMILIES`), so the controller plans with the intersection; the scheduler hands out no IP of another
 * family and names the reason in the status of a policy that asks for one.
 *
 * | family in the provider's `families` | in the agents' | served | refusal                                    |
 * |-------------------------------------|----------------|--------|--------------------------------------------|
 * | yes                                 | yes            | yes    | -                                          |
 * | no                                  | any            | no     | provider <name> places IPv<n> egress IPs   |
 * |                                     |                |        | only, and its `familiesHint` (why)         |
 * | yes                                 | no             | no     | the node agent programs IPv<n> egress IPs  |
 * |                                     |                |        | only                                       |
 */
import { DATAPLANE_FAMILIES } from '../kube/dataplane-families.ts';
import type { IpFamily } from '../net/ip.ts';
import { IPV4_AND_IPV6, type ProviderCapabilities } from '../provider/capabilities.ts';

/** The families a gateway's egress IPs may have, and why the others may not. */
export interface ServedFamilies {
  /** Families whose IPs are handed out. */
  readonly families: ReadonlySet<IpFamily>;
  /** For each other family: why its IPs are not handed out (names the family, who cannot, and why). */
  readonly refused: ReadonlyMap<IpFamily, string>;
}

/** The part of a provider this decision reads. */
export interface FamilyProvider {
  readonly name: string;
  readonly capabilities: Pick<ProviderCapabilities, 'families' | 'familiesHint'>;
}

const ALL_FAMILIES: readonly IpFamily[] = [4, 6];

const only = (families: ReadonlySet<IpFamily>): string =>
  families.size === 0 ? 'no' : `IPv${[...families].sort((a, b) => a - b).join(' and IPv')}`;

/** See the module table. */
export function servedFamilies(
  provider: FamilyProvider,
  dataplane: ReadonlySet<IpFamily> = DATAPLANE_FAMILIES,
): ServedFamilies {
  const placed = provider.capabilities.families;
  const families = new Set<IpFamily>();
  const refused = new Map<IpFamily, string>();
  for (const family of ALL_FAMILIES) {
    if (!placed.has(family)) {
      const hint = provider.capabilities.familiesHint;
      refused.set(
        family,
        `provider ${provider.name} places ${only(placed)} egress IPs only${hint ? ` (${hint})` : ''}`,
      );
    } else if (!dataplane.has(family)) {
      refused.set(family, `the node agent programs ${only(dataplane)} egress IPs only`);
    } else families.add(family);
  }
  return { families, refused };
}

/** What the agents program, whatever the provider (one that places both families): for callers that know none. */
export const DATAPLANE_SERVED: ServedFamilies = servedFamilies({
  name: 'any',
  capabilities: { families: IPV4_AND_IPV6 },
});
