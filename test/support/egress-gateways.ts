/**
 * @module
 * EgressGateway objects as the suites create them. Default: gateway `prod` over every node (`nodeSelector:
 * {}`), with no IPs; a suite gives the IPs and the node selector of its world.
 */
import type { EgressGateway, EgressGatewaySpec } from '../../src/api/egress-gateway.ts';
import { API_VERSION } from '../../src/api/group.ts';

/** Options of {@link egressGateway}. */
export interface EgressGatewayOptions {
  /** Default `prod`. */
  readonly name?: string;
  /** Spec fields over the default (`nodeSelector: {}`). */
  readonly spec?: Partial<EgressGatewaySpec>;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** An EgressGateway; see the module comment for the defaults. */
export function egressGateway(options: EgressGatewayOptions = {}): EgressGateway {
  return {
    apiVersion: API_VERSION,
    kind: 'EgressGateway',
    metadata: {
      name: options.name ?? 'prod',
      ...(options.annotations ? { annotations: { ...options.annotations } } : {}),
    },
    spec: { nodeSelector: {}, ...options.spec },
  };
}
