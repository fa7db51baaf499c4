/**
 * @module
 * Values the chart must refuse, each with the words its error must contain (shared by bad-values.test.ts and
 * install.test.ts).
 */

/** Each bad value and the words the error must contain. */
export const BAD_VALUES: ReadonlyArray<{
  readonly what: string;
  readonly set: Readonly<Record<string, string>>;
  readonly message: readonly string[];
}> = [
  {
    what: 'an unknown provider',
    set: { 'cloud.provider': 'digitalocean' },
    message: ["at '/cloud/provider': value must be one of 'auto', 'aws', 'gcp', 'azure', 'none'"],
  },
  {
    what: 'a negative probe interval (number)',
    set: { 'controller.probe.interval': '-1' },
    message: ["at '/controller/probe/interval'", 'minimum: got -1, want 0'],
  },
  {
    what: 'a negative probe interval (duration)',
    set: { 'controller.probe.interval': '-200ms' },
    message: ["at '/controller/probe/interval': '-200ms' does not match pattern"],
  },
  {
    what: 'an agent restart grace that is not a duration',
    set: { 'controller.probe.agentRestartGrace': 'a while' },
    message: ["at '/controller/probe/agentRestartGrace': 'a while' does not match pattern"],
  },
  {
    what: 'zero allowed misses',
    set: { 'controller.probe.misses': '0' },
    message: ["at '/controller/probe/misses': minimum: got 0, want 1"],
  },
  {
    what: 'a port out of range',
    set: { 'agent.healthPort': '70000' },
    message: ["at '/agent/healthPort': maximum: got 70,000, want 65,535"],
  },
  {
    what: 'a misspelt key',
    set: { 'controler.replicas': '3' },
    message: ["additional properties 'controler' not allowed"],
  },
  {
    what: 'an IAM role that is not an ARN',
    set: { 'identity.aws.roleArn': 'cloud-egress-controller' },
    message: ["at '/identity/aws/roleArn': 'cloud-egress-controller' does not match pattern"],
  },
  {
    what: 'an ownership id GCP cannot use in a range name',
    set: { 'cloud.owner': 'Prod Cluster' },
    message: ["at '/cloud/owner': 'Prod Cluster' does not match pattern"],
  },
  {
    what: 'an egress gateway that is not an IPv4 address',
    set: { 'agent.egressGateway': 'router.local' },
    message: ["at '/agent/egressGateway': 'router.local' does not match pattern"],
  },
];
