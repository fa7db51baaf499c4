/**
 * @module
 * Whether this API server serves `networking.k8s.io/v1` ServiceCIDR objects to us, found by listing them once:
 * before Kubernetes 1.33 the API answers 404, and an agent whose ClusterRole lacks `servicecidrs` gets 403.
 * Both are answers, not errors: the caller then runs without discovered Service CIDRs and says so (an informer
 * started on such a path would retry forever and never sync).
 *
 * ```
 * list ─ok──► served (the objects)
 *      ─404─► not-served
 *      ─403─► forbidden
 *      ─else► ServiceCidrApiError (cause: the API error); the caller retries
 * ```
 */
import type { KubernetesListObject, V1ServiceCIDR } from '@kubernetes/client-node';
import { statusCodeOf } from './kube-api.ts';

/** What listing ServiceCIDRs answered (`off`: discovery is switched off, nothing was asked). */
export type ServiceCidrApiState = 'served' | 'not-served' | 'forbidden' | 'off';

/** Every state, in the order the metric lists them. */
export const SERVICE_CIDR_API_STATES: readonly ServiceCidrApiState[] = [
  'served',
  'not-served',
  'forbidden',
  'off',
];

/** The answer of {@link probeServiceCidrs}. */
export type ServiceCidrProbe =
  | { readonly state: 'served'; readonly items: readonly V1ServiceCIDR[] }
  | { readonly state: 'not-served' | 'forbidden'; readonly message: string };

/** Listing ServiceCIDRs failed in another way than 404 or 403. */
export class ServiceCidrApiError extends Error {
  override readonly name = 'ServiceCidrApiError';
}

/** Lists ServiceCIDRs once with `list`; see the module comment. @throws ServiceCidrApiError */
export async function probeServiceCidrs(
  list: () => Promise<KubernetesListObject<V1ServiceCIDR>>,
): Promise<ServiceCidrProbe> {
  try {
    return { state: 'served', items: (await list()).items };
  } catch (err) {
    const code = statusCodeOf(err);
    if (code === 404) {
      return {
        state: 'not-served',
        message:
          'the API server does not serve networking.k8s.io/v1 ServiceCIDR (Kubernetes 1.33 and later do)',
      };
    }
    if (code === 403) {
      return {
        state: 'forbidden',
        message: 'list servicecidrs (networking.k8s.io) is forbidden to this identity; the chart grants it',
      };
    }
    throw new ServiceCidrApiError(`listing ServiceCIDRs failed: ${(err as Error).message}`, { cause: err });
  }
}
