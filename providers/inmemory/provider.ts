/**
 * @module
 * The in-memory provider: the contract carried out on an {@link InMemoryCloud}. Used by unit tests of
 * the controller, by the benchmarks, and as the reference implementation of the conformance suite.
 *
 * Per interface, `apply` validates the whole batch first and then writes it at once (one "call"), so a
 * batch that would break a rule leaves nothing partial, as a cloud's single API call would.
 */

import { cidrContains } from '../../src/net/ip.ts';
import {
  type ApplyResult,
  type Change,
  type ChangeOutcome,
  type CloudAssignment,
  type CloudProvider,
  type NodeNetwork,
  type NodeRef,
  type Plan,
  ProviderError,
  type ProviderSettings,
} from '../../src/provider/contract.ts';
import type { InMemoryCloud, InMemoryInstance } from './cloud.ts';

/** `inmemory:///<zone>/<name>` → instance name. */
function instanceName(node: NodeRef): string {
  const match = /^inmemory:\/\/\/[^/]+\/(.+)$/.exec(node.providerID);
  if (!match) {
    throw new ProviderError(
      'terminal',
      `node ${node.name}: providerID "${node.providerID}" is not inmemory:///<zone>/<name>`,
    );
  }
  return match[1]!;
}

/** Creates a provider over `cloud`. */
export function createInMemoryProviderFor(cloud: InMemoryCloud, settings: ProviderSettings): CloudProvider {
  const owner = settings.owner;

  const instanceOf = (node: NodeRef): InMemoryInstance => {
    const inst = cloud.instances.get(instanceName(node));
    if (!inst)
      throw new ProviderError('notFound', `node ${node.name}: instance ${instanceName(node)} not found`);
    return inst;
  };

  const owned = (inst: InMemoryInstance): string[] =>
    [...inst.secondary.values()].filter((s) => s.owner === owner).map((s) => s.ip);

  return {
    name: 'inmemory',

    async describeNode(node) {
      const inst = instanceOf(node);
      const mine = owned(inst);
      const network: NodeNetwork = {
        node: node.name,
        interfaceId: inst.interfaceId,
        zone: inst.zone,
        subnets: [inst.subnet],
        reservedIPs: [inst.primaryIP, ...[...inst.secondary.keys()].filter((ip) => !mine.includes(ip))],
        ownedIPs: mine.sort(),
        freeSlots: Math.max(0, inst.limit - 1 - inst.secondary.size),
      };
      return network;
    },

    async listAssignments(nodes) {
      const out: CloudAssignment[] = [];
      for (const node of nodes) {
        const inst = cloud.instances.get(instanceName(node));
        if (!inst) continue;
        for (const ip of owned(inst).sort()) out.push({ ip, node: node.name, interfaceId: inst.interfaceId });
      }
      return out;
    },

    async apply(plan: Plan): Promise<ApplyResult> {
      const outcomes = new Map<Change, ChangeOutcome>();
      const fail = (change: Change, error: ProviderError) =>
        outcomes.set(change, { change, ok: false, error });

      // Releases first (including the release half of moves), then assignments, per interface.
      const releases = new Map<InMemoryInstance, Change[]>();
      const assigns = new Map<InMemoryInstance, Change[]>();
      for (const change of plan.changes) {
        try {
          const inst = instanceOf(change.node);
          const bucket = change.kind === 'release' ? releases : assigns;
          bucket.set(inst, [...(bucket.get(inst) ?? []), change]);
        } catch (err) {
          fail(change, err as ProviderError);
        }
      }

      for (const [inst, changes] of releases) {
        let wrote = false;
        for (const change of changes) {
          if (change.kind !== 'release') continue;
          const held = inst.secondary.get(change.ip);
          if (inst.primaryIP === change.ip || (held && held.owner !== owner)) {
            fail(
              change,
              new ProviderError(
                'terminal',
                `${change.ip} on ${inst.interfaceId} is not owned by cloud-egress; not released`,
              ),
            );
            continue;
          }
          if (held) {
            inst.secondary.delete(change.ip);
            wrote = true;
          }
          outcomes.set(change, { change, ok: true });
        }
        if (wrote) cloud.mutatingCalls++;
      }

      for (const [inst, changes] of assigns) {
        const toAdd: string[] = [];
        const moves: InMemoryInstance[] = [];
        const allocations: { change: Change; ips: string[] }[] = [];
        let error: ProviderError | undefined;
        const accepted: Change[] = [];
        for (const change of changes) {
          if (change.kind === 'allocate') {
            allocations.push({ change, ips: [] });
            accepted.push(change);
            continue;
          }
          if (change.kind !== 'assign') continue;
          if (!cidrContains(inst.subnet, change.ip)) {
            fail(
              change,
              new ProviderError(
                'terminal',
                `${change.ip} is outside subnet ${inst.subnet} of ${inst.interfaceId} (node ${change.node.name})`,
              ),
            );
            continue;
          }
          const holder = cloud.holderOf(change.ip);
          if (holder === inst) {
            outcomes.set(change, { change, ok: true });
            continue;
          }
          if (
            holder &&
            (holder.primaryIP === change.ip || holder.secondary.get(change.ip)?.owner !== owner)
          ) {
            fail(
              change,
              new ProviderError(
                'terminal',
                `${change.ip} is in use by ${holder.interfaceId} and not owned by cloud-egress`,
              ),
            );
            continue;
          }
          if (holder) moves.push(holder);
          toAdd.push(change.ip);
          accepted.push(change);
        }
        const wanted =
          toAdd.length +
          allocations.reduce((n, a) => n + (a.change.kind === 'allocate' ? a.change.count : 0), 0);
        if (1 + inst.secondary.size + wanted > inst.limit) {
          error = new ProviderError(
            'capacity',
            `${inst.interfaceId} (node ${inst.name}) can hold ${inst.limit} IPs; it has ${1 + inst.secondary.size} and ${wanted} more were asked`,
            { code: 'PrivateIpAddressLimitExceeded' },
          );
        }
        if (error) {
          for (const change of accepted) fail(change, error);
          continue;
        }
        if (accepted.length === 0) continue;
        for (const ip of toAdd) {
          for (const holder of moves) holder.secondary.delete(ip);
          inst.secondary.set(ip, { ip, owner });
        }
        for (const allocation of allocations) {
          if (allocation.change.kind !== 'allocate') continue;
          const ips = cloud.freeIPs(inst.subnet, allocation.change.count);
          for (const ip of ips) inst.secondary.set(ip, { ip, owner });
          allocation.ips.push(...ips);
          outcomes.set(allocation.change, { change: allocation.change, ok: true, allocated: ips });
        }
        for (const change of accepted) if (!outcomes.has(change)) outcomes.set(change, { change, ok: true });
        cloud.mutatingCalls++;
      }

      return { outcomes: plan.changes.map((c) => outcomes.get(c)!) };
    },
  };
}
