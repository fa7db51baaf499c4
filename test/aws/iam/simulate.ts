/**
 * @module
 * Evaluates IAM requests against an identity policy with the IAM simulator `@cloud-copilot/iam-simulate`, which
 * also validates each request: an action, resource ARN or context key that the Service Authorization Reference
 * does not define for it is an error here, not a silent deny.
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { PolicyDocument } from './doc-policies.ts';
import type { IamRequest } from './ec2-authorization.ts';

/** The simulator's verdict of one request. */
export interface Verdict {
  readonly request: IamRequest;
  readonly allowed: boolean;
  /** 'Allowed', 'ImplicitlyDenied' or 'ExplicitlyDenied'. */
  readonly result: string;
}

/** Thrown when the simulator rejects a request as malformed (unknown action, ARN or key). */
export class SimulationInputError extends Error {
  override readonly name = 'SimulationInputError';
}

/** The verdict of each request under `policy`, for the role `principal` of `account`. */
export async function simulate(
  policy: PolicyDocument,
  requests: readonly IamRequest[],
  principal: string,
  account: string,
): Promise<Verdict[]> {
  const out: Verdict[] = [];
  for (const request of requests) {
    const response = await runSimulation(
      {
        identityPolicies: [{ name: 'cloud-egress-controller', policy: policy as never }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        request: {
          action: request.action,
          principal,
          resource: { resource: request.resource, accountId: account },
          contextVariables: request.context as Record<string, string | string[]>,
        },
      },
      {},
    );
    if (response.resultType === 'error') {
      throw new SimulationInputError(`${request.label}: ${JSON.stringify(response.errors)}`);
    }
    out.push({ request, allowed: response.overallResult === 'Allowed', result: response.overallResult });
  }
  return out;
}
