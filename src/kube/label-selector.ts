/**
 * @module
 * Label selector matching with metav1.LabelSelector semantics: `matchLabels` and `matchExpressions` are
 * ANDed; `{}` selects everything. An absent selector is the caller's choice (it may mean "none").
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
