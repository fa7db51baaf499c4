/**
 * @module
 * Builds the CustomResourceDefinitions from the TypeBox schemas: the schemas are the single source of
 * truth, `npm run generate` writes crds/*.yaml from here, and a test fails when they differ.
 *
 * TypeBox emits JSON Schema; Kubernetes wants a *structural* OpenAPI v3 subset, so:
 *
 * | JSON Schema from TypeBox                   | structural OpenAPI v3                      |
 * |--------------------------------------------|--------------------------------------------|
 * | anyOf of `const` strings (literal union)   | `type: string` + `enum`                    |
 * | `patternProperties: {"^.*$": X}` (Record)  | `additionalProperties: X`                  |
 * | everything else                            | kept (types, bounds, formats, x-kubernetes-*) |
 */
import { EgressGatewaySpec, EgressGatewayStatus } from './egress-gateway.ts';
import { ClusterEgressPolicySpec, EgressPolicySpec, EgressPolicyStatus } from './egress-policy.ts';
import {
  CLUSTER_EGRESS_POLICY,
  EGRESS_GATEWAY,
  EGRESS_POLICY,
  GROUP,
  type KindNames,
  VERSION,
} from './group.ts';

/** A printer column of `kubectl get`. */
export interface PrinterColumn {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  readonly jsonPath: string;
  readonly description?: string;
  readonly priority?: number;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Converts a TypeBox schema into a structural OpenAPI v3 schema (see the table above). */
export function toStructural(schema: unknown): Json {
  if (Array.isArray(schema)) return schema.map(toStructural);
  if (schema === null || typeof schema !== 'object') return schema as Json;
  const input = schema as Record<string, unknown>;
  const anyOf = input['anyOf'];
  if (Array.isArray(anyOf) && anyOf.every((s) => typeof s === 'object' && s !== null && 'const' in s)) {
    const { anyOf: _, ...rest } = input;
    return {
      ...(toStructural(rest) as Record<string, Json>),
      type: 'string',
      enum: anyOf.map((s) => (s as { const: Json }).const),
    };
  }
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(input)) {
    if (key === 'patternProperties') {
      const only = Object.values(value as Record<string, unknown>);
      if (only.length === 1) out['additionalProperties'] = toStructural(only[0]);
      continue;
    }
    out[key] = toStructural(value);
  }
  return out;
}

const readyColumn: PrinterColumn = {
  name: 'Ready',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
};
const ageColumn: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

const policyColumns: PrinterColumn[] = [
  { name: 'Gateway', type: 'string', jsonPath: '.spec.gatewayName' },
  { name: 'IPv4', type: 'string', jsonPath: '.status.ipv4', description: 'IPv4 egress IPs' },
  { name: 'IPv6', type: 'string', jsonPath: '.status.ipv6', description: 'IPv6 egress IPs' },
  { name: 'Nodes', type: 'string', jsonPath: '.status.nodes', description: 'Nodes holding the egress IPs' },
  readyColumn,
  ageColumn,
];

/** Builds one CRD object. */
export function buildCrd(
  names: KindNames,
  spec: unknown,
  status: unknown,
  columns: readonly PrinterColumn[],
  description: string,
) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${names.plural}.${GROUP}`,
      labels: { 'app.kubernetes.io/name': 'cloud-egress', 'app.kubernetes.io/part-of': 'cloud-egress' },
    },
    spec: {
      group: GROUP,
      scope: names.scope,
      names: {
        kind: names.kind,
        listKind: names.listKind,
        plural: names.plural,
        singular: names.singular,
        shortNames: [...names.shortNames],
        categories: ['cloud-egress'],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: columns.map((c) => ({ ...c })),
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description,
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: toStructural(spec),
                status: toStructural(status),
              },
            },
          },
        },
      ],
    },
  };
}

/** The three CRDs, keyed by the file name they are written to under crds/. */
export function allCrds(): Record<string, ReturnType<typeof buildCrd>> {
  return {
    [`${GROUP}_${EGRESS_GATEWAY.plural}.yaml`]: buildCrd(
      EGRESS_GATEWAY,
      EgressGatewaySpec,
      EgressGatewayStatus,
      [
        { name: 'Provider', type: 'string', jsonPath: '.status.provider' },
        {
          name: 'Nodes',
          type: 'integer',
          jsonPath: '.status.readyNodes',
          description: 'Ready gateway nodes',
        },
        { name: 'IPs', type: 'integer', jsonPath: '.status.ipsUsed', description: 'Egress IPs in use' },
        {
          name: 'Total',
          type: 'integer',
          jsonPath: '.status.ipsTotal',
          description: 'Egress IPs in the pool',
        },
        readyColumn,
        ageColumn,
      ],
      'EgressGateway is a group of gateway nodes and the egress IPs they may hold.',
    ),
    [`${GROUP}_${EGRESS_POLICY.plural}.yaml`]: buildCrd(
      EGRESS_POLICY,
      EgressPolicySpec,
      EgressPolicyStatus,
      policyColumns,
      'EgressPolicy sends selected pods of its namespace out through a gateway with stable egress IPs.',
    ),
    [`${GROUP}_${CLUSTER_EGRESS_POLICY.plural}.yaml`]: buildCrd(
      CLUSTER_EGRESS_POLICY,
      ClusterEgressPolicySpec,
      EgressPolicyStatus,
      policyColumns,
      'ClusterEgressPolicy sends selected pods of selected namespaces out through a gateway with stable egress IPs.',
    ),
  };
}
