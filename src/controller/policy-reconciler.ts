/**
 * @module
 * The policy reconciler: only for policies whose gateway does not exist (every other policy is served by its
 * gateway's reconcile, which sees all of the gateway's policies at once).
 *
 * | gateway   | policy    | action                                                                   |
 * |-----------|-----------|--------------------------------------------------------------------------|
 * | exists    | any       | hand over: queue the gateway                                              |
 * | missing   | live      | Accepted=False GatewayNotFound, no assignments, Warning event            |
 * | missing   | deleting  | remove the finalizer (a deleted gateway released its IPs before it went) |
 */
import { REASON } from '../api/conditions.ts';
import type { AnyEgressPolicy, EgressGateway } from '../api/index.ts';
import { deleting } from '../kube/objects.ts';
import { rejectedPolicyStatus } from './decide-policy-status.ts';
import type { EventRecorder } from './events.ts';
import type { FreshObjects } from './fresh-objects.ts';
import { type ObjectWriter, statusChanged } from './object-writer.ts';

/** What a policy reconcile needs. */
export interface PolicyReconcilerDeps {
  readonly policy: (kind: string, name: string, namespace?: string) => AnyEgressPolicy | undefined;
  readonly gateway: (name: string) => EgressGateway | undefined;
  readonly enqueueGateway: (name: string) => void;
  readonly writer: ObjectWriter;
  readonly events: EventRecorder;
  readonly fresh: FreshObjects;
  readonly now: () => Date;
}

/** Reconciles one policy; see the module table. */
export async function reconcilePolicy(
  deps: PolicyReconcilerDeps,
  ref: { kind: string; name: string; namespace?: string },
): Promise<void> {
  const cached = deps.policy(ref.kind, ref.name, ref.namespace);
  if (!cached) return;
  const policy = deps.fresh.resolve(cached);
  const gatewayName = policy.spec.gatewayName;
  if (deps.gateway(gatewayName)) {
    deps.enqueueGateway(gatewayName);
    return;
  }
  if (deleting(policy)) {
    await deps.writer.removeFinalizer(policy);
    return;
  }
  const message = `EgressGateway "${gatewayName}" does not exist; create it or change spec.gatewayName`;
  const status = rejectedPolicyStatus(policy, { reason: REASON.GatewayNotFound, message }, deps.now());
  if (statusChanged(policy, status)) {
    void deps.events.warning(policy, REASON.GatewayNotFound, message);
    await deps.writer.writeStatus(policy, status);
  }
}
