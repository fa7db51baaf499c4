/**
 * @module
 * The quick start's `aws` commands that the CLI test does not run against LocalStack, each with its reason and
 * LocalStack's own answer as evidence: the test sends each one and checks that LocalStack still refuses it
 * that way, so an entry that LocalStack starts serving fails the test (then move it to the commands run).
 */

/** Why a command is not run. */
export interface NotRun {
  readonly reason: string;
  /** What the CLI prints (stderr) when LocalStack refuses the command. */
  readonly evidence: RegExp;
}

const notEmulated = (service: string): NotRun => ({
  reason:
    `LocalStack 4.14.0 community has no ${service.toUpperCase()} provider (it is in the paid tiers); ` +
    'the test starts it with the service enabled and LocalStack answers 501',
  evidence: new RegExp(
    `\\(InternalFailure\\).*The API for service ${service} is either not included in your current license ` +
      'plan or has not yet been emulated by LocalStack',
  ),
});

const EKS = notEmulated('eks');
const ECR = notEmulated('ecr');

/** By `service operation`. */
export const NOT_RUN: Readonly<Record<string, NotRun>> = {
  'sts get-caller-identity': {
    reason:
      "LocalStack 4.14.0's STS provider imports localstack/services/stores.py, which uses Python 3.12 syntax " +
      '(`class RegionBundle[BaseStoreType](dict)`, PEP 695) although the package says Python >= 3.10; the ' +
      'venv localstack.sh builds runs Python 3.11, so every STS call answers 500. The test uses the account ' +
      'LocalStack would answer (000000000000)',
    evidence: /\(InternalError\).*GetCallerIdentity.*invalid syntax \(stores\.py, line 193\)/,
  },
  'eks describe-cluster': EKS,
  'eks list-nodegroups': EKS,
  'eks describe-nodegroup': EKS,
  'eks create-nodegroup': EKS,
  'eks wait nodegroup-active': EKS,
  'eks create-addon': EKS,
  'eks create-pod-identity-association': EKS,
  'eks list-pod-identity-associations': EKS,
  'eks delete-pod-identity-association': EKS,
  'ecr create-repository': ECR,
  'ecr get-login-password': ECR,
};
