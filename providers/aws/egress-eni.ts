/**
 * @module
 * Pure: which ENI of a gateway node holds its egress IPs, from the settings (the chart's `cloud.interface.tag` and
 * `cloud.interface.index`, or a gateway's `cloudegress.io/interface-tag` and `/interface` annotations) and, by
 * default, whether the Amazon VPC CNI manages the primary ENI (docs/adr/0008-egress-ips-off-managed-enis.md).
 * ec2-reader.ts makes the reads.
 *
 * ```
 * setting              VPC CNI (aws-node runs)   ENI                        refused (ProviderError)
 * tag KEY or KEY=VALUE not asked                 the ENI tagged so          none is: notFound
 * index N              not asked                 device index N             none is: notFound
 * neither (default)    no                        device index 0 (primary)   -
 * neither (default)    yes                       device index 0 (primary)   it lacks node.k8s.amazonaws.com/
 *                                                                           no_manage=true: terminal, with the fix
 * ```
 *
 * ipamd adds every secondary IP of an ENI it manages to its pod IP pool, may give one to a pod, and frees IPs above
 * its warm targets, so by default no egress IP goes on such an ENI. Naming an index (even "0") or a tag is the
 * user's own choice, taken as given; the Preflight condition and the doctor still flag a managed ENI
 * (preflight-checks.ts).
 */
import { ProviderError, type ProviderSettings } from '../../src/provider/contract.ts';

/** The tag that keeps the Amazon VPC CNI's ipamd off an ENI. */
export const NO_MANAGE_TAG = 'node.k8s.amazonaws.com/no_manage';

/** How the egress ENI is found among an instance's ENIs. */
export type EniSelector =
  | { readonly by: 'tag'; readonly key: string; readonly value?: string }
  | {
      readonly by: 'index';
      readonly index: number;
      /** Set by the user (`interface`), not the default: a managed ENI is then not refused. */
      readonly explicit: boolean;
    };

/**
 * The selector of the settings: the tag when set, else the device index when set, else the primary ENI.
 * @throws ProviderError `terminal` when the index is not a device index
 */
export function eniSelector(settings: Pick<ProviderSettings, 'interface' | 'interfaceTag'>): EniSelector {
  const tag = settings.interfaceTag;
  if (tag) {
    const eq = tag.indexOf('=');
    return eq < 0 ? { by: 'tag', key: tag } : { by: 'tag', key: tag.slice(0, eq), value: tag.slice(eq + 1) };
  }
  if (settings.interface === undefined || settings.interface === '') {
    return { by: 'index', index: 0, explicit: false };
  }
  const index = Number(settings.interface);
  if (!Number.isInteger(index) || index < 0) {
    throw new ProviderError(
      'terminal',
      `interface "${settings.interface}" is not an ENI device index (0, 1, ...); to pick an ENI by tag, set the interface tag instead`,
    );
  }
  return { by: 'index', index, explicit: true };
}

/** What {@link managedEniRefusal} judges: the ENI the default picked and what the cluster runs. */
export interface DefaultEniFacts {
  readonly node: string;
  readonly instanceId: string;
  readonly eniId: string;
  readonly tags: ReadonlyMap<string, string>;
  /** Whether the Amazon VPC CNI runs in the cluster. */
  readonly vpcCni: boolean;
}

/** The refusal of the default's ENI when the VPC CNI manages it; undefined when it may hold egress IPs. */
export function managedEniRefusal(f: DefaultEniFacts): ProviderError | undefined {
  if (!f.vpcCni || f.tags.get(NO_MANAGE_TAG) === 'true') return undefined;
  return new ProviderError(
    'terminal',
    `node ${f.node}: no egress IPs go on ${f.eniId}, the primary ENI of ${f.instanceId}, by default: the Amazon VPC CNI manages it (aws-node runs, the ENI has no ${NO_MANAGE_TAG}=true tag), and ipamd adds its secondary IPs to the pod IP pool and may give an egress IP to a pod or release it`,
    {
      code: 'ManagedInterface',
      fix: `give each gateway node a second ENI tagged ${NO_MANAGE_TAG}=true and select it with the chart's cloud.interface.tag and agent.egressInterface (docs/quickstart-eks.md §2); or keep egress IPs on the primary ENI anyway with cloud.interface.index=0`,
    },
  );
}
