/**
 * @module
 * The cloud-egress API: resource schemas (the single source of truth for types and CRDs), names,
 * condition reasons, annotation keys.
 */
export * from './annotations.ts';
export * from './conditions.ts';
export * from './egress-gateway.ts';
export * from './egress-policy.ts';
export * from './group.ts';
export * from './schema-common.ts';
export * from './validate.ts';
