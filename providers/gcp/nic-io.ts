/**
 * @module
 * The I/O of one GCE network interface over the {@link ComputeApi}, each call once (the engine retries):
 *
 * ```
 * readNic        instances.get ─► the NIC named in the target and the instance's status (notFound when the
 *                instance has no such NIC)
 * readSubnet     subnetworks.get of the NIC's subnetwork (it may be in another project: Shared VPC)
 * sendAliases    updateNetworkInterface {fingerprint, aliasIpRanges} with a requestId ─► the operation
 *                (the same requestId again answers the first request's operation: GCP ignores a repeat)
 * waitDone       zoneOperations.wait until DONE (wait may return before DONE: wait again after a pause,
 *                until a deadline, then `transient`) ─► the DONE operation; its error, if any, as a
 *                classified ProviderError through operationFailure
 * instancePermissions, subnetworkPermissions
 *                testIamPermissions on the instance / the subnetwork ─► the permissions held there
 * ```
 */
import { ProviderError } from '../../src/provider/contract.ts';
import type {
  ComputeApi,
  GceAliasRange,
  GceNic,
  GceOperation,
  GceSubnetwork,
  InstanceKey,
} from './client.ts';
import { classifyGcpError, operationError } from './errors.ts';
import { parseSubnetworkUrl } from './provider-id.ts';

/** One network interface of one instance, as the engine holds it between calls. */
export interface NicTarget extends InstanceKey {
  /** The NIC's name (`nic0`). */
  readonly nic: string;
  /** `projects/<p>/zones/<z>/instances/<i>#<nic>`: the interface ID the provider reports. */
  readonly id: string;
  /** The Kubernetes Node, for messages. */
  readonly node: string;
}

/** A NIC as read, with the status of its instance (`RUNNING`, `TERMINATED`, ...). */
export interface NicRead {
  readonly nic: GceNic;
  readonly status: string;
}

/** Timing of {@link NicIo.waitDone}. */
export interface OperationWait {
  /** Pause after a `wait` that returned before DONE, in ms. */
  readonly pollIntervalMs: number;
  /** Give up waiting for one operation after this many ms (`transient`). */
  readonly operationTimeoutMs: number;
}

/** The calls about one NIC; see the module diagram. */
export interface NicIo {
  /** The NIC as `instances.get` reports it. @throws ProviderError `notFound` when the instance or NIC is gone. */
  readNic(target: NicTarget, signal?: AbortSignal): Promise<NicRead>;
  /** The NIC's subnetwork. */
  readSubnet(nic: GceNic, signal?: AbortSignal): Promise<GceSubnetwork>;
  /**
   * Sends the NIC's whole `aliasIpRanges` with the fingerprint `nic` was read with, under `requestId` (a UUID):
   * sent again with the same `requestId`, GCP answers the first request's operation instead of a second write.
   * @returns the operation, possibly still running.
   */
  sendAliases(
    target: NicTarget,
    nic: GceNic,
    aliasIpRanges: readonly GceAliasRange[],
    requestId: string,
    signal?: AbortSignal,
  ): Promise<GceOperation>;
  /**
   * Waits until `op` is DONE and returns it, its errors untouched.
   * @throws ProviderError `transient` when it is not DONE by the deadline (it may still finish).
   */
  waitDone(target: NicTarget, op: GceOperation, signal?: AbortSignal): Promise<GceOperation>;
  /** The error of an operation that ended DONE with `error.errors[]`, classified (errors.ts). */
  operationFailure(target: NicTarget, op: GceOperation): ProviderError;
  /** Which of `permissions` the caller holds on the target's instance (`testIamPermissions`). */
  instancePermissions(
    target: NicTarget,
    permissions: readonly string[],
    signal?: AbortSignal,
  ): Promise<string[]>;
  /** Which of `permissions` the caller holds on the subnetwork at `url` (`testIamPermissions`). */
  subnetworkPermissions(url: string, permissions: readonly string[], signal?: AbortSignal): Promise<string[]>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const instancePath = (t: InstanceKey) => `${t.project}/${t.zone}/${t.instance}`;

/** Runs one call; what it throws becomes a classified error that says what was being done. */
async function call<T>(doing: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw classifyGcpError(err, doing);
  }
}

const writing = (t: NicTarget) => `updating alias IP ranges of ${instancePath(t)} ${t.nic} (node ${t.node})`;

/** The {@link NicIo} over `api`. */
export function createNicIo(api: ComputeApi, wait: OperationWait): NicIo {
  const waitDone = async (key: NicTarget, first: GceOperation, signal?: AbortSignal) => {
    const doing = writing(key);
    const deadline = Date.now() + wait.operationTimeoutMs;
    let op = first;
    while (op.status !== 'DONE') {
      if (Date.now() > deadline) {
        throw new ProviderError(
          'transient',
          `${doing}: operation ${op.name} not DONE after ${wait.operationTimeoutMs} ms`,
        );
      }
      const name = op.name;
      op = await call(`${doing}: waiting for operation ${name}`, () =>
        api.waitOperation(key.project, key.zone, name, signal),
      );
      if (op.status !== 'DONE') await sleep(wait.pollIntervalMs);
    }
    return op;
  };

  return {
    async readNic(target, signal) {
      const inst = await call(`reading instance ${instancePath(target)} (node ${target.node})`, () =>
        api.getInstance(target, signal),
      );
      const nic = inst.networkInterfaces.find((n) => n.name === target.nic);
      if (!nic) {
        throw new ProviderError(
          'notFound',
          `node ${target.node}: instance ${instancePath(target)} has no network interface ${target.nic}`,
        );
      }
      return { nic, status: inst.status };
    },

    readSubnet(nic, signal) {
      const { project, region, name } = parseSubnetworkUrl(nic.subnetwork);
      return call(`reading subnetwork ${project}/${region}/${name}`, () =>
        api.getSubnetwork(project, region, name, signal),
      );
    },

    sendAliases(target, nic, aliasIpRanges, requestId, signal) {
      const update = { fingerprint: nic.fingerprint, aliasIpRanges, requestId };
      return call(writing(target), () => api.updateAliasRanges(target, target.nic, update, signal));
    },

    waitDone,

    operationFailure: (target, op) => operationError(op.errors, writing(target)),

    instancePermissions: (target, permissions, signal) =>
      call(`testing permissions on instance ${instancePath(target)} (node ${target.node})`, () =>
        api.testInstancePermissions(target, permissions, signal),
      ),

    subnetworkPermissions(url, permissions, signal) {
      const { project, region, name } = parseSubnetworkUrl(url);
      return call(`testing permissions on subnetwork ${project}/${region}/${name}`, () =>
        api.testSubnetworkPermissions(project, region, name, permissions, signal),
      );
    },
  };
}
