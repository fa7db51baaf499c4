/**
 * @module
 * The in-memory provider: the contract carried out on an {@link InMemoryCloud}, through the provider engine
 * like every cloud. Used by unit tests of the controller, by the benchmarks, and as the reference driver of the
 * conformance suite.
 *
 * Per interface, a write validates the whole batch first and then applies it in one call, so a batch that
 * would break a rule leaves nothing partial, as a cloud's single API call would:
 *
 * | edit                                      | outcome                                  |
 * |-------------------------------------------|------------------------------------------|
 * | remove: not on the interface              | ok, no call                              |
 * | remove: primary, or another tool's IP     | terminal                                 |
 * | remove: ours                              | removed                                  |
 * | add: outside the interface's subnet       | terminal                                 |
 * | add: an address the cloud keeps (subnet's | terminal                                 |
 * | first four and last, as on AWS)           |                                          |
 * | add: here already (ours)                  | ok, no call                              |
 * | add: primary or another tool's, anywhere  | terminal                                 |
 * | add: ours on another interface            | moved here in the same call (atomic)     |
 * | add/allocate past the interface limit     | capacity for every add and allocate      |
 *
 * A write decides on the cloud's real state; `describe` and `list` read through {@link InMemoryCloud.read}, so
 * they answer stale while the cloud tells stale reads (cloud.ts).
 */

import { cidrContains } from '../../src/net/ip.ts';
import type { CloudProvider, NodeNetwork, NodeRef, ProviderSettings } from '../../src/provider/contract.ts';
import { ProviderError } from '../../src/provider/contract.ts';
import { createEngineProvider } from '../../src/provider/engine.ts';
import type { BatchResult, Edit, InterfaceDriver } from '../../src/provider/interface-driver.ts';
import { DEFAULT_RETRY } from '../../src/provider/retry.ts';
import type { InMemoryCloud, InMemoryInstance, InMemoryIp } from './cloud.ts';
import { inmemoryProvider } from './descriptor.ts';

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

/** The driver of the in-memory cloud (interface-driver.ts). */
export function inMemoryDriver(
  cloud: InMemoryCloud,
  settings: ProviderSettings,
): InterfaceDriver<InMemoryInstance> {
  const owner = settings.owner;
  const owned = (secondary: ReadonlyMap<string, InMemoryIp>): string[] =>
    [...secondary.values()].filter((s) => s.owner === owner).map((s) => s.ip);

  const instanceOf = (node: NodeRef): InMemoryInstance => {
    const inst = cloud.instances.get(instanceName(node));
    if (!inst)
      throw new ProviderError('notFound', `node ${node.name}: instance ${instanceName(node)} not found`);
    return inst;
  };

  const removes = (inst: InMemoryInstance, edits: readonly Edit[]): BatchResult & { write?: () => void } => {
    const failed = new Map<Edit, ProviderError>();
    const gone: string[] = [];
    for (const edit of edits) {
      if (edit.kind !== 'remove') continue;
      const held = inst.secondary.get(edit.ip);
      if (inst.primaryIP === edit.ip || (held && held.owner !== owner)) {
        failed.set(
          edit,
          new ProviderError(
            'terminal',
            `${edit.ip} on ${inst.interfaceId} is not owned by cloud-egress; not released`,
          ),
        );
      } else if (held) gone.push(edit.ip);
    }
    return gone.length > 0
      ? {
          failed,
          write: () => {
            for (const ip of gone) inst.secondary.delete(ip);
          },
        }
      : { failed };
  };

  const adds = (inst: InMemoryInstance, edits: readonly Edit[]): BatchResult & { write?: () => void } => {
    const failed = new Map<Edit, ProviderError>();
    const allocated = new Map<Edit, readonly string[]>();
    const accepted: Edit[] = [];
    const moving = new Map<string, InMemoryInstance | undefined>();
    let count = 0;
    for (const edit of edits) {
      if (edit.kind === 'allocate') {
        accepted.push(edit);
        count += edit.count;
        continue;
      }
      if (edit.kind !== 'add') continue;
      if (!cidrContains(inst.subnet, edit.ip)) {
        failed.set(
          edit,
          new ProviderError(
            'terminal',
            `${edit.ip} is outside subnet ${inst.subnet} of ${inst.interfaceId} (node ${inst.name})`,
          ),
        );
        continue;
      }
      if (cloud.reserved(inst.subnet, edit.ip)) {
        failed.set(
          edit,
          new ProviderError('terminal', `${edit.ip} is reserved by the cloud in subnet ${inst.subnet}`, {
            code: 'InvalidParameterValue',
          }),
        );
        continue;
      }
      const holder = cloud.holderOf(edit.ip);
      if (holder === inst) {
        if (holder.secondary.get(edit.ip)?.owner !== owner) {
          failed.set(
            edit,
            new ProviderError(
              'terminal',
              `${edit.ip} is on ${inst.interfaceId} but not owned by cloud-egress; not adopted`,
              { heldBy: inst.interfaceId },
            ),
          );
        } else if (
          edit.publicAddress &&
          holder.secondary.get(edit.ip)?.publicAddress !== edit.publicAddress
        ) {
          accepted.push(edit);
          moving.set(edit.ip, undefined);
        }
        continue;
      }
      if (holder && (holder.primaryIP === edit.ip || holder.secondary.get(edit.ip)?.owner !== owner)) {
        failed.set(
          edit,
          new ProviderError(
            'terminal',
            `${edit.ip} is in use by ${holder.interfaceId} and not owned by cloud-egress`,
            { heldBy: holder.interfaceId },
          ),
        );
        continue;
      }
      accepted.push(edit);
      if (!moving.has(edit.ip)) count++;
      moving.set(edit.ip, holder);
    }
    if (1 + inst.secondary.size + count > inst.limit) {
      const error = new ProviderError(
        'capacity',
        `${inst.interfaceId} (node ${inst.name}) can hold ${inst.limit} IPs; it has ${1 + inst.secondary.size} and ${count} more were asked`,
        { code: 'PrivateIpAddressLimitExceeded' },
      );
      for (const edit of accepted) failed.set(edit, error);
      return { failed };
    }
    if (accepted.length === 0) return { failed };
    // The cloud picks the allocated IPs now (its answer names them); the write puts them on the interface.
    const picked = new Set<string>();
    for (const edit of accepted) {
      if (edit.kind !== 'allocate') continue;
      const ips = cloud.freeIPs(inst.subnet, edit.count, picked);
      for (const ip of ips) picked.add(ip);
      allocated.set(edit, ips);
    }
    // Applied on the state at the time it lands (a late write lands after other writes): an IP moves from
    // wherever it is then, if it is still ours; an allocated IP another interface took meanwhile is skipped.
    const write = () => {
      for (const edit of accepted) {
        if (edit.kind === 'add') {
          const holder = cloud.holderOf(edit.ip);
          if (holder && holder !== inst) {
            if (holder.primaryIP === edit.ip || holder.secondary.get(edit.ip)?.owner !== owner) continue;
            holder.secondary.delete(edit.ip);
          }
          inst.secondary.set(edit.ip, {
            ip: edit.ip,
            owner,
            ...(edit.publicAddress ? { publicAddress: edit.publicAddress } : {}),
          });
        } else if (edit.kind === 'allocate') {
          for (const ip of allocated.get(edit) ?? []) {
            if (!cloud.holderOf(ip)) inst.secondary.set(ip, { ip, owner });
          }
        }
      }
    };
    return { failed, allocated, write };
  };

  return {
    resolve: async (node) => instanceOf(node),
    key: (inst) => inst.interfaceId,
    write: (target, edits) => async () => {
      // Read the interface afresh (the instance may be gone), decide, then one call.
      const inst = cloud.instances.get(target.name);
      if (!inst) throw new ProviderError('notFound', `instance ${target.name} not found`);
      const decision = edits.every((e) => e.kind === 'remove') ? removes(inst, edits) : adds(inst, edits);
      if (decision.write) await cloud.write(inst.interfaceId, decision.write);
      return decision;
    },
    describe: async ({ node }) => {
      const inst = instanceOf(node);
      const secondary = cloud.read(inst);
      const mine = owned(secondary);
      const network: NodeNetwork = {
        node: node.name,
        interfaceId: inst.interfaceId,
        zone: inst.zone,
        subnets: [inst.subnet],
        reservedIPs: [inst.primaryIP, ...[...secondary.keys()].filter((ip) => !mine.includes(ip))],
        ownedIPs: mine.sort(),
        freeSlots: Math.max(0, inst.limit - 1 - secondary.size),
      };
      return network;
    },
    list: async (group) =>
      group.map(({ node, target }) => {
        const inst = cloud.instances.get(target.name);
        if (!inst) return undefined;
        return [...cloud.read(inst).values()]
          .filter((s) => s.owner === owner)
          .sort((x, y) => (x.ip < y.ip ? -1 : x.ip > y.ip ? 1 : 0))
          .map((s) => ({
            ip: s.ip,
            node: node.name,
            interfaceId: inst.interfaceId,
            ...(s.publicAddress ? { publicAddress: s.publicAddress } : {}),
          }));
      }),
    classify: (err, doing) =>
      err instanceof ProviderError
        ? err
        : new ProviderError('terminal', `${doing}: ${String(err)}`, { cause: err }),
  };
}

/** Creates a provider over `cloud`. */
export function createInMemoryProviderFor(cloud: InMemoryCloud, settings: ProviderSettings): CloudProvider {
  return createEngineProvider(inMemoryDriver(cloud, settings), {
    name: inmemoryProvider.name,
    capabilities: inmemoryProvider.capabilities,
    retry: { ...DEFAULT_RETRY, retries: 2, baseDelayMs: 1 },
  });
}
