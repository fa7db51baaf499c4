/**
 * @module
 * Installs the project's CustomResourceDefinitions (`crds/*.yaml`) into a control plane and waits until the
 * API server serves them (condition `Established`).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ApiException,
  ApiextensionsV1Api,
  type KubeConfig,
  loadYaml,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { eventually } from '../support/eventually.ts';

/** The repository's generated CRDs. */
export const CRD_DIR = fileURLToPath(new URL('../../crds/', import.meta.url));

/**
 * Every CustomResourceDefinition in the `*.yaml` / `*.yml` files of `dir`, in file order, as client-node
 * typed objects (ready for `ApiextensionsV1Api`).
 */
export async function readCrds(dir: string = CRD_DIR): Promise<V1CustomResourceDefinition[]> {
  const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  const crds: V1CustomResourceDefinition[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(await readFile(join(dir, file), 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      const raw = doc.toJS() as { kind?: string } | null;
      // Through client-node's deserializer: its typed API only sends the fields it knows by their
      // camelCase names, so a raw `x-kubernetes-validations` key would be silently dropped.
      if (raw?.kind === 'CustomResourceDefinition') crds.push(loadYaml(JSON.stringify(raw)));
    }
  }
  return crds;
}

function isEstablished(crd: V1CustomResourceDefinition): boolean {
  return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
}

/**
 * Creates (or replaces) each CRD and waits until all are Established. Returns their names.
 *
 * @throws {ApiException} when the API server rejects a CRD (e.g. a non-structural schema or a CEL rule
 *   that does not compile); its `body` holds the server's message.
 */
export async function installCrds(
  kubeConfig: KubeConfig,
  crds: readonly V1CustomResourceDefinition[],
  timeoutMs = 30_000,
): Promise<string[]> {
  const api = kubeConfig.makeApiClient(ApiextensionsV1Api);
  const names: string[] = [];
  for (const crd of crds) {
    const name = crd.metadata!.name!;
    try {
      await api.createCustomResourceDefinition({ body: crd });
    } catch (error) {
      if (!(error instanceof ApiException) || error.code !== 409) throw error;
      const current = await api.readCustomResourceDefinition({ name });
      const body = {
        ...crd,
        metadata: { ...crd.metadata, resourceVersion: current.metadata?.resourceVersion },
      };
      await api.replaceCustomResourceDefinition({ name, body });
    }
    names.push(name);
  }
  for (const name of names) {
    await eventually(
      `CRD ${name} to be Established`,
      async () => isEstablished(await api.readCustomResourceDefinition({ name })),
      { timeoutMs, intervalMs: 100 },
    );
  }
  return names;
}
