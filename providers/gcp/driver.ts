/**
 * @module
 * The GCP provider's {@link InterfaceDriver}: what the engine (src/provider/engine.ts) needs to know about one
 * GCE network interface. The engine groups, orders, locks, retries and maps outcomes; this file reads and
 * writes one NIC.
 *
 * One write attempt (the engine runs it again after `conflict`, `throttled` or `transient`):
 *
 * ```
 * readNic (aliasIpRanges + fingerprint) ─► [readSubnet, once per batch, when it adds or allocates]
 *   ─► planEdits (pure, nic-plan.ts): the whole new aliasIpRanges, and the edits that cannot succeed
 *   ─► nothing to write? done
 *   ─► updateNetworkInterface with the fingerprint and a requestId ─► wait until the operation is DONE
 *        412 conditionNotMet (another writer) ─► conflict: the engine re-reads and decides again
 *        an operation error ─► its kind (errors.ts); a refusal quoting '<ip>/32' or '<ip>' blames that add
 *          (CONDITION_NOT_MET: another write on the NIC was DONE first ─► conflict, decide again)
 *   ─► allocations? readNic again: the addresses GCP picked are the new owned /32s
 * ```
 *
 * A write decided on is sent again as it is, with the same requestId, until GCP has answered it for good (its
 * operation DONE, or a 412): after a lost answer, a wait that ended before DONE or a 5xx, GCP ignores the
 * repeat of a request it received and answers its operation (REST reference, `requestId`), so the write lands
 * once. Deciding afresh instead would write the allocations again and take twice the addresses. Sending the
 * same request again is safe in every case: its fingerprint lets it apply only to the NIC it was decided on.
 * Once a write is DONE, a later attempt (after the read-back failed) only reads the NIC again.
 *
 * `preflight` (preflight.ts) tests the permissions a failover needs on the nodes' instances and subnetworks.
 *
 * `resolve` makes no call: the interface is named by the providerID and the NIC name, so a gone instance
 * shows as `notFound` in the attempt's read (the engine counts a remove there as done, an add as failed).
 *
 * An instance that is not RUNNING (Instance.status) takes no new IP, and `describe` says so (`capacity`,
 * `instanceNotRunning`): the scheduler places its IPs elsewhere. Its aliases are still listed and removed, since
 * a stopped or suspended VM keeps them; while it is STOPPING or SUSPENDING, GCP answers a write with 400
 * `resourceNotReady`, which the engine retries.
 */
import { randomUUID } from 'node:crypto';
import type { CloudAssignment, NodeNetwork, NodeRef, ProviderError } from '../../src/provider/contract.ts';
import { isProviderError } from '../../src/provider/contract.ts';
import type { BatchResult, Edit, InterfaceDriver } from '../../src/provider/interface-driver.ts';
import type { GceAliasRange, GceNic, GceOperation, GceSubnetwork } from './client.ts';
import { blameAlias, classifyGcpError } from './errors.ts';
import type { NicIo, NicTarget } from './nic-io.ts';
import {
  allocatedIPs,
  egressRangeCidr,
  egressRangeName,
  MAX_ALIAS_RANGES,
  notRunning,
  ownedIPs,
  planEdits,
  reservedIPs,
} from './nic-plan.ts';
import { gcpPreflight } from './preflight.ts';
import { instanceOf } from './provider-id.ts';

/** What the driver needs of the settings. */
export interface GcpDriverSettings {
  /** Owner of the installation: the egress range is `cloud-egress-<owner>`. */
  readonly owner: string;
  /** NIC name (`nic1`) or index (`1`); default `nic0`. */
  readonly interface?: string;
}

/** A write decided on and not yet DONE: sent again as it is (same requestId) until GCP has answered it. */
interface Planned {
  /** The NIC it was decided on (its fingerprint guards the write). */
  readonly before: GceNic;
  readonly aliasIpRanges: readonly GceAliasRange[];
  readonly failed: ReadonlyMap<Edit, ProviderError>;
  readonly requestId: string;
}

/** The reason of the HTTP 412 that refuses a stale fingerprint (errors.ts keeps it as the error's code). */
const STALE_FINGERPRINT = 'conditionNotMet';

/** A write that is DONE: what the NIC was before it and which edits failed. */
interface Written {
  readonly before: GceNic;
  readonly failed: ReadonlyMap<Edit, ProviderError>;
  readonly wrote: boolean;
}

/** The GCP driver over one NIC's I/O; see the module diagram. */
export function gcpDriver(io: NicIo, settings: GcpDriverSettings): InterfaceDriver<NicTarget> {
  // `settings.interface` is a NIC name (`nic1`); a bare index (`1`) means the same NIC.
  const nicName = settings.interface ? settings.interface.replace(/^(\d+)$/, 'nic$1') : 'nic0';
  const rangeName = egressRangeName(settings.owner);

  return {
    async resolve(node: NodeRef): Promise<NicTarget> {
      const key = instanceOf(node);
      const id = `projects/${key.project}/zones/${key.zone}/instances/${key.instance}#${nicName}`;
      return { ...key, nic: nicName, id, node: node.name };
    },

    key: (target) => target.id,

    write(target, edits, signal) {
      const adding = edits.some((e) => e.kind !== 'remove');
      const allocating = edits.some((e) => e.kind === 'allocate');
      let subnet: GceSubnetwork | undefined;
      let planned: Planned | undefined;
      let written: Written | undefined;

      /** Sends the planned write (again, with its requestId) and waits until DONE; see the module comment. */
      const carryOut = async (plan: Planned): Promise<void> => {
        let op: GceOperation;
        try {
          op = await io.sendAliases(target, plan.before, plan.aliasIpRanges, plan.requestId, signal);
        } catch (err) {
          // 412: the fingerprint is stale, so this request never applied and never will: decide afresh.
          if (isProviderError(err) && err.code === STALE_FINGERPRINT) planned = undefined;
          throw err;
        }
        const done = await io.waitDone(target, op, signal);
        planned = undefined;
        if (done.errors.length) throw io.operationFailure(target, done);
      };

      return async (): Promise<BatchResult> => {
        if (!written && !planned) {
          const { nic, status } = await io.readNic(target, signal);
          if (adding) subnet ??= await io.readSubnet(nic, signal);
          const decision = planEdits({ nic, node: target.node, rangeName, status }, edits, subnet);
          if (decision.aliasIpRanges) {
            planned = {
              before: nic,
              aliasIpRanges: decision.aliasIpRanges,
              failed: decision.failed,
              requestId: randomUUID(),
            };
          } else written = { before: nic, failed: decision.failed, wrote: false };
        }
        if (!written && planned) {
          const plan = planned;
          await carryOut(plan);
          written = { before: plan.before, failed: plan.failed, wrote: true };
        }
        if (!written) throw new Error('gcp driver: a write attempt ended with nothing planned or written');
        if (!allocating || !written.wrote) return { failed: written.failed };
        const { nic: after } = await io.readNic(target, signal);
        return {
          failed: written.failed,
          allocated: allocatedIPs(written.before, after, rangeName, edits, written.failed),
        };
      };
    },

    async describe({ node, target }, signal) {
      const { nic, status } = await io.readNic(target, signal);
      const stopped = notRunning(node.name, status);
      if (stopped) throw stopped;
      const subnet = await io.readSubnet(nic, signal);
      const egress = egressRangeCidr(subnet, rangeName);
      const network: NodeNetwork = {
        node: node.name,
        interfaceId: target.id,
        zone: target.zone,
        subnets: egress ? [egress] : [],
        reservedIPs: reservedIPs(nic, rangeName),
        ownedIPs: ownedIPs(nic, rangeName),
        freeSlots: Math.max(0, MAX_ALIAS_RANGES - nic.aliasIpRanges.length),
      };
      return network;
    },

    list: (group, signal) =>
      Promise.all(
        group.map(async ({ node, target }) => {
          try {
            const { nic } = await io.readNic(target, signal);
            return ownedIPs(nic, rangeName).map(
              (ip): CloudAssignment => ({ ip, node: node.name, interfaceId: target.id }),
            );
          } catch (err) {
            // A gone instance or NIC holds nothing: the engine skips it.
            if (isProviderError(err, 'notFound')) return undefined;
            throw err;
          }
        }),
      ),

    classify: classifyGcpError,
    blame: blameAlias,
    preflight: (nodes, signal) => gcpPreflight(io, nodes, signal),
  };
}
