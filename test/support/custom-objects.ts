/**
 * @module
 * The project's custom resources on a real API server, by kind: where each kind lives (group, version,
 * plural, scope), create (with the status written through the /status subresource, which a create
 * ignores), read (undefined when absent), merge-patch the spec or the status, and delete (optionally
 * stripping finalizers first, for teardown).
 */
import { type CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { type CustomKind, GROUP, KIND_NAMES as NAMES, VERSION } from '../../src/api/group.ts';

export type { CustomKind } from '../../src/api/group.ts';

/** One object of a custom kind: its kind, name and (namespaced kinds only) namespace. */
export interface CustomObjectRef {
  readonly kind: CustomKind;
  readonly name: string;
  readonly namespace?: string;
}

/**
 * An object to create: any spec (the CRD tests send invalid ones on purpose) and, optionally, a status.
 * The builders' objects ({@link egressPolicy}, {@link egressGateway}, ...) are such bodies.
 */
export interface CustomObjectBody {
  readonly apiVersion: string;
  readonly kind: CustomKind;
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly spec: unknown;
  readonly status?: unknown;
}

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The reference of a body. */
export function refOf(body: CustomObjectBody): CustomObjectRef {
  const { name, namespace } = body.metadata;
  return { kind: body.kind, name, ...(namespace ? { namespace } : {}) };
}

interface ApiPath {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
}

/** Where client-node finds the object: a cluster-scoped path, or a namespaced one with its namespace. */
function locate(
  ref: CustomObjectRef,
): { readonly cluster: ApiPath } | { readonly namespaced: ApiPath & { readonly namespace: string } } {
  const names = NAMES[ref.kind];
  const path = { group: GROUP, version: VERSION, plural: names.plural };
  if (names.scope === 'Cluster') return { cluster: path };
  if (!ref.namespace) throw new Error(`${ref.kind} ${ref.name}: a namespaced kind needs a namespace`);
  return { namespaced: { ...path, namespace: ref.namespace } };
}

/**
 * Creates `body`; when it has a status, writes that through the /status subresource afterwards (a create
 * drops it). Resolves with the object as the API server stores it.
 */
export async function createCustomObject<T extends CustomObjectBody>(
  custom: CustomObjectsApi,
  body: T,
): Promise<T> {
  const ref = refOf(body);
  const { status, ...rest } = body;
  const at = locate(ref);
  const created = (
    'namespaced' in at
      ? await custom.createNamespacedCustomObject({ ...at.namespaced, body: rest })
      : await custom.createClusterCustomObject({ ...at.cluster, body: rest })
  ) as T;
  return status === undefined ? created : ((await patchCustomObject(custom, ref, { status }, 'status')) as T);
}

/** The object, or undefined when the API server has none by that name. */
export async function readCustomObject<T>(
  custom: CustomObjectsApi,
  ref: CustomObjectRef,
): Promise<T | undefined> {
  const at = locate(ref);
  try {
    return (
      'namespaced' in at
        ? await custom.getNamespacedCustomObject({ ...at.namespaced, name: ref.name })
        : await custom.getClusterCustomObject({ ...at.cluster, name: ref.name })
    ) as T;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

/**
 * Merge-patches the object (`{ spec: ... }`, `{ metadata: ... }`), or with `subresource` `'status'` its
 * status (`{ status: ... }`). Resolves with the stored object.
 */
export async function patchCustomObject(
  custom: CustomObjectsApi,
  ref: CustomObjectRef,
  body: object,
  subresource?: 'status',
): Promise<unknown> {
  const at = locate(ref);
  const call = { name: ref.name, body };
  if ('namespaced' in at) {
    const req = { ...at.namespaced, ...call };
    return subresource === 'status'
      ? custom.patchNamespacedCustomObjectStatus(req, merge)
      : custom.patchNamespacedCustomObject(req, merge);
  }
  const req = { ...at.cluster, ...call };
  return subresource === 'status'
    ? custom.patchClusterCustomObjectStatus(req, merge)
    : custom.patchClusterCustomObject(req, merge);
}

/**
 * Deletes the object. With `stripFinalizers` (teardown), removes its finalizers first, so it goes at once
 * even with no controller left to release it, and an object already gone is no error.
 */
export async function deleteCustomObject(
  custom: CustomObjectsApi,
  ref: CustomObjectRef,
  options: { readonly stripFinalizers?: boolean } = {},
): Promise<void> {
  const at = locate(ref);
  const remove = () =>
    'namespaced' in at
      ? custom.deleteNamespacedCustomObject({ ...at.namespaced, name: ref.name })
      : custom.deleteClusterCustomObject({ ...at.cluster, name: ref.name });
  if (!options.stripFinalizers) {
    await remove();
    return;
  }
  const gone = (err: unknown) => {
    if ((err as { code?: number }).code !== 404) throw err;
  };
  await patchCustomObject(custom, ref, { metadata: { finalizers: [] } }).catch(gone);
  await remove().catch(gone);
}
