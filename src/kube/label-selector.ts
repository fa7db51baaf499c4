/**
 * @module
 * Label selector matching with metav1.LabelSelector semantics: `matchLabels` and `matchExpressions` are
 * ANDed; `{}` selects everything. An absent selector is the caller's choice (it may mean "none").
 *
 * A requirement Kubernetes refuses (`In`/`NotIn` without values, `Exists`/`DoesNotExist` with values; the
 * CRDs refuse them too, but an object stored before may carry one) selects nothing, as `LabelSelectorAsSelector`
 * fails on it: a gateway's `namespaceSelector` with `NotIn: []` must not admit every namespace.
 */
import type { LabelSelector } from '../api/schema-common.ts';

/** True when `labels` satisfy `selector` (`{}` matches every label set). */
export function selectorMatches(
  selector: LabelSelector,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  const have = labels ?? {};
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (have[key] !== value) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    const present = Object.hasOwn(have, req.key);
    const value = have[req.key];
    const values = req.values ?? [];
    if (!requirementValid(req)) return false;
    switch (req.operator) {
      case 'In':
        if (!present || !values.includes(value!)) return false;
        break;
      case 'NotIn':
        if (present && values.includes(value!)) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
    }
  }
  return true;
}

/** True when Kubernetes accepts the requirement: `In`/`NotIn` with values, `Exists`/`DoesNotExist` without. */
export function requirementValid(req: { operator: string; values?: readonly string[] }): boolean {
  const count = req.values?.length ?? 0;
  return req.operator === 'In' || req.operator === 'NotIn' ? count > 0 : count === 0;
}
