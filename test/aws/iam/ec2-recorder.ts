/**
 * @module
 * Records every EC2 request a client sends, as an AWS SDK plugin on its middleware stack
 * (`AwsTuning.plugins`): the operation's name and its input, before the request is signed. Failed requests are
 * recorded too (a request EC2 refuses is still one IAM must allow).
 */
import type { Ec2Plugin } from '../../../providers/aws/index.ts';

/**
 * One request: the installation (`cloud.owner`) whose client sent it, the EC2 operation
 * (`AssignPrivateIpAddresses`) and the input it was sent with.
 */
export interface RecordedRequest {
  readonly owner: string;
  readonly operation: string;
  readonly input: Readonly<Record<string, unknown>>;
}

/** A recorder: the plugins for an installation's clients and what they have recorded so far. */
export interface Ec2Recorder {
  /** For `AwsTuning.plugins` of the provider of installation `owner`. */
  plugins(owner: string): Ec2Plugin[];
  readonly requests: readonly RecordedRequest[];
}

/** A new, empty recorder. */
export function ec2Recorder(): Ec2Recorder {
  const requests: RecordedRequest[] = [];
  const plugin = (owner: string): Ec2Plugin => ({
    applyToStack: (stack) => {
      stack.add(
        (next, context) => async (args) => {
          const operation = String(context.commandName ?? '').replace(/Command$/, '');
          requests.push({ owner, operation, input: structuredClone(args.input as Record<string, unknown>) });
          return next(args);
        },
        { step: 'initialize', name: 'cloudEgressRecordRequest' },
      );
    },
  });
  return { plugins: (owner) => [plugin(owner)], requests };
}
