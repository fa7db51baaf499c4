/**
 * @module
 * Pure: which provider serves a gateway, and with which settings.
 *
 * | `cloudegress.io/provider` | `--provider` | nodes' providerIDs          | result                          |
 * |---------------------------|--------------|-----------------------------|---------------------------------|
 * | a known name              | any          | any                         | that provider                   |
 * | an unknown name           | any          | any                         | ProviderUnknown                 |
 * | absent                    | a name       | any                         | the flag's provider             |
 * | absent                    | auto         | no selected node            | NoNodes                         |
 * | absent                    | auto         | all one known scheme        | that provider                   |
 * | absent                    | auto         | an unknown scheme or none   | ProviderUnknown                 |
 * | absent                    | auto         | several schemes             | ProviderMixed                   |
 *
 * A test-only provider (`inmemory`) chosen any of these ways is ProviderUnknown unless the controller runs with
 * `--test-providers`, so a production controller never serves a gateway from a cloud inside its own process.
 *
 * Settings: the controller's flags (Helm values), each overridden by the gateway's annotation when set.
 */
import type { V1Node } from '@kubernetes/client-node';
import { ANNOTATIONS } from '../api/annotations.ts';
import { REASON, type Reason } from '../api/conditions.ts';
import type { EgressGateway } from '../api/egress-gateway.ts';
import type { ProviderName, ProviderSettings } from '../provider/contract.ts';
import {
  isProviderName,
  PROVIDERS,
  providerDescriptor,
  providerFromProviderID,
} from '../provider/registry.ts';

/** `--provider`: a provider name, or `auto` to detect it from the nodes. */
export type ProviderChoice = ProviderName | 'auto';

/** The outcome of {@link decideProvider}. */
export type ProviderDecision =
  | { readonly ok: true; readonly name: ProviderName }
  | { readonly ok: false; readonly reason: Reason; readonly message: string };

/** Providers a user may name: every registered one but those made for tests. */
const OFFERED = PROVIDERS.filter((p) => !p.testOnly).map((p) => p.name);

/** `name` unless it is test-only and test providers are not enabled. */
function usable(name: ProviderName, testProviders: boolean, how: string): ProviderDecision {
  if (testProviders || !providerDescriptor(name)?.testOnly) return { ok: true, name };
  return {
    ok: false,
    reason: REASON.ProviderUnknown,
    message: `${how} provider "${name}" is for tests only (a cloud inside the controller's process) and this controller runs without --test-providers; use one of ${OFFERED.join(', ')}`,
  };
}

/** Picks the provider of `gateway`; see the module table. `nodes` are the gateway's selected nodes. */
export function decideProvider(
  gateway: EgressGateway,
  nodes: readonly V1Node[],
  choice: ProviderChoice,
  options: { readonly testProviders?: boolean } = {},
): ProviderDecision {
  const decision = pickProvider(gateway, nodes, choice);
  if (!decision.ok) return decision;
  const annotated = gateway.metadata.annotations?.[ANNOTATIONS.provider] !== undefined;
  const how = annotated
    ? `annotation ${ANNOTATIONS.provider}: the`
    : choice === 'auto'
      ? "the nodes' spec.providerID: the"
      : '--provider: the';
  return usable(decision.name, options.testProviders ?? false, how);
}

function pickProvider(
  gateway: EgressGateway,
  nodes: readonly V1Node[],
  choice: ProviderChoice,
): ProviderDecision {
  const annotated = gateway.metadata.annotations?.[ANNOTATIONS.provider];
  if (annotated !== undefined) {
    if (isProviderName(annotated)) return { ok: true, name: annotated };
    return {
      ok: false,
      reason: REASON.ProviderUnknown,
      message: `annotation ${ANNOTATIONS.provider}="${annotated}" names no provider; use one of ${OFFERED.join(', ')}`,
    };
  }
  if (choice !== 'auto') return { ok: true, name: choice };
  if (nodes.length === 0) {
    return {
      ok: false,
      reason: REASON.NoNodes,
      message: 'spec.nodeSelector selects no Node, so the provider cannot be detected from their providerID',
    };
  }
  const byProvider = new Map<string, string[]>();
  for (const node of nodes) {
    const name = node.metadata?.name ?? '';
    const provider =
      providerFromProviderID(node.spec?.providerID) ??
      `unknown (${node.spec?.providerID ?? 'no providerID'})`;
    byProvider.set(provider, [...(byProvider.get(provider) ?? []), name]);
  }
  if (byProvider.size > 1) {
    const parts = [...byProvider].map(([p, names]) => `${p}: ${names.slice(0, 3).join(', ')}`);
    return {
      ok: false,
      reason: REASON.ProviderMixed,
      message: `the selected nodes belong to different providers (${parts.join('; ')}); select nodes of one cloud or set annotation ${ANNOTATIONS.provider}`,
    };
  }
  const [only] = byProvider.keys();
  if (only && isProviderName(only)) return { ok: true, name: only };
  return {
    ok: false,
    reason: REASON.ProviderUnknown,
    message: `cannot tell the provider from the nodes' spec.providerID (${only}); set annotation ${ANNOTATIONS.provider} to one of ${OFFERED.join(', ')}`,
  };
}

/** The gateway's provider settings: `base` (flags) overridden by its annotations. */
export function decideSettings(gateway: EgressGateway, base: ProviderSettings): ProviderSettings {
  const a = gateway.metadata.annotations ?? {};
  const pick = (key: string, fallback: string | undefined) => a[key] ?? fallback;
  const settings: Record<string, string> = { owner: base.owner };
  const fields = {
    region: pick(ANNOTATIONS.region, base.region),
    endpoint: pick(ANNOTATIONS.endpoint, base.endpoint),
    interface: pick(ANNOTATIONS.interface, base.interface),
    interfaceTag: pick(ANNOTATIONS.interfaceTag, base.interfaceTag),
    routeTables: pick(ANNOTATIONS.routeTables, base.routeTables),
  };
  for (const [key, value] of Object.entries(fields))
    if (value !== undefined && value !== '') settings[key] = value;
  return settings as unknown as ProviderSettings;
}
