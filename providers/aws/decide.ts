/**
 * @module
 * Pure decisions for one ENI: which changes of a plan are no-ops, which are refused, and what the EC2
 * calls must carry. The provider reads the ENI (and the current holders of the IPs it is asked to take),
 * calls these, then makes the calls.
 *
 * Assign `ip` to ENI T (IPv4 via AssignPrivateIpAddresses with AllowReassignment; IPv6 release then assign):
 *
 * | where `ip` is now                          | decision                                        |
 * |--------------------------------------------|-------------------------------------------------|
 * | outside every subnet CIDR of T             | terminal (no call)                              |
 * | on T, owned by us                          | ok, no call (idempotent)                        |
 * | on T, primary or not owned by us           | terminal: never adopt another tool's IP         |
 * | on ENI H != T, primary of H                | terminal                                        |
 * | on ENI H != T, secondary, not owned by us  | terminal: never steal                           |
 * | on ENI H != T, owned by us                 | move: assign to T (the claim stays valid)       |
 * | nowhere                                    | add: claim in the subnet, then assign to T      |
 * | T would exceed its per-ENI limit           | capacity for every add/move/allocate on T       |
 *
 * Release `ip` from ENI T:
 *
 * | where `ip` is now                          | decision                                        |
 * |--------------------------------------------|-------------------------------------------------|
 * | not on T                                   | ok, no call (idempotent)                        |
 * | on T, primary or not owned by us           | terminal                                        |
 * | on T, owned by us                          | unassign, then drop the claim                   |
 */
import { cidrContains, familyOf } from '../../src/net/ip.ts';
import { ProviderError } from '../../src/provider/contract.ts';
import { type Claims, type EniView, holds, owns } from './eni.ts';

/** An assign or allocate change reduced to what the decision needs. */
export type AssignRequest =
  | { readonly kind: 'assign'; readonly ip: string }
  | { readonly kind: 'allocate'; readonly count: number };

/** The per-ENI limits from `DescribeInstanceTypes`. */
export interface EniLimits {
  /** IPv4 addresses per interface, the primary included. */
  readonly ipv4: number;
  /** IPv6 addresses per interface. */
  readonly ipv6: number;
}

/** What one ENI's assign step must do. */
export interface AssignDecision {
  /** Per request index: undefined = accepted (or no-op), else why it fails. */
  readonly failures: ReadonlyMap<number, ProviderError>;
  /** Request indexes that need no call. */
  readonly noops: ReadonlySet<number>;
  /** IPv4 addresses to assign (new or moving here). */
  readonly ipv4: readonly string[];
  /** IPv6 addresses to assign. */
  readonly ipv6: readonly string[];
  /** For each other ENI holding owned IPs that move here: the IPs. */
  readonly movesFrom: ReadonlyMap<string, readonly string[]>;
  /** Secondary IPv4 addresses to let EC2 pick. */
  readonly allocate: number;
}

/**
 * Decides an ENI's assign step.
 * @param holders for each requested IP not on `eni`, the other ENI that holds it (if any)
 */
export function decideAssigns(
  eni: EniView,
  subnets: readonly string[],
  limits: EniLimits,
  claims: Claims,
  requests: readonly AssignRequest[],
  holders: ReadonlyMap<string, EniView>,
): AssignDecision {
  const failures = new Map<number, ProviderError>();
  const noops = new Set<number>();
  const ipv4: string[] = [];
  const ipv6: string[] = [];
  const movesFrom = new Map<string, string[]>();
  const accepted: number[] = [];
  let allocate = 0;

  requests.forEach((req, i) => {
    if (req.kind === 'allocate') {
      allocate += req.count;
      accepted.push(i);
      return;
    }
    const { ip } = req;
    if (!subnets.some((cidr) => cidrContains(cidr, ip))) {
      failures.set(
        i,
        new ProviderError('terminal', `${ip} is outside the subnets ${subnets.join(', ')} of ${eni.id}`, {
          code: 'InvalidParameterValue',
        }),
      );
      return;
    }
    if (holds(eni, ip)) {
      if (owns(eni, ip, claims)) noops.add(i);
      else
        failures.set(
          i,
          new ProviderError('terminal', `${ip} is on ${eni.id} but not owned by cloud-egress; not adopted`, {
            heldBy: eni.id,
          }),
        );
      return;
    }
    const holder = holders.get(ip);
    if (holder && !owns(holder, ip, claims)) {
      failures.set(
        i,
        new ProviderError('terminal', `${ip} is in use by ${holder.id} and not owned by cloud-egress`, {
          code: 'InvalidIPAddress.InUse',
          heldBy: holder.id,
        }),
      );
      return;
    }
    if (holder) movesFrom.set(holder.id, [...(movesFrom.get(holder.id) ?? []), ip]);
    if (ipv4.includes(ip) || ipv6.includes(ip)) {
      noops.add(i);
      return;
    }
    (familyOf(ip) === 4 ? ipv4 : ipv6).push(ip);
    accepted.push(i);
  });

  const v4After = eni.ipv4.length + ipv4.length + allocate;
  const v6After = eni.ipv6.length + ipv6.length;
  if (v4After > limits.ipv4 || v6After > limits.ipv6) {
    const error = new ProviderError(
      'capacity',
      `${eni.id} can hold ${limits.ipv4} IPv4 / ${limits.ipv6} IPv6 addresses; it has ${eni.ipv4.length} / ${eni.ipv6.length} and ${ipv4.length + allocate} / ${ipv6.length} more were asked`,
      { code: 'PrivateIpAddressLimitExceeded' },
    );
    for (const i of accepted) failures.set(i, error);
    return { failures, noops, ipv4: [], ipv6: [], movesFrom: new Map(), allocate: 0 };
  }
  return { failures, noops, ipv4, ipv6, movesFrom, allocate };
}

/** What one ENI's release step must do. */
export interface ReleaseDecision {
  readonly failures: ReadonlyMap<number, ProviderError>;
  readonly ipv4: readonly string[];
  readonly ipv6: readonly string[];
}

/** Decides an ENI's release step. */
export function decideReleases(eni: EniView, claims: Claims, ips: readonly string[]): ReleaseDecision {
  const failures = new Map<number, ProviderError>();
  const ipv4: string[] = [];
  const ipv6: string[] = [];
  ips.forEach((ip, i) => {
    if (!holds(eni, ip)) return;
    if (!owns(eni, ip, claims)) {
      failures.set(
        i,
        new ProviderError(
          'terminal',
          `${ip} on ${eni.id} is ${ip === eni.primary ? 'its primary IP' : 'not owned by cloud-egress'}; not released`,
        ),
      );
      return;
    }
    const list = familyOf(ip) === 4 ? ipv4 : ipv6;
    if (!list.includes(ip)) list.push(ip);
  });
  return { failures, ipv4, ipv6 };
}
