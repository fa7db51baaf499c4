/**
 * @module
 * The narrow slice of EC2 the provider uses (external-dns's pattern): tests and the rate limiter wrap this
 * interface, production passes the SDK's `EC2Client` through {@link sdkEc2Api}.
 */
import {
  AssignIpv6AddressesCommand,
  type AssignIpv6AddressesRequest,
  type AssignIpv6AddressesResult,
  AssignPrivateIpAddressesCommand,
  type AssignPrivateIpAddressesRequest,
  type AssignPrivateIpAddressesResult,
  AssociateAddressCommand,
  type AssociateAddressRequest,
  type AssociateAddressResult,
  CreateTagsCommand,
  type CreateTagsRequest,
  DeleteTagsCommand,
  type DeleteTagsRequest,
  DescribeAddressesCommand,
  type DescribeAddressesRequest,
  type DescribeAddressesResult,
  DescribeInstancesCommand,
  type DescribeInstancesRequest,
  type DescribeInstancesResult,
  DescribeInstanceTypesCommand,
  type DescribeInstanceTypesRequest,
  type DescribeInstanceTypesResult,
  DescribeNetworkInterfacesCommand,
  type DescribeNetworkInterfacesRequest,
  type DescribeNetworkInterfacesResult,
  DescribeSubnetsCommand,
  type DescribeSubnetsRequest,
  type DescribeSubnetsResult,
  type EC2Client,
  UnassignIpv6AddressesCommand,
  type UnassignIpv6AddressesRequest,
  type UnassignIpv6AddressesResult,
  UnassignPrivateIpAddressesCommand,
  type UnassignPrivateIpAddressesRequest,
} from '@aws-sdk/client-ec2';
import { toProviderError } from './errors.ts';
import type { BucketName, TokenBucket } from './token-bucket.ts';

/** The EC2 calls the provider makes; each takes an optional abort signal. */
export interface Ec2Api {
  describeInstances(input: DescribeInstancesRequest, signal?: AbortSignal): Promise<DescribeInstancesResult>;
  describeNetworkInterfaces(
    input: DescribeNetworkInterfacesRequest,
    signal?: AbortSignal,
  ): Promise<DescribeNetworkInterfacesResult>;
  describeSubnets(input: DescribeSubnetsRequest, signal?: AbortSignal): Promise<DescribeSubnetsResult>;
  describeInstanceTypes(
    input: DescribeInstanceTypesRequest,
    signal?: AbortSignal,
  ): Promise<DescribeInstanceTypesResult>;
  describeAddresses(input: DescribeAddressesRequest, signal?: AbortSignal): Promise<DescribeAddressesResult>;
  assignPrivateIpAddresses(
    input: AssignPrivateIpAddressesRequest,
    signal?: AbortSignal,
  ): Promise<AssignPrivateIpAddressesResult>;
  unassignPrivateIpAddresses(
    input: UnassignPrivateIpAddressesRequest,
    signal?: AbortSignal,
  ): Promise<unknown>;
  assignIpv6Addresses(
    input: AssignIpv6AddressesRequest,
    signal?: AbortSignal,
  ): Promise<AssignIpv6AddressesResult>;
  unassignIpv6Addresses(
    input: UnassignIpv6AddressesRequest,
    signal?: AbortSignal,
  ): Promise<UnassignIpv6AddressesResult>;
  associateAddress(input: AssociateAddressRequest, signal?: AbortSignal): Promise<AssociateAddressResult>;
  createTags(input: CreateTagsRequest, signal?: AbortSignal): Promise<unknown>;
  deleteTags(input: DeleteTagsRequest, signal?: AbortSignal): Promise<unknown>;
}

/** Which throttling bucket each call draws from. */
export const CALL_BUCKET: Readonly<Record<keyof Ec2Api, BucketName>> = {
  describeInstances: 'describe',
  describeNetworkInterfaces: 'describe',
  describeSubnets: 'describe',
  describeInstanceTypes: 'describe',
  describeAddresses: 'describe',
  assignPrivateIpAddresses: 'AssignPrivateIpAddresses',
  unassignPrivateIpAddresses: 'UnassignPrivateIpAddresses',
  assignIpv6Addresses: 'AssignIpv6Addresses',
  unassignIpv6Addresses: 'mutating',
  associateAddress: 'mutating',
  createTags: 'mutating',
  deleteTags: 'mutating',
};

/** {@link Ec2Api} over the SDK client. */
export function sdkEc2Api(client: EC2Client): Ec2Api {
  const opts = (signal?: AbortSignal) => (signal ? { abortSignal: signal } : {});
  return {
    describeInstances: (i, s) => client.send(new DescribeInstancesCommand(i), opts(s)),
    describeNetworkInterfaces: (i, s) => client.send(new DescribeNetworkInterfacesCommand(i), opts(s)),
    describeSubnets: (i, s) => client.send(new DescribeSubnetsCommand(i), opts(s)),
    describeInstanceTypes: (i, s) => client.send(new DescribeInstanceTypesCommand(i), opts(s)),
    describeAddresses: (i, s) => client.send(new DescribeAddressesCommand(i), opts(s)),
    assignPrivateIpAddresses: (i, s) => client.send(new AssignPrivateIpAddressesCommand(i), opts(s)),
    unassignPrivateIpAddresses: (i, s) => client.send(new UnassignPrivateIpAddressesCommand(i), opts(s)),
    assignIpv6Addresses: (i, s) => client.send(new AssignIpv6AddressesCommand(i), opts(s)),
    unassignIpv6Addresses: (i, s) => client.send(new UnassignIpv6AddressesCommand(i), opts(s)),
    associateAddress: (i, s) => client.send(new AssociateAddressCommand(i), opts(s)),
    createTags: (i, s) => client.send(new CreateTagsCommand(i), opts(s)),
    deleteTags: (i, s) => client.send(new DeleteTagsCommand(i), opts(s)),
  };
}

/**
 * Wraps an {@link Ec2Api}: every call first takes a token from its bucket, and every failure comes out as a
 * classified {@link ProviderError} naming the call.
 */
export function limitedEc2Api(api: Ec2Api, buckets: Readonly<Record<BucketName, TokenBucket>>): Ec2Api {
  const wrapped = {} as Record<keyof Ec2Api, (input: never, signal?: AbortSignal) => Promise<unknown>>;
  for (const name of Object.keys(CALL_BUCKET) as (keyof Ec2Api)[]) {
    const call = api[name].bind(api) as (input: unknown, signal?: AbortSignal) => Promise<unknown>;
    wrapped[name] = async (input: never, signal?: AbortSignal) => {
      await buckets[CALL_BUCKET[name]].take(signal);
      try {
        return await call(input, signal);
      } catch (err) {
        throw toProviderError(err, `EC2 ${name[0]!.toUpperCase()}${name.slice(1)}`);
      }
    };
  }
  return wrapped as unknown as Ec2Api;
}
